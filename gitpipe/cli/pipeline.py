"""The pipeline's commands: init, validate, status, repro, dag, runs, backfill.

Imports of the engine happen inside commands so `gitpipe --version` stays fast.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from gitpipe.cli import complete
from gitpipe.cli.console import Ui, ui_of
from gitpipe.cli.group import cli, project_of, scope_names, settle_exit_code, size_text
from gitpipe.cli.jsonout import git_add_json, json_option, json_out
from gitpipe.cli.output import print_status
from gitpipe.cli.reprorun import every_task, retry_backoff, run_repro, shown_run
from gitpipe.cli.verify import ShownChecks, print_totals
from gitpipe.core.ranges import plural

if TYPE_CHECKING:
    from gitpipe.engine.reports import Report
    from gitpipe.usecases.api import Project
    from gitpipe.usecases.verify import VerifyReport


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create .gitpipe/ (config and ignore rules) in a git repository."""
    from pathlib import Path

    from gitpipe.pipeline.config import CONFIG_FILE
    from gitpipe.project.root import init_project
    from gitpipe.trust.dotdir import GITPIPE_DIR

    project, unparsed, kept = init_project(Path(ctx.obj["dir"]))
    if kept:  # as git says "Reinitialized": a second init changes nothing the first made
        ui_of(ctx).info(f"reinitialized the gitpipe project in {project.root} "
                        f"(its {GITPIPE_DIR}/{CONFIG_FILE} kept as it is)")
    else:
        ui_of(ctx).info(f"initialized gitpipe in {project.root}")
    if unparsed is not None:
        ui_of(ctx).info(f"note: {str(unparsed).splitlines()[0]}: the outs are added to "
                        ".gitignore at the first repro ('gitpipe validate' says more)", err=True)


@cli.command()
@click.pass_context
@json_option("validate")
def validate(ctx: click.Context) -> None:
    """Check gitpipe.yaml, the params files, the config and the DAG."""
    project = project_of(ctx)
    tasks = project.validate()
    _ = project.config  # .gitpipe/config.yaml (and config.local.yaml) too
    from gitpipe.fastpath.render import tasks_by_kind

    stages = len(project.pipeline.stages)
    kinds = tasks_by_kind(str(task) for task in tasks)
    parts = [plural(len(kinds[kind]), kind) for kind in ("partition", "item") if kinds[kind]]
    shown = f" ({', '.join(parts)})" if parts else ""
    ui_of(ctx).info(f"gitpipe.yaml is valid: {plural(stages, 'stage')}{shown}, "
                    f"{plural(project.graph.number_of_edges(), 'dependency edge')}")
    warnings = project.missing_inputs() + project.python_notes() + _config_notes(project)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if out := json_out(ctx):
        from gitpipe.usecases.documents import validate_document

        out.emit(validate_document(project, tasks, warnings))


def _config_notes(project: Project) -> list[str]:
    """What the config says that only a push, pull or fetch would refuse."""
    from gitpipe.pipeline.config import unknown_default_text

    said = unknown_default_text(project.config)
    return [f"{said}: push, pull and fetch without -r refuse"] if said else []


@cli.command()
@click.argument("targets", nargs=-1, shell_complete=complete.tasks)
@click.option("--check", is_flag=True, help="Exit 1 when anything is stale (with -q: all it "
              "says, as `dvc status -q`).")
@click.option("--rev", help="Judge the pipeline as this commit has it, without a checkout.")
@click.option("--all", "everything", is_flag=True,
              help="List every stale stage, partition and reason; no cut.")
@click.option("-c", "--cloud", is_flag=True,
              help="Compare the lock's outs between the local cache and the remote instead "
                   "(as `dvc status -c`): what push would upload, pull fetch; --check exits "
                   "1 unless both hold every one.")
@click.option("-r", "--remote",
              help="The remote --cloud compares with (implies --cloud) [default: the default].")
