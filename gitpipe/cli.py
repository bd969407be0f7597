"""The command line: parse, call one API function, render, choose the exit code.

The one place that prints and turns GitpipeErrors into messages. Imports of
the engine happen inside commands so `gitpipe --version` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

import click

from gitpipe import __version__

if TYPE_CHECKING:
    from gitpipe.api import Project
    from gitpipe.repro import Event, Report
    from gitpipe.status import StatusReport

EXIT_INTERRUPTED = 130


class _Group(click.Group):
    """Turns GitpipeError into a one- or two-line message and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        debug = "--debug" in sys.argv[1:] or bool(os.environ.get("GITPIPE_DEBUG"))
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, BrokenPipeError):
            raise
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except Exception as exc:
            from gitpipe.errors import GitpipeError

            if debug or not isinstance(exc, GitpipeError):
                if not isinstance(exc, GitpipeError):
                    if debug:
                        raise
                    click.echo(f"error: unexpected {type(exc).__name__}: {exc}", err=True)
                    click.echo("hint: rerun with --debug for a traceback", err=True)
                    ctx.exit(1)
                raise
            for line in str(exc).splitlines():
                click.echo(line if line.startswith("hint:") else f"error: {line}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gitpipe")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("-C", "directory", default=".", type=click.Path(file_okay=False),
              help="Run as if started in this directory.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, directory: str) -> None:
    """gitpipe: git-native reproducible pipelines."""
    ctx.obj = {"dir": directory, "debug": debug}


def _project(ctx: click.Context) -> Project:
    from gitpipe.api import Project

    return Project(ctx.find_root().obj["dir"])


def _console(err: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=err, highlight=False, no_color=bool(os.environ.get("NO_COLOR")))


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create .gitpipe/ (config and ignore rules) in a git repository."""
    from gitpipe.api import init as api_init

    project = api_init(ctx.obj["dir"])
    click.echo(f"initialized gitpipe in {project.root}")


@cli.command()
@click.pass_context
def validate(ctx: click.Context) -> None:
    """Check gitpipe.yaml, the params files and the DAG; report every problem."""
    project = _project(ctx)
    tasks = project.validate()
    click.echo(f"gitpipe.yaml is valid: {len(tasks)} stage(s), "
               f"{project.graph.number_of_edges()} dependency edge(s)")


@cli.command()
@click.argument("targets", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (for CI).")
@click.option("--check", is_flag=True, help="Exit 1 when anything is stale.")
@click.option("--rev", help="Judge the pipeline as this commit has it, without a checkout.")
@click.pass_context
def status(ctx: click.Context, targets: tuple[str, ...], as_json: bool, check: bool,
           rev: str | None) -> None:
    """Show stale stages and why."""
    project = _project(ctx)
    if rev is not None:
        from gitpipe.revision import status_at

        report = status_at(project, rev, targets)
    else:
        report = project.status(targets)
    if as_json:
        click.echo(json.dumps(report.to_json()))
    else:
        _print_status(report)
    if check and report.stale:
        ctx.exit(1)


def _print_status(report: StatusReport) -> None:
    stale = [v for v in report.tasks if v.stale]
    if not stale:
        click.echo("everything is up to date")
        return
    by_stage: dict[str, list[Any]] = {}
    for verdict in report.tasks:
        by_stage.setdefault(verdict.task.split("@", 1)[0], []).append(verdict)
    for stage, verdicts in by_stage.items():
        if "@" in verdicts[0].task:
            _print_partitions(stage, verdicts)
            continue
        for verdict in (v for v in verdicts if v.stale):
            click.echo(f"{verdict.task}:")
            for reason in verdict.reasons:
                click.echo(f"    {reason}")
    click.echo(f"{len(stale)} of {len(report.tasks)} task(s) stale")


def _print_partitions(stage: str, verdicts: list[Any]) -> None:
    """'features: 3 of 365 stale: 2024-03-01..2024-03-02, 2024-07-04', then the reasons."""
    stale = [v for v in verdicts if v.stale]
    if not stale:
        return
    keys = [v.task.split("@", 1)[1] for v in verdicts]
    flags = [v.stale for v in verdicts]
    click.echo(f"{stage}: {len(stale)} of {len(verdicts)} stale: {_ranges(keys, flags)}")
    counts: dict[str, int] = {}
    for verdict in stale:
        for reason in verdict.reasons:
            counts[str(reason)] = counts.get(str(reason), 0) + 1
    for reason, count in sorted(counts.items(), key=lambda kv: -kv[1])[:8]:
        click.echo(f"    {reason}" + (f"  (×{count})" if count > 1 else ""))


def _ranges(keys: list[str], flags: list[bool]) -> str:
    """Runs of consecutive stale partitions as 'first..last', single ones alone."""
    runs: list[str] = []
    start = None
    for index, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            first, last = keys[start], keys[index - 1]
            runs.append(first if first == last else f"{first}..{last}")
            start = None
    shown = runs[:10]
    return ", ".join(shown) + (f", … ({len(runs) - 10} more runs)" if len(runs) > 10 else "")


@cli.command()
@click.argument("targets", nargs=-1)
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Stages at once [default: CPUs].")
@click.option("-f", "--force", is_flag=True, help="Run even up-to-date stages.")
@click.option("--dry-run", is_flag=True, help="Print what would run and why; run nothing.")
@click.option("-k", "--keep-going", is_flag=True, help="Go on with independent stages after a "
              "failure.")
@click.option("--pull", is_flag=True, help="Look up stale stages in the remote run-cache.")
@click.option("--push", is_flag=True, help="Push each stage's outs after it runs.")
@click.option("-r", "--remote", help="Remote for --pull/--push [default: the default].")
@click.option("--no-run-cache", is_flag=True, help="Run stale stages even if a run with the "
              "same fingerprint is cached.")
@click.option("--executor", type=click.Choice(["local", "kubernetes"]),
              help="Run every stage here instead of where its `executor:` says.")
@click.pass_context
def repro(ctx: click.Context, targets: tuple[str, ...], jobs: int | None, force: bool,
          dry_run: bool, keep_going: bool, pull: bool, push: bool, remote: str | None,
          no_run_cache: bool, executor: str | None) -> None:
    """Run the stale stages (and what depends on them)."""
    from gitpipe.repro import ReproOptions

    backoff = float(os.environ.get("GITPIPE_RETRY_BACKOFF", "1"))
    options = ReproOptions(targets, jobs, force, dry_run, keep_going, backoff, pull, push,
                           remote, not no_run_cache, executor=executor)
    printer = _LivePrinter()
    report = _project(ctx).repro(options=options, listener=printer.event, sink=printer.line)
    _print_report(report)
    if not report.ok:
        ctx.exit(1)


class _LivePrinter:
    """Streams stage output with a `[stage]` prefix; one lock so lines never interleave."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def line(self, task: str, text: str) -> None:
        with self._lock:
            click.echo(f"[{task}] {text}")

    def event(self, event: Event) -> None:
        labels = {"start": "running", "retry": "retrying", "fail": "failed",
                  "restored": "restored"}
        if event.kind not in labels:
            return
        with self._lock:
            detail = event.message.splitlines()[0] if event.message else ""
            click.echo(f"{labels[event.kind]} {event.task}" + (f": {detail}" if detail else ""),
                       err=event.kind == "fail")


def _print_report(report: Report) -> None:
    from gitpipe.scheduler import Outcome

    if report.dry_run:
        would = [r for r in report.results if r.outcome is Outcome.RAN]
        for result in would:
            click.echo(f"would run {result.task}: {'; '.join(result.reasons)}")
        click.echo(f"{len(would)} of {len(report.results)} stage(s) would run"
                   if would else "everything is up to date: nothing would run")
        return
    _print_table(report)
    for failed in report.failed:
        if failed.message:
            click.echo(f"error: {failed.message}", err=True)
        if failed.log:
            click.echo(f"hint: the log is {failed.log}", err=True)
            if "@" in failed.task:
                for line in _tail(failed.log, 5):
                    click.echo(f"    | {line}", err=True)


def _tail(path: str, count: int) -> list[str]:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 8192))
            return handle.read().decode(errors="replace").splitlines()[-count:]
    except OSError:
        return []


