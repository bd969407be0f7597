"""The command line: parse, call one API function, render, choose the exit code.

The one place that prints and turns GitpipeErrors into messages. Imports of
the engine happen inside commands so `gitpipe --version` stays fast.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from gitpipe import __version__
from gitpipe.cli_render import BackfillProgress, LivePrinter, print_report, print_status
from gitpipe.render import UP_TO_DATE, table_lines

if TYPE_CHECKING:
    from gitpipe.api import Project
    from gitpipe.repro import Report

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
    """Check gitpipe.yaml, the params files, the config and the DAG."""
    project = _project(ctx)
    tasks = project.validate()
    _ = project.config  # .gitpipe/config.yaml (and config.local.yaml) too
    stages = len(project.pipeline.stages)
    partitions = f" ({len(tasks)} task(s) with partitions)" if len(tasks) != stages else ""
    click.echo(f"gitpipe.yaml is valid: {stages} stage(s){partitions}, "
               f"{project.graph.number_of_edges()} dependency edge(s)")
    for warning in project.missing_inputs():
        click.echo(f"warning: {warning}", err=True)


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
        import json

        click.echo(json.dumps(report.to_json()))
    else:
        print_status(report)
    if rev is None and not targets:
        from gitpipe import seal

        seal.settle(project, "status", None if report.stale else UP_TO_DATE + "\n", started_ns)
    if check and report.stale:
        ctx.exit(1)


@cli.command()
@click.argument("targets", nargs=-1)
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Stages at once [default: CPUs].")
@click.option("-f", "--force", is_flag=True, help="Run even up-to-date stages (and delete "
              "files a first run finds in its directory outs).")
@click.option("--dry-run", is_flag=True, help="Print what would run and why; run nothing.")
@click.option("-k", "--keep-going", is_flag=True, help="Go on with independent stages after a "
              "failure.")
@click.option("--pull", is_flag=True, help="Look up stale stages in the remote run-cache.")
@click.option("--push", is_flag=True, help="Push each stage's outs after it runs.")
@click.option("-r", "--remote", help="Remote for --pull/--push [default: the default].")
@click.option("--no-run-cache", is_flag=True, help="Run stale stages even if a run with the "
              "same fingerprint is cached.")
@click.option("--executor", type=click.Choice(["local", "kubernetes"]),
              help="Run every stage here instead of where its `executor:` says (what "
              "it adds, such as the image, is then in each stage's fingerprint).")
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
    printer = LivePrinter()
    project = _project(ctx)
    report = project.repro(options=options, listener=printer.event, sink=printer.line)
    print_report(report)
    # A repro on another executor judged other fingerprints: its no-op is
    # not plain `repro`'s answer.
    if not (targets or dry_run or force or executor):
        _settle_repro_seal(project, report, started_ns)
    if not report.ok:
        ctx.exit(1)


def _settle_repro_seal(project: Project, report: Report, started_ns: int) -> None:
    """A repro that skipped every stage seals its table for `gitpipe repro` to replay."""
    from gitpipe import seal
    from gitpipe.outcome import Outcome

    noop = report.ok and all(r.outcome is Outcome.SKIPPED for r in report.results)
    text = "\n".join(table_lines(report)) + "\n" if noop else None
    seal.settle(project, "repro", text, started_ns)


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
    records = _project(ctx).runs(stage, limit)
    if as_json:
        import json

        click.echo(json.dumps([r._asdict() for r in records]))
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

    printer = LivePrinter()
    total = len(plan_backfill(project, options))
    with BackfillProgress(total) as progress:
        report = project.backfill(options, ReproOptions(jobs=jobs, retry_backoff=backoff),
                                  progress.wrap(printer.event), printer.line)
    print_report(report)
    if not report.ok:
        ctx.exit(1)


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
    # (launch.main, the console script, has already set the gc thresholds.)
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
