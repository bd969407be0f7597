"""The command line: parse, call one API function, render, choose the exit code.

The one place that prints and turns GitpipeErrors into messages. Imports of
the engine happen inside commands so `gitpipe --version` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
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
    started_ns = time.time_ns()
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
    if rev is None and not targets:
        from gitpipe import seal

        seal.settle(project, "status", None if report.stale else UP_TO_DATE + "\n", started_ns)
    if check and report.stale:
        ctx.exit(1)


UP_TO_DATE = "everything is up to date"


def _print_status(report: StatusReport) -> None:
    stale = [v for v in report.tasks if v.stale]
    if not stale:
        click.echo(UP_TO_DATE)
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

    started_ns = time.time_ns()
    backoff = float(os.environ.get("GITPIPE_RETRY_BACKOFF", "1"))
    options = ReproOptions(targets, jobs, force, dry_run, keep_going, backoff, pull, push,
                           remote, not no_run_cache, executor=executor)
    printer = _LivePrinter()
    project = _project(ctx)
    report = project.repro(options=options, listener=printer.event, sink=printer.line)
    _print_report(report)
    if not (targets or dry_run or force):
        _settle_repro_seal(project, report, started_ns)
    if not report.ok:
        ctx.exit(1)


def _settle_repro_seal(project: Project, report: Report, started_ns: int) -> None:
    """A repro that skipped every stage seals its table for `gitpipe repro` to replay."""
    from gitpipe import seal
    from gitpipe.scheduler import Outcome

    noop = report.ok and all(r.outcome is Outcome.SKIPPED for r in report.results)
    text = "\n".join(_table_lines(report)) + "\n" if noop else None
    seal.settle(project, "repro", text, started_ns)


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
    for line in _table_lines(report):
        click.echo(line)


def _table_lines(report: Report) -> list[str]:
    from gitpipe.scheduler import Outcome

    # NOTE: up-to-date rows are listed only for small pipelines; on 1,000
    # stages a wall of "skipped" hides what ran and costs real time to draw.
    # Plain aligned columns: rich's Table took ~0.15 s for 200 rows.
    rows = report.results if len(report.results) <= 30 else [
        r for r in report.results if r.outcome is not Outcome.SKIPPED]
    cells = [("stage", "result", "time", "why")] + [
        (r.task, r.outcome.value, f"{r.duration:.2f}s" if r.duration else "",
         "; ".join(r.reasons)) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(3)]
    lines = [("  ".join(row[i].ljust(widths[i]) for i in range(3)) + "  " + row[3]).rstrip()
             for row in cells]
    return [*lines, ", ".join(f"{report.count(o)} {o.value}" for o in Outcome if report.count(o))]


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
    from gitpipe.backfill import plan_backfill

    printer = _LivePrinter()
    total = len(plan_backfill(project, options))
    with _BackfillProgress(total) as progress:
        report = project.backfill(options, ReproOptions(jobs=jobs, retry_backoff=backoff),
                                  progress.wrap(printer.event), printer.line)
    _print_report(report)
    if not report.ok:
        ctx.exit(1)


class _BackfillProgress:
    """done / running / failed / waiting with elapsed time and an estimate, on a terminal."""

    def __init__(self, total: int) -> None:
        self.total = total
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
        elapsed = time.monotonic() - self.started
        done = self.counts["done"] + self.counts["failed"]
        waiting = max(0, self.total - done - self.counts["running"])
        eta = elapsed / done * (self.total - done) if done else None
        return (f"done {self.counts['done']}/{self.total}  running {self.counts['running']}  "
                f"failed {self.counts['failed']}  waiting {waiting}  elapsed {elapsed:.0f}s"
                + (f"  eta {eta:.0f}s" if eta is not None else ""))

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()


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


# The other commands register themselves on `cli`; imported last, as they use
# the helpers above.
from gitpipe import cli_git, cli_storage  # noqa: E402, F401