def _print_table(report: Report) -> None:
    from rich.table import Table

    from gitpipe.scheduler import Outcome as _Outcome

    table = Table(title=None, box=None, pad_edge=False, show_edge=False)
    for column in ("stage", "result", "time", "why"):
        table.add_column(column)
    # NOTE: up-to-date rows are listed only for small pipelines; on 1,000
    # stages a wall of "skipped" hides what ran and costs real time to draw.
    rows = report.results if len(report.results) <= 30 else [
        r for r in report.results if r.outcome is not _Outcome.SKIPPED]
    for result in rows:
        took = f"{result.duration:.2f}s" if result.duration else ""
        table.add_row(result.task, result.outcome.value, took, "; ".join(result.reasons))
    _console().print(table)
    from gitpipe.scheduler import Outcome

    counts = ", ".join(f"{report.count(o)} {o.value}" for o in Outcome if report.count(o))
    click.echo(counts)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["ascii", "dot", "mermaid", "json"]),
              default="ascii", show_default=True)
@click.pass_context
def dag(ctx: click.Context, fmt: str) -> None:
    """Print the stage graph."""
    click.echo(_project(ctx).dag(fmt))


@cli.command()
@click.argument("stage", required=False)
@click.option("-n", "--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs(ctx: click.Context, stage: str | None, limit: int, as_json: bool) -> None:
    """History of runs from .gitpipe/state.db."""
    import dataclasses
    import time

    records = _project(ctx).runs(stage, limit)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in records]))
        return
    if not records:
        click.echo("no runs recorded yet")
    for r in records:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started))
        click.echo(f"{started}  {r.task:<24} {r.result:<7} {r.duration:8.2f}s  "
                   f"in {_size(r.bytes_in):>9}  out {_size(r.bytes_out):>9}")


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(count)