@click.pass_context
@json_option("status")
def status(ctx: click.Context, targets: tuple[str, ...], check: bool,
           rev: str | None, everything: bool, cloud: bool, remote: str | None) -> None:
    """Show stale stages and why."""
    started_ns = time.time_ns()
    project = project_of(ctx)
    # As `dvc status -q` (and `git diff --quiet`): the exit code is the answer.
    quiet = ui_of(ctx).quiet
    check = check or quiet
    if cloud or remote is not None:
        _cloud_status(ctx, project, targets, check, rev, remote)
        return
    if rev is not None:
        from gitpipe.usecases.revision import status_at

        report = status_at(project, rev, targets)
    else:
        report = project.status(targets)
    from gitpipe.fastpath import noop, sealsettle

    if noop.seals_status(targets, rev):
        sealsettle.settle(project, noop.STATUS, noop.status_answer(report), started_ns)
    code = noop.status_exit_code(report.stale, check)
    settle_exit_code(ctx, code)
    if out := json_out(ctx):
        out.emit(report.to_json())
    elif not quiet:
        if rev is None:
            print_status(report, ui_of(ctx), everything, project.has_remote, every_task(project),
                         project.key_names, project.cache_lacks)
        else:
            print_status(report, ui_of(ctx), everything)
    if code:
        ctx.exit(code)


def _cloud_status(ctx: click.Context, project: Project, targets: tuple[str, ...],
                  check: bool, rev: str | None, remote: str | None) -> None:
    from gitpipe.cli.cloudstatus import cloud_lines
    from gitpipe.usecases.cloudstatus import cloud_status

    if rev is not None or json_out(ctx) is not None:
        raise click.UsageError("--cloud compares the work tree's lock, in text: not with "
                               "--rev or --json")
    found = cloud_status(project, remote, targets)
    for line in [] if ui_of(ctx).quiet else cloud_lines(found):
        click.echo(line)
    if check and not found.in_sync:
        ctx.exit(1)


