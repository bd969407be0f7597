"""The pipeline's commands: init, validate, status, repro, dag, runs, backfill.

Imports of the engine happen inside commands so `gitpipe --version` stays fast.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import click

from gitpipe.cli import complete
from gitpipe.cli.group import cli, project_of, settle_exit_code, size_text
from gitpipe.cli.output import BackfillProgress, LivePrinter, print_report, print_status

if TYPE_CHECKING:
    pass


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create .gitpipe/ (config and ignore rules) in a git repository."""
    from gitpipe.usecases.api import init as api_init

    project = api_init(ctx.obj["dir"])
    click.echo(f"initialized gitpipe in {project.root}")


@cli.command()
@click.pass_context
def validate(ctx: click.Context) -> None:
    """Check gitpipe.yaml, the params files, the config and the DAG."""
    project = project_of(ctx)
    tasks = project.validate()
    _ = project.config  # .gitpipe/config.yaml (and config.local.yaml) too
    stages = len(project.pipeline.stages)
    partitions = f" ({len(tasks)} task(s) with partitions)" if len(tasks) != stages else ""
    click.echo(f"gitpipe.yaml is valid: {stages} stage(s){partitions}, "
               f"{project.graph.number_of_edges()} dependency edge(s)")
    for warning in project.missing_inputs():
        click.echo(f"warning: {warning}", err=True)


@cli.command()
@click.argument("targets", nargs=-1, shell_complete=complete.tasks)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (for CI).")
@click.option("--check", is_flag=True, help="Exit 1 when anything is stale.")
@click.option("--rev", help="Judge the pipeline as this commit has it, without a checkout.")
@click.pass_context
def status(ctx: click.Context, targets: tuple[str, ...], as_json: bool, check: bool,
           rev: str | None) -> None:
    """Show stale stages and why."""
    started_ns = time.time_ns()
    project = project_of(ctx)
    if rev is not None:
        from gitpipe.usecases.revision import status_at

        report = status_at(project, rev, targets)
    else:
        report = project.status(targets)
    from gitpipe.fastpath import noop, seal

    if noop.seals_status(targets, rev):
        seal.settle(project, noop.STATUS, noop.status_answer(report), started_ns)
    code = noop.status_exit_code(report.stale, check)
    settle_exit_code(ctx, code)
    if as_json:
        import json

        click.echo(json.dumps(report.to_json()))
    else:
        print_status(report)
    if code:
        ctx.exit(code)


def _known_executor(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An unknown name is a usage error naming the known ones, before any work."""
    from gitpipe.pipeline import registry

    if value is not None and not registry.is_known(value):
        raise click.BadParameter(registry.unknown_message(value), ctx, param)
    return value


@cli.command()
@click.argument("targets", nargs=-1, shell_complete=complete.tasks)
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Stages at once [default: CPUs].")
@click.option("-f", "--force", is_flag=True, help="Run even up-to-date stages (and delete "
              "files a first run finds in its directory outs).")
@click.option("--dry-run", is_flag=True, help="Print what would run and why; run nothing.")
@click.option("-k", "--keep-going", is_flag=True, help="Go on with independent stages after a "
              "failure.")
@click.option("--pull", is_flag=True, help="Look up stale stages in the remote run-cache.")
@click.option("--push", is_flag=True, help="Push each stage's outs after it runs.")
@click.option("-r", "--remote", help="Remote for --pull/--push [default: the default].",
              shell_complete=complete.remotes)
@click.option("--no-run-cache", is_flag=True, help="Run stale stages even if a run with the "
              "same fingerprint is cached.")
@click.option("--executor", callback=_known_executor, metavar="NAME",
              help="Run every stage with this executor (local, kubernetes, or one an "
              "installed package registers) instead of the one its `executor:` names.")
@click.pass_context
def repro(ctx: click.Context, targets: tuple[str, ...], jobs: int | None, force: bool,
          dry_run: bool, keep_going: bool, pull: bool, push: bool, remote: str | None,
          no_run_cache: bool, executor: str | None) -> None:
    """Run the stale stages (and what depends on them)."""
    from gitpipe.engine.reports import ReproOptions

    started_ns = time.time_ns()
    backoff = float(os.environ.get("GITPIPE_RETRY_BACKOFF", "1"))
    options = ReproOptions(targets, jobs, force, dry_run, keep_going, backoff, pull, push,
                           remote, not no_run_cache, executor=executor)
    printer = LivePrinter()
    project = project_of(ctx)
    report = project.repro(options=options, listener=printer.event, sink=printer.line)
    from gitpipe.fastpath import noop, seal

    if noop.seals_repro(options):
        seal.settle(project, noop.REPRO, noop.repro_answer(report), started_ns)
    settle_exit_code(ctx, 0 if report.ok else 1)
    print_report(report)
    if not report.ok:
        ctx.exit(1)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["ascii", "dot", "mermaid", "json"]),
              default="ascii", show_default=True, help="How to draw the graph.")
@click.pass_context
def dag(ctx: click.Context, fmt: str) -> None:
    """Print the stage graph."""
    click.echo(project_of(ctx).dag(fmt))


@cli.command()
@click.argument("stage", required=False, shell_complete=complete.tasks)
@click.option("-n", "--limit", default=20, show_default=True, type=click.IntRange(min=1),
              help="Show at most this many runs, newest first.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs(ctx: click.Context, stage: str | None, limit: int, as_json: bool) -> None:
    """History of runs from .gitpipe/state.db."""
    records = project_of(ctx).runs(stage, limit)
    if as_json:
        import json

        click.echo(json.dumps([r._asdict() for r in records]))
        return
    if not records:
        click.echo("no runs recorded yet")
    for r in records:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started))
        click.echo(f"{started}  {r.task:<24} {r.result:<7} {r.duration:8.2f}s  "
                   f"in {size_text(r.bytes_in):>9}  out {size_text(r.bytes_out):>9}")


@cli.command()
@click.argument("stage", shell_complete=complete.partitioned_stages)
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
    from gitpipe.engine.backfill import BackfillOptions
    from gitpipe.engine.reports import ReproOptions

    options = BackfillOptions(stage, start, end, concurrency, force, not no_downstream, dry_run)
    backoff = float(os.environ.get("GITPIPE_RETRY_BACKOFF", "1"))
    project = project_of(ctx)
    from gitpipe.engine.backfill import plan_backfill

    printer = LivePrinter()
    total = len(plan_backfill(project, options))
    with BackfillProgress(total) as progress:
        report = project.backfill(options, ReproOptions(jobs=jobs, retry_backoff=backoff),
                                  progress.wrap(printer.event), printer.line)
    settle_exit_code(ctx, 0 if report.ok else 1)
    print_report(report)
    if not report.ok:
        ctx.exit(1)