@cli.command()
@click.argument("stage")
@click.option("--start", help="First partition (YYYY-MM-DD or YYYY-MM-DDTHH) [default: the "
              "stage's start].")
@click.option("--end", help="Last partition, inclusive [default: the stage's end].")
@click.option("-c", "--concurrency", type=click.IntRange(min=1),
              help="At most N partitions of STAGE at once.")
@click.option("-f", "--force", is_flag=True, help="Clear the range's lock entries and rerun "
              "every partition in it.")
@click.option("--no-downstream", is_flag=True, help="Do not run what depends on the range.")
@click.option("--dry-run", is_flag=True, help="Print what would run and why.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Tasks at once in all.")
@click.pass_context
def backfill(ctx: click.Context, stage: str, start: str | None, end: str | None,
             concurrency: int | None, force: bool, no_downstream: bool, dry_run: bool,
             jobs: int | None) -> None:
    """Run a partitioned stage's stale partitions over a date range."""
    from gitpipe.backfill import BackfillOptions
    from gitpipe.repro import ReproOptions

    options = BackfillOptions(stage, start, end, concurrency, force, not no_downstream, dry_run)
    backoff = float(os.environ.get("GITPIPE_RETRY_BACKOFF", "1"))
    project = _project(ctx)
    printer = _LivePrinter()
    with _BackfillProgress() as progress:
        report = project.backfill(options, ReproOptions(jobs=jobs, retry_backoff=backoff),
                                  progress.wrap(printer.event), printer.line)
    _print_report(report)
    if not report.ok:
        ctx.exit(1)