def _known_executor(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An unknown name is a usage error naming the known ones, before any work."""
    from gitpipe.pipeline import registry

    if value is not None and not registry.is_known(value):
        raise click.BadParameter(registry.unknown_message(value), ctx, param)
    return value


@cli.command()
@click.argument("targets", nargs=-1, shell_complete=complete.tasks)
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Stages at once [default: CPUs].")
@click.option("-f", "--force", is_flag=True, help="Run even up-to-date stages: every stage, "
              "or the targets and every stage upstream of them, as `dvc repro -f` (with -s: "
              "the targets alone). Also deletes files a first run finds in its directory outs.")
@click.option("--dry-run", is_flag=True, help="Print what would run and why; run nothing.")
@click.option("-k", "--keep-going", is_flag=True, help="Go on with independent stages after a "
              "failure.")
@click.option("--pull", is_flag=True, help="Look up stale stages in the remote run-cache.")
@click.option("--push", is_flag=True, help="Push each stage's outs after it runs.")
@click.option("-r", "--remote", help="Remote for --pull/--push/--allow-missing "
              "[default: the default].", shell_complete=complete.remotes)
@click.option("--scope", "scopes", multiple=True, metavar="NAME", callback=scope_names,
              help="With --pull: also restore from the run-cache scope NAME "
              "(repeatable); with --push: write under it (one) instead of the main scope.")
@click.option("--no-run-cache", is_flag=True, help="Run stale stages even if a run with the "
              "same fingerprint is cached.")
@click.option("--executor", callback=_known_executor, metavar="NAME",
              help="Run every stage with this executor (local, kubernetes, or one an "
              "installed package registers) instead of the one its `executor:` names.")
@click.option("--downstream", is_flag=True, help="Run the targets and what depends on them, "
              "not what they need.")
@click.option("-s", "--single-item", is_flag=True, help="Run the targets alone, not what they "
              "need: a target whose deps are as its lock says stays, whatever is stale "
              "upstream (as `dvc repro -s`).")
@click.option("--allow-missing", is_flag=True, help="Leave stages whose only change is data "
              "missing here that the remote has (CI planning before a pull).")
@click.option("--all", "everything", is_flag=True,
              help="List every stage, partition and reason (--dry-run and the table); no cut.")
@click.option("--verify", "verify_after", is_flag=True, help="Rerun each stage that ran once "
              "more in a scratch copy; exit 1 if its outs differ (gitpipe verify).")
@click.pass_context
@json_option("repro")
def repro(ctx: click.Context, targets: tuple[str, ...], jobs: int | None, force: bool,
          dry_run: bool, keep_going: bool, pull: bool, push: bool, remote: str | None,
          scopes: tuple[str, ...], no_run_cache: bool, executor: str | None, downstream: bool,
          single_item: bool, allow_missing: bool, everything: bool, verify_after: bool) -> None:
    """Run the stale stages (and what depends on them). With TARGETS (stages, or
    STAGE@KEY for one partition or item): only those and the stages upstream
    of them; --downstream and --single-item choose otherwise."""
    from gitpipe.engine.reports import ReproOptions

    if single_item and (downstream or not targets):
        raise click.UsageError("--single-item runs the targets alone: name them, and leave "
                               "out --downstream")

    started_ns = time.time_ns()
    options = ReproOptions(targets, jobs, force, dry_run, keep_going, retry_backoff(), pull,
                           push, remote, not no_run_cache, executor=executor,
                           downstream=downstream, allow_missing=allow_missing,
                           scopes=scopes, single_item=single_item)
    project = project_of(ctx)
    with document_when_stopped(ctx, "repro"):
        report, advice = run_repro(project, options, ui_of(ctx), everything, started_ns,
                                   lambda code: settle_exit_code(ctx, code))
    if dry_run:
        from gitpipe.cli.output import drop_lines
        from gitpipe.project.lockguard import orphaned_entries

        for line in drop_lines(orphaned_entries(project), "would drop"):
            ui_of(ctx).info(line)
    verified = _verify_ran(project, report, ui_of(ctx)) if verify_after and not dry_run else None
    ok = report.ok and (verified is None or verified.ok)
    if verified is not None:
        settle_exit_code(ctx, 0 if ok else 1)
        print_totals(verified, ui_of(ctx))
    if out := json_out(ctx):
        document = {**report.to_json("repro"), **git_add_json(advice)}
        if verified is not None:
            document.update(ok=ok, verify=verified.part_json())
        out.emit(document)
    if not ok:
        ctx.exit(1)


@contextlib.contextmanager
def document_when_stopped(ctx: click.Context, kind: str,
                          stage: str | None = None) -> Iterator[None]:
    """Ctrl-C during a run with --json: the document of how each task ended
    (`ok` false), then the interrupt ends the command as without --json."""
    from gitpipe.engine.reports import ReproInterrupted

    try:
        yield
    except ReproInterrupted as stopped:
        if out := json_out(ctx):
            out.emit({**stopped.report.to_json(kind), **({"stage": stage} if stage else {})})
        raise


def _verify_ran(project: Project, report: Report, ui: Ui) -> VerifyReport:
    """repro --verify: what ran, rerun in scratch copies (docs/howto/verify.md)."""
    from gitpipe.usecases.verify import verify_ran

    shown = ShownChecks(ui)
    with shown.watched():
        return verify_ran(project, report.results, shown.checked, shown.starting)


@cli.command()
@click.argument("targets", nargs=-1, shell_complete=complete.tasks)
@click.option("--format", "fmt", type=click.Choice(["ascii", "list", "dot", "mermaid", "json"]),
              default="ascii", show_default=True,
              help="How to draw the graph: ascii draws boxes for a small graph and falls "
              "back to list, a line per node.")
@click.option("--status", is_flag=True,
              help="Show each node's state (up to date, stale, failed, never run).")
@click.option("--expand", "--all", "everything", is_flag=True,
              help="A node per partition or foreach item, not one per stage.")
@click.pass_context
def dag(ctx: click.Context, targets: tuple[str, ...], fmt: str, status: bool,
        everything: bool) -> None:
    """Print the stage graph (of TARGETS and what they need, or all of it)."""
    click.echo(project_of(ctx).dag(fmt, everything, targets, status))


@cli.command()
@click.argument("stage", required=False, shell_complete=complete.tasks)
@click.option("-n", "--limit", default=20, show_default=True, type=click.IntRange(min=1),
              help="Show at most this many runs, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print the run records as one JSON list.")
@click.option("--trace", "trace", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write the runs of a repro or backfill as a Chrome/Perfetto trace to "
              "FILE ('-': stdout) [default: the newest one].")
@click.option("--invocation", metavar="ID", help="--trace: the invocation whose id starts "
              "with ID (the runs table's first column).")
@click.option("--last", type=click.IntRange(min=1), default=1,
              help="--trace: the newest N invocations.")
@click.option("--since", metavar="WHEN", help="--trace: only invocations started since WHEN "
              "(a date or time, YYYY-MM-DD[THH:MM], or a duration ago: 2h, 3d).")
@click.pass_context
def runs(ctx: click.Context, stage: str | None, limit: int, as_json: bool, trace: str | None,
         invocation: str | None, last: int, since: str | None) -> None:
    """History of runs from .gitpipe/state.db."""
    if trace is not None:
        _write_trace(ctx, trace, stage, (invocation, last, since))
        return
    records = project_of(ctx).runs(stage, limit)
    if as_json:
        import json

        click.echo(json.dumps([r._asdict() for r in records]))
        return
    if not records:
        click.echo("no runs recorded yet")
        return
    from gitpipe.core.columns import aligned

    rows = [["invocation", "started", "stage", "result", "time", "in", "out"]]
    rows += [[(r.invocation or "-")[:8],
              time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started)), r.task, r.result,
              f"{r.duration:.2f}s", size_text(r.bytes_in), size_text(r.bytes_out)]
             for r in records]
    for line in aligned(rows, right=(4, 5, 6)):
        click.echo(line)


def _write_trace(ctx: click.Context, target: str, stage: str | None,
                 pick: tuple[str | None, int, str | None]) -> None:
    import json

    from gitpipe.usecases.runtrace import TracePick, since_time

    if stage is not None:
        raise click.UsageError("--trace exports whole invocations: give no STAGE")
    invocation, last, since = pick
    project = project_of(ctx)
    document = project.run_trace(
        TracePick(invocation, last, None if since is None else since_time(since)))
    text = json.dumps(document, ensure_ascii=False) + "\n"
    if target == "-":
        click.echo(text, nl=False)
    else:
        from pathlib import Path

        from gitpipe.usecases.userfile import write_user_file

        write_user_file(project.root, Path(target), text, "the trace")
        other = document["otherData"]
        ui_of(ctx).info(f"wrote {plural(other['runs'], 'run')} of "
                        f"{plural(len(other['invocations']), 'invocation')} "
                        f"to {target}", err=True)


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
@click.option("-j", "--jobs", type=click.IntRange(min=1),
              help="Stages and partitions at once in all.")
@click.option("--all", "everything", is_flag=True,
              help="List every stage, partition and reason; no cut.")
@click.pass_context
@json_option("backfill")
def backfill(ctx: click.Context, stage: str, start: str | None, end: str | None,
             concurrency: int | None, force: bool, no_downstream: bool, dry_run: bool,
             jobs: int | None, everything: bool) -> None:
    """Run a partitioned stage's stale partitions over a date range."""
    from gitpipe.engine.backfill import BackfillOptions
    from gitpipe.engine.reports import ReproOptions

    options = BackfillOptions(stage, start, end, concurrency, force, not no_downstream, dry_run)
    repro_options = ReproOptions(jobs=jobs, retry_backoff=retry_backoff())
    project = project_of(ctx)
    with document_when_stopped(ctx, "backfill", stage):
        report, advice = shown_run(project, ui_of(ctx), everything, "backfill",
                                   lambda listener, sink: project.backfill(
                                       options, repro_options, listener, sink),
                                   lambda code: settle_exit_code(ctx, code))
    if out := json_out(ctx):
        out.emit({**report.to_json("backfill"), "stage": stage, **git_add_json(advice)})
    if not report.ok:
        ctx.exit(1)