class _BackfillProgress:
    """done / running / failed / waiting with elapsed time and an estimate, on a terminal."""

    def __init__(self) -> None:
        import time

        self.started = time.monotonic()
        self.counts = {"done": 0, "running": 0, "failed": 0}
        self._live: Any = None

    def __enter__(self) -> _BackfillProgress:
        if sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
            from rich.live import Live

            self._live = Live("", console=_console(), transient=True, refresh_per_second=4)
            self._live.start()
        return self

    def wrap(self, inner: Any) -> Any:
        def listener(event: Event) -> None:
            if event.kind == "start":
                self.counts["running"] += 1
            elif event.kind in ("done", "fail", "restored", "skip"):
                if event.kind != "skip" and self.counts["running"]:
                    self.counts["running"] -= 1
                self.counts["failed" if event.kind == "fail" else "done"] += 1
            if self._live is not None:
                self._live.update(self.line())
            inner(event)
        return listener

    def line(self) -> str:
        import time

        elapsed = time.monotonic() - self.started
        done = self.counts["done"] + self.counts["failed"]
        rate = elapsed / done if done else 0.0
        return (f"done {self.counts['done']}  running {self.counts['running']}  "
                f"failed {self.counts['failed']}  elapsed {elapsed:.0f}s"
                + (f"  ~{rate:.1f}s per task" if done else ""))

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()


@cli.command("diff")
@click.argument("rev1")
@click.argument("rev2", default="HEAD", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def diff_command(ctx: click.Context, rev1: str, rev2: str, as_json: bool) -> None:
    """Which stages' fingerprints, params and outs differ between two commits."""
    from gitpipe.revision import diff

    changes = diff(_project(ctx), rev1, rev2)
    if as_json:
        click.echo(json.dumps([{"task": c.task, "changes": list(c.changes)} for c in changes]))
        return
    if not changes:
        click.echo(f"no stage differs between {rev1} and {rev2}")
    for change in changes:
        click.echo(f"{change.task}:")
        for line in change.changes:
            click.echo(f"    {line}")


@cli.command("commit")
@click.argument("targets", nargs=-1)
@click.pass_context
def commit_command(ctx: click.Context, targets: tuple[str, ...]) -> None:
    """Record the workspace's outs in gitpipe.lock without running (outs made by hand)."""
    from gitpipe.commit import commit

    names = commit(_project(ctx), targets)
    click.echo(f"committed {len(names)} stage(s)" + (f": {', '.join(names)}" if names else ""))


@cli.group()
def hooks() -> None:
    """Git hooks: pre-commit, post-checkout, pre-push."""


@hooks.command("install")
@click.option("--uninstall", is_flag=True, help="Remove gitpipe's hooks, restore chained ones.")
@click.pass_context
def hooks_install(ctx: click.Context, uninstall: bool) -> None:
    """Install (or remove) gitpipe's git hooks, chaining any already there."""
    from pathlib import Path

    from gitpipe import hooks as hooks_module
    from gitpipe.gitrepo import GitRepo

    git = GitRepo.discover(Path(ctx.find_root().obj["dir"]))
    if uninstall:
        removed = hooks_module.uninstall(git)
        click.echo(f"removed {len(removed)} hook(s)")
        return
    report = hooks_module.install(git, hooks_module.env_python())
    click.echo(f"installed {', '.join(report.installed)} in {report.directory}")
    for name in report.chained:
        click.echo(f"  chained the existing {name} hook (kept as {name}.pre-gitpipe)")


@hooks.command("run", hidden=True, context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def hooks_run(ctx: click.Context, name: str, args: tuple[str, ...]) -> None:
    """What an installed hook runs (also `lock-check`, for pre-commit)."""
    from pathlib import Path

    from gitpipe import hooks as hooks_module

    code, message = hooks_module.run(name, list(args), Path(ctx.find_root().obj["dir"]))
    if message:
        click.echo(message, err=True)
    ctx.exit(code)


@cli.command("watch")
@click.argument("targets", nargs=-1)
@click.option("-j", "--jobs", type=click.IntRange(min=1))
@click.pass_context
def watch_command(ctx: click.Context, targets: tuple[str, ...], jobs: int | None) -> None:
    """Rerun stale stages as their deps change; Ctrl-C stops."""
    from gitpipe.errors import GitpipeError
    from gitpipe.repro import ReproOptions
    from gitpipe.watch import watch

    project_dir = ctx.find_root().obj["dir"]
    stop = threading.Event()

    def run(changed: set[str]) -> None:
        from gitpipe.api import Project

        shown = ", ".join(sorted(changed)[:5]) + (" …" if len(changed) > 5 else "")
        click.echo(f"changed: {shown}")
        printer = _LivePrinter()
        try:
            report = Project(project_dir).repro(
                options=ReproOptions(tuple(targets), jobs), listener=printer.event,
                sink=printer.line)
            _print_report(report)
        except GitpipeError as exc:
            click.echo(f"error: {exc}", err=True)
        click.echo("watching for changes (Ctrl-C to stop)")

    try:
        watch(_project(ctx), run, stop,
              ready=lambda: click.echo("watching for changes (Ctrl-C to stop)"))
    except KeyboardInterrupt:
        stop.set()
        click.echo("stopped")


@cli.command("exec")
@click.argument("task")
@click.option("--fingerprint", required=True, help="The fingerprint gitpipe staged the job as.")
@click.option("--remote", "remote_url", required=True, help="The remote's URL.")
@click.option("--workdir", type=click.Path(file_okay=False), default=".",
              help="Where to materialize deps and run [default: the current directory].")
def exec_command(task: str, fingerprint: str, remote_url: str, workdir: str) -> None:
    """What a Kubernetes pod runs: pull deps, run, push outs and a result record."""
    from pathlib import Path

    from gitpipe.podexec import run_in_pod

    code = run_in_pod(task, fingerprint, remote_url, Path(workdir).resolve())
    sys.exit(code)


@cli.group("k8s")
def k8s() -> None:
    """Kubernetes helpers."""


@k8s.command("manifest")
@click.argument("task")
@click.pass_context
def k8s_manifest(ctx: click.Context, task: str) -> None:
    """Print the Job YAML gitpipe would create for STAGE[@PARTITION]."""
    from gitpipe.executors.kubemanifest import KubeSettings, job_manifest
    from gitpipe.graph import select
    from gitpipe.staleness import observe
    from gitpipe.yamlio import dump_yaml

    project = _project(ctx.find_root())
    nodes = select(project.graph, [task])
    settings = KubeSettings.from_config(project.config.raw.get("kubernetes") or {})
    url, options = "REMOTE-URL", {}
    if project.has_remote():
        remote = project.config.raw["remotes"]
        name = (project.config.raw.get("core") or {}).get("remote") or next(iter(remote))
        url, options = remote[name]["url"], project.remote_settings(name)
    documents = []
    for node in nodes:
        found = project.graph.nodes[node]["task"]
        seen = observe(found, project.workspace, project.params_reader(),
                       project.lock_entries.get(found.name))
        documents.append(dump_yaml(job_manifest(found, seen.fingerprint, 0, settings, url,
                                                options)))
    click.echo("---\n".join(documents), nl=False)


def _second_interrupt_exits() -> None:
    """Ctrl-C once: gitpipe stops its stages and exits cleanly. Twice: at once,
    after SIGKILLing the process groups of the stages it started."""
    import signal

    count = 0

    def handler(signum: int, frame: Any) -> None:
        nonlocal count
        count += 1
        if count == 1:
            raise KeyboardInterrupt
        _kill_child_groups()
        os._exit(EXIT_INTERRUPTED)

    signal.signal(signal.SIGINT, handler)


def _kill_child_groups() -> None:
    import signal

    me = os.getpid()
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == me:  # a child: each stage's shell leads its own group
                os.killpg(int(entry), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            continue


def main() -> None:
    import gc

    # NOTE: gitpipe builds many small long-lived objects (specs, lock entries,
    # stat rows) and few cycles; the default thresholds run full collections
    # over them again and again (~0.2 s of a 1,000-stage status).
    gc.set_threshold(50_000, 50, 100)
    _second_interrupt_exits()
    try:
        cli(prog_name="gitpipe")
    except BrokenPipeError:
        # `gitpipe status | head`: the reader left; nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)


# -- storage ------------------------------------------------------------------------

class _TransferProgress:
    """A rich progress bar (files and bytes) on a terminal; silent otherwise."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._bar: Any = None
        self._task: Any = None
        self._lock = threading.Lock()

    def __enter__(self) -> _TransferProgress:
        if sys.stderr.isatty() and not os.environ.get("NO_COLOR"):
            from rich.progress import DownloadColumn, Progress, SpinnerColumn, TextColumn

            self._bar = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                 DownloadColumn(), TextColumn("{task.fields[files]} files"),
                                 console=_console(err=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=None, files=0)
        return self

    def __call__(self, rel: str, size: int) -> None:
        if self._bar is not None:
            with self._lock:
                done = self._bar.tasks[0].fields["files"] + 1
                self._bar.update(self._task, advance=size, files=done)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _moved(verb: str, summary: Any) -> str:
    return (f"{verb} {summary.files} object(s) and {summary.runs} run-cache entries, "
            f"{_size(summary.bytes)}; {summary.skipped} already there")


@cli.command()
@click.argument("targets", nargs=-1)
@click.pass_context
def checkout(ctx: click.Context, targets: tuple[str, ...]) -> None:
    """Make the workspace outs match gitpipe.lock, from the cache."""
    report = _project(ctx).checkout(targets)
    click.echo(f"checked out {len(report.restored)} out(s), {len(report.unchanged)} unchanged")
    if report.missing:
        from gitpipe.transfer import missing_error

        raise missing_error(report.missing, "the local cache")


def _remote_options(func: Any) -> Any:
    func = click.option("-r", "--remote", help="Remote name [default: the default remote].")(func)
    return click.option("-j", "--jobs", default=8, show_default=True,
                        type=click.IntRange(min=1), help="Parallel transfers.")(func)


@cli.command()
@click.argument("targets", nargs=-1)
@_remote_options
@click.pass_context
def push(ctx: click.Context, targets: tuple[str, ...], remote: str | None, jobs: int) -> None:
    """Upload the lock's outs and run-cache entries missing on the remote."""
    with _TransferProgress("push") as progress:
        summary = _project(ctx).push(targets, remote, jobs, progress)
    click.echo(_moved("pushed", summary))


@cli.command()
@click.argument("targets", nargs=-1)
@_remote_options
@click.pass_context
def fetch(ctx: click.Context, targets: tuple[str, ...], remote: str | None, jobs: int) -> None:
    """Download the lock's outs into the cache (no checkout)."""
    with _TransferProgress("fetch") as progress:
        summary = _project(ctx).fetch(targets, remote, jobs, progress)
    click.echo(f"fetched {summary.files} file(s), {_size(summary.bytes)}")


@cli.command()
@click.argument("targets", nargs=-1)
@_remote_options
@click.pass_context
def pull(ctx: click.Context, targets: tuple[str, ...], remote: str | None, jobs: int) -> None:
    """Fetch, then check out."""
    with _TransferProgress("pull") as progress:
        summary, report = _project(ctx).pull(targets, remote, jobs, progress)
    click.echo(f"fetched {summary.files} file(s), {_size(summary.bytes)}; checked out "
               f"{len(report.restored)} out(s), {len(report.unchanged)} unchanged")


@cli.command()
@click.option("--all-commits", is_flag=True, help="Keep what any commit's lock refers to.")
@click.option("-r", "--remote", help="Collect garbage on this remote instead of locally.")
@click.option("--dry-run", is_flag=True, help="List what would be removed.")
@click.pass_context
def gc(ctx: click.Context, all_commits: bool, remote: str | None, dry_run: bool) -> None:
    """Remove cached objects no lockfile refers to."""
    report = _project(ctx).gc(all_commits, remote, dry_run)
    for digest in report.removed if dry_run else ():
        click.echo(f"would remove {digest}")
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {len(report.removed)} object(s) ({_size(report.bytes_freed)}); "
               f"kept {report.kept}")


@cli.command()
@click.option("--repair", is_flag=True, help="Remove bad objects (a pull or repro restores them).")
@click.pass_context
def fsck(ctx: click.Context, repair: bool) -> None:
    """Check that every cache object's content agrees with its name."""
    from gitpipe.transfer import fsck as run_fsck

    report = run_fsck(_project(ctx), repair)
    for digest in report.bad:
        state = "removed" if digest in report.removed else "bad"
        click.echo(f"{state}: {digest}")
    for out in report.missing:
        click.echo(f"missing: {out.path} (stage {out.task!r}, {out.digest})")
    click.echo(f"checked {report.checked} object(s): {len(report.bad)} bad, "
               f"{len(report.missing)} lock out(s) missing from the cache")
    if report.bad and not repair:
        ctx.exit(1)


@cli.group()
def remote() -> None:
    """Manage remotes (.gitpipe/config.yaml)."""


def _gitpipe_dir(ctx: click.Context) -> Any:
    return _project(ctx.find_root()).gitpipe_dir


@remote.command("add")
@click.argument("name")
@click.argument("url")
@click.option("-d", "--default", "make_default", is_flag=True, help="Make it the default.")
@click.option("--local", is_flag=True, help="Write config.local.yaml (not committed).")
@click.pass_context
def remote_add(ctx: click.Context, name: str, url: str, make_default: bool,
               local: bool) -> None:
    """Add a remote: any fsspec URL, or a plain path for a local folder."""
    from gitpipe.config import edit_config
    from gitpipe.errors import BadInputError

    def edit(raw: dict[str, Any]) -> None:
        remotes = raw.setdefault("remotes", {}) or {}
        if name in remotes:
            raise BadInputError(f"remote {name!r} exists", hint="use 'gitpipe remote modify'")
        remotes[name] = {"url": url}
        raw["remotes"] = remotes
        if make_default:
            raw.setdefault("core", {})["remote"] = name
    edit_config(_gitpipe_dir(ctx), edit, local)
    click.echo(f"added remote {name!r} -> {url}" + (" (default)" if make_default else ""))


@remote.command("list")
@click.pass_context
def remote_list(ctx: click.Context) -> None:
    """List remotes."""
    config = _project(ctx.find_root()).config
    default = (config.raw.get("core") or {}).get("remote")
    for name, body in sorted((config.raw.get("remotes") or {}).items()):
        extra = " ".join(f"{k}={v}" for k, v in sorted(body.items()) if k != "url")
        mark = " (default)" if name == default else ""
        click.echo(f"{name}\t{body.get('url')}{mark}" + (f"\t{extra}" if extra else ""))


@remote.command("remove")
@click.argument("name")
@click.option("--local", is_flag=True)
@click.pass_context
def remote_remove(ctx: click.Context, name: str, local: bool) -> None:
    """Remove a remote."""
    from gitpipe.config import edit_config
    from gitpipe.errors import BadInputError

    def edit(raw: dict[str, Any]) -> None:
        if name not in (raw.get("remotes") or {}):
            raise BadInputError(f"unknown remote {name!r}")
        del raw["remotes"][name]
        if (raw.get("core") or {}).get("remote") == name:
            del raw["core"]["remote"]
    edit_config(_gitpipe_dir(ctx), edit, local)
    click.echo(f"removed remote {name!r}")


@remote.command("modify")
@click.argument("name")
@click.argument("key")
@click.argument("value", required=False)
@click.option("--unset", is_flag=True, help="Remove the option.")
@click.option("--local", is_flag=True, help="Write config.local.yaml (for secrets).")
@click.pass_context
def remote_modify(ctx: click.Context, name: str, key: str, value: str | None, unset: bool,
                  local: bool) -> None:
    """Set an fsspec storage option (endpoint_url, profile, region, …) of a remote."""
    from gitpipe.config import edit_config
    from gitpipe.errors import BadInputError
    from gitpipe.yamlio import parse_yaml

    if value is None and not unset:
        raise BadInputError("give a VALUE, or --unset")

    def edit(raw: dict[str, Any]) -> None:
        remotes = raw.setdefault("remotes", {}) or {}
        raw["remotes"] = remotes
        body = remotes.setdefault(name, {})
        if unset:
            body.pop(key, None)
        else:
            body[key] = parse_yaml(str(value), "value")
    edit_config(_gitpipe_dir(ctx), edit, local)
    click.echo(f"remote {name!r}: {key} " + ("unset" if unset else f"= {value}"))
