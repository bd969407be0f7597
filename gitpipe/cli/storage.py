"""CLI commands for storage: checkout, push, fetch, pull, gc and fsck.

Registered on the `cli` group when `gitpipe.cli.main` imports this module.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from gitpipe.cli import complete
from gitpipe.cli.console import Ui, ui_of
from gitpipe.cli.group import cli, project_of, scope_names, size_text
from gitpipe.cli.jsonout import json_option, json_out
from gitpipe.cli.progress import CountProgress, TransferProgress

if TYPE_CHECKING:
    from gitpipe.pipeline.model import Pipeline


def _moved(verb: str, summary: Any, of_lock: bool = False) -> str:
    """`of_lock`: a line with --run-cache's own after it, which counts other entries."""
    return (f"{verb} {summary.files} object(s) and {_entries(summary.runs)}"
            f"{' of gitpipe.lock' if of_lock else ''}, "
            f"{size_text(summary.bytes)}; {summary.skipped} already there")


def _entries(count: int) -> str:
    return f"{count} run-cache {'entry' if count == 1 else 'entries'}"


_FORCE_HELP = "Overwrite outs modified by hand even when the cache cannot give them back."


def _run_cache_option(func: Any) -> Any:
    return click.option("--run-cache", is_flag=True, help="Also every run-cache entry of the "
                        "targets (all stages by default) with its outs, not only those of "
                        "the lock.")(click.pass_context(func))


def _read_scopes_option(func: Any) -> Any:
    return click.option("--scope", "scopes", multiple=True, metavar="NAME",
                        callback=scope_names, help="With --run-cache: also read the "
                        "run-cache scope NAME (repeatable), besides the main one.")(func)


def _every_run(direction: str, ctx: click.Context, targets: tuple[str, ...],
               remote: str | None, jobs: int, progress: Any,
               scopes: tuple[str, ...] = ()) -> str:
    """The run-cache half of `--run-cache`: its warnings now, its summary line
    returned (printed after the outs' own line). `scopes`: the scope a push
    writes (one), or those a fetch reads besides main."""
    project = project_of(ctx)
    warnings: list[str] = []
    if direction == "push":
        summary = project.push_run_cache(targets, remote, jobs, progress, warnings,
                                         scopes[0] if scopes else None)
    else:
        summary = project.fetch_run_cache(targets, remote, jobs, progress, warnings, scopes)
    for warning in warnings:
        ui_of(ctx).result(f"warning: {warning}", err=True)
    # A push's first line counted the lock's entries: these are the others.
    said = "pushed {} other {} (--run-cache)" if direction == "push" else "fetched {} {}"
    entries = f"run-cache entr{'y' if summary.runs == 1 else 'ies'}"
    return (f"{said.format(summary.runs, entries)} with {summary.files} object(s), "
            f"{size_text(summary.bytes)}")


@cli.command()
@click.argument("targets", nargs=-1, shell_complete=complete.tasks)
@click.option("-f", "--force", is_flag=True, help=_FORCE_HELP)
@click.pass_context
def checkout(ctx: click.Context, targets: tuple[str, ...], force: bool) -> None:
    """Make the workspace outs match gitpipe.lock, from the cache. TARGETS are
    stages (STAGE@KEY for one partition or item), outs, or files and folders
    inside a directory out; a quoted pattern ('daily@2024-03-*', 'data/*.csv')
    names every task or out it matches."""
    project = project_of(ctx)
    report = project.checkout(targets, force)
    ui = ui_of(ctx)
    ui.info(f"checked out {len(report.restored)} out(s), {len(report.unchanged)} unchanged")
    _say_never_run(ui, report.never_run, project.pipeline)
    _warn_kept(report)
    if report.missing:
        from gitpipe.usecases.transfer import PULL_OR_REPRO, missing_error

        # A checkout reads the local cache only: what it lacks, a pull brings.
        raise missing_error(report.missing, "the local cache", PULL_OR_REPRO)
    _fail_if_kept(report)


def _lock_outs(project: Any) -> dict[str, str]:
    """`model.bin, stage 'train'` for each object gitpipe.lock names as an out."""
    from gitpipe.trust.checks import printable

    named: dict[str, str] = {}
    for task, entry in project.lock_entries.items():
        for out in entry.outs:
            named.setdefault(out.digest, f"{printable(out.path)}, stage {task!r}")
    return named


def _say_never_run(ui: Ui, never_run: list[str], pipeline: Pipeline) -> None:
    """The stages with no out to check out yet, and what makes them: `repro`,
    which never runs a frozen one."""
    from gitpipe.project.reasons import FROZEN_HINT

    frozen = [name for name in never_run if pipeline.stage(name).frozen]
    if frozen:
        ui.info(f"note: frozen (frozen: true) and never run, so nothing to check out: "
                f"{', '.join(frozen)}", err=True)
        ui.info(FROZEN_HINT, err=True)
    others = [name for name in never_run if name not in frozen]
    if others:
        ui.info(f"note: never run, so nothing to check out: {', '.join(others)}", err=True)
        ui.info("hint: run 'gitpipe repro' to compute them", err=True)


def _warn_kept(report: Any) -> None:
    from gitpipe.trust.checks import printable

    for task in sorted({out.task for out in report.orphaned}):
        click.echo(f"warning: gitpipe.lock has an entry for {task!r}, which gitpipe.yaml does "
                   "not declare; its outs were left alone", err=True)
    for out in report.kept:
        click.echo(f"warning: {printable(out.path)} (stage {out.task!r}) was modified and "
                   "its content is not in the cache; it was left as it is", err=True)


def _fail_if_kept(report: Any) -> None:
    """As git refuses to overwrite local changes: the command fails, naming them."""
    if report.kept:
        from gitpipe.core.errors import GitpipeError

        raise GitpipeError(f"{len(report.kept)} modified out(s) were not overwritten",
                           hint="keep them with 'gitpipe commit', move them away, or "
                           "overwrite them with --force")


def _remote_options(func: Any) -> Any:
    func = click.option("-r", "--remote", help="Remote name [default: the default remote].",
                        shell_complete=complete.remotes)(func)
    return click.option("-j", "--jobs", default=8, show_default=True,
                        type=click.IntRange(min=1), help="Parallel transfers.")(func)


@cli.command()
@click.argument("targets", nargs=-1, shell_complete=complete.tasks)
@_remote_options
@click.option("--scope", metavar="NAME", callback=scope_names,
              help="Write run-cache entries under the scope NAME (e.g. pr-123) instead of "
              "the main one; objects are shared.")
@_run_cache_option
@json_option("push")
def push(ctx: click.Context, targets: tuple[str, ...], remote: str | None, jobs: int,
         scope: str | None, run_cache: bool) -> None:
    """Upload the lock's outs and run-cache entries missing on the remote.
    TARGETS, as checkout's: stages (STAGE@KEY for one partition or item),
    outs, or files and folders inside a directory out."""
    with TransferProgress(ui_of(ctx), "push") as progress:
        summary = project_of(ctx).push(targets, remote, jobs, progress, scope)
        runs = _every_run("push", ctx, targets, remote, jobs, progress,
                          (scope,) if scope else ()) if run_cache else ""
    ui_of(ctx).info(_moved("pushed", summary, of_lock=run_cache))
    if runs:
        ui_of(ctx).info(runs)
    _note_unsigned(ctx, remote, scope)
    _emit_transfer(ctx, "push", remote, summary)


def _note_unsigned(ctx: click.Context, remote: str | None, scope: str | None) -> None:
    """Entries pushed without a key that the remote's trust needs are never
    restored by anyone: say so, and how to sign."""
    sharing = project_of(ctx).run_sharing(remote, write_scope=scope)
    policy = sharing.policy(scope)
    if policy.configured and not policy.any and not sharing.signer.signs():
        ui_of(ctx).info("note: run-cache entries are pushed unsigned, so readers that trust "
                        "keys will not restore them; sign with GITPIPE_SIGNING_KEY (an SSH "
                        "private key) or the HMAC secret the remote's trust: names", err=True)


def _emit_transfer(ctx: click.Context, kind: str, remote: str | None, summary: Any,
                   report: Any = None) -> None:
    if out := json_out(ctx):
        from gitpipe.usecases.documents import remote_of, transfer_document

        where = remote_of(project_of(ctx), remote)
        out.emit(transfer_document(kind, where, summary, report))


@cli.command()
@click.argument("targets", nargs=-1, shell_complete=complete.tasks)
@_remote_options
@_read_scopes_option
@_run_cache_option
@json_option("fetch")
def fetch(ctx: click.Context, targets: tuple[str, ...], remote: str | None, jobs: int,
          scopes: tuple[str, ...], run_cache: bool) -> None:
    """Download the lock's outs into the cache (no checkout). TARGETS, as
    checkout's: stages (STAGE@KEY for one partition or item), outs, or files
    and folders inside a directory out."""
    with TransferProgress(ui_of(ctx), "fetch") as progress:
        summary = project_of(ctx).fetch(targets, remote, jobs, progress)
        runs = _every_run("fetch", ctx, targets, remote, jobs, progress,
                          scopes) if run_cache else ""
    ui_of(ctx).info(f"fetched {summary.files} object(s), {size_text(summary.bytes)}")
    if runs:
        ui_of(ctx).info(runs)
    _emit_transfer(ctx, "fetch", remote, summary)


@cli.command()
@click.argument("targets", nargs=-1, shell_complete=complete.tasks)
@_remote_options
@click.option("-f", "--force", is_flag=True, help=_FORCE_HELP)
@_read_scopes_option
@_run_cache_option
@json_option("pull")
def pull(ctx: click.Context, targets: tuple[str, ...], remote: str | None, jobs: int,
         force: bool, scopes: tuple[str, ...], run_cache: bool) -> None:
    """Fetch, then check out. TARGETS, as checkout's: stages (STAGE@KEY for
    one partition or item), outs, or files and folders inside a directory out."""
    with TransferProgress(ui_of(ctx), "pull") as progress:
        summary, report = project_of(ctx).pull(targets, remote, jobs, progress, force)
        runs = _every_run("fetch", ctx, targets, remote, jobs, progress,
                          scopes) if run_cache else ""
    ui_of(ctx).info(f"fetched {summary.files} object(s), {size_text(summary.bytes)}; checked "
                    f"out {len(report.restored)} out(s), {len(report.unchanged)} unchanged")
    if runs:
        ui_of(ctx).info(runs)
    _warn_kept(report)
    _emit_transfer(ctx, "pull", remote, summary, report)
    _fail_if_kept(report)


@cli.command()
@click.option("-w", "--workspace", is_flag=True, help="Keep what the work tree's gitpipe.lock "
              "names, and the one git's index stages (always kept; enough of a scope for "
              "--remote).")
@click.option("-a", "--all-branches", is_flag=True, help="Also keep what the lock of every "
              "branch tip names, remote-tracking branches included.")
@click.option("-T", "--all-tags", is_flag=True, help="Also keep what every tag's lock names.")
@click.option("-A", "--all-commits", is_flag=True, help="Also keep what any commit's lock "
              "names: every ref, stash entry, reflog, and every worktree's HEAD, index and lock.")
@click.option("--rev", "revs", multiple=True, metavar="REV",
              help="Also keep what this commit's lock names (repeatable).")
@click.option("-r", "--remote", help="Collect garbage on this remote instead of locally "
              "(needs one of the scope options above).", shell_complete=complete.remotes)
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option("-y", "--yes", is_flag=True, help="Delete without asking (CI): from a remote "
              "whose URL config.local.yaml sets, or locally with no scope option.")
@click.pass_context
@json_option("gc")
def gc(ctx: click.Context, workspace: bool, all_branches: bool, all_tags: bool,
       all_commits: bool, revs: tuple[str, ...], remote: str | None, dry_run: bool,
       yes: bool) -> None:
    """Remove cached objects no lockfile in the scope refers to."""
    from gitpipe.git.repo import HistoryScope
    from gitpipe.trust.checks import printable
    from gitpipe.usecases.garbage import GcScope

    scope = GcScope(HistoryScope(all_branches, all_tags, all_commits, revs), workspace)
    confirm = _confirmation(ctx, scope, remote, dry_run, yes)
    with CountProgress(ui_of(ctx), "gc", "removed") as progress:
        plan = project_of(ctx).gc(scope, remote, dry_run, confirm, progress)
    if dry_run:
        for digest in plan.removed:
            click.echo(f"would remove {digest}")
        for rel in plan.runs:  # a remote's key, as anyone who pushes named it
            click.echo(f"would remove run-cache entry {printable(rel)}")
        for name in plan.logs:
            click.echo(f"would remove log {printable(name)}")
        for rel, _ in plan.leftovers:
            click.echo(f"would remove {printable(rel)} (an upload a push left half-way)")
    verb = "would remove" if dry_run else "removed"
    logs = f", {len(plan.logs)} old log(s)" if plan.logs else ""
    logs += f", {len(plan.leftovers)} half-done upload(s)" if plan.leftovers else ""
    ui_of(ctx).info(f"{verb} {len(plan.removed)} object(s) ({size_text(plan.bytes_freed)}) "
                    f"and {_entries(len(plan.runs))}{logs} from {plan.where}; "
                    f"kept {plan.kept}: what {plan.keeping} gitpipe.lock name")
    if out := json_out(ctx):
        from gitpipe.usecases.documents import gc_document, remote_of

        where = remote_of(project_of(ctx), remote) if remote is not None else None
        out.emit(gc_document(plan, dry_run, where))


def _confirmation(ctx: click.Context, scope: Any, remote: str | None, dry_run: bool,
                  yes: bool) -> Any:
    """Who answers gc's question: nobody for a dry run or a scoped local gc;
    --yes (None: on a remote, Project.gc lets it delete only where the
    user's own config sets its URL, usecases/gcyes.py); else the terminal."""
    from gitpipe.usecases.gcyes import committed_url

    if dry_run or yes or (remote is None and scope.explicit()):
        return None
    if remote is None:
        return _confirm_local_gc
    committed = committed_url(project_of(ctx), remote) is not None
    return lambda plan: _confirm_remote_gc(plan, committed)


def _confirm_remote_gc(plan: Any, committed: bool) -> bool:
    """Ask on a terminal; without one, refuse: a remote's deletions are for good."""
    origin = (" Its URL comes from the committed .gitpipe/config.yaml, not your "
              "config.local.yaml." if committed else "")
    hint = "see what would go with --dry-run, then add --yes (as CI does)"
    if committed:
        hint += ", with the URL set in config.local.yaml (gitpipe remote modify --local)"
    return _asked(plan, f"keeping what {plan.keeping} gitpipe.lock name",
                  "it asks before deleting from a remote", hint,
                  f" This cannot be undone.{origin}")


def _confirm_local_gc(plan: Any) -> bool:
    """Ask on a terminal before a gc no scope option was given for; without
    one, refuse: an out only another branch's lock names (an experiment not
    pushed) is gone for good, and `dvc gc` asks too."""
    return _asked(plan, f"keeping only what {plan.keeping} gitpipe.lock name (outs only "
                  "other branches' locks name go too)", "without a scope option it asks first",
                  "keep every branch's outs with -a (or -T, -A, --rev); "
                  "-w (or --yes) deletes all but what the work tree's and the index's "
                  "locks name")


def _asked(plan: Any, keeping: str, asks: str, hint: str, warning: str = "") -> bool:
    """Whether the user, asked on a terminal, lets gc delete what `plan` names;
    without a terminal, a refusal that says why (`asks`) and what to do (`hint`)."""
    from gitpipe.core.errors import BadInputError

    uploads = f", {len(plan.leftovers)} half-done upload(s)" if plan.leftovers else ""
    what = (f"{len(plan.removed)} object(s) ({size_text(plan.bytes_freed)}) and "
            f"{_entries(len(plan.runs))}{uploads} from {plan.where}, {keeping}")
    if not sys.stdin.isatty():
        raise BadInputError(f"gc would delete {what}; {asks}, and there is no terminal "
                            "to ask on: nothing was deleted", hint=hint)
    return click.confirm(f"delete {what}?{warning}", default=False, err=True)


@cli.command()
@click.option("--repair", is_flag=True, help="Remove bad objects (a pull, repro or push "
              "restores them).")
@click.option("-r", "--remote", "remote_name", help="Check this remote's objects instead "
              "(each is downloaded).", shell_complete=complete.remotes)
@click.option("-j", "--jobs", default=8, show_default=True, type=click.IntRange(min=1),
              help="Objects checked at once.")
@click.pass_context
@json_option("fsck")
def fsck(ctx: click.Context, repair: bool, remote_name: str | None, jobs: int) -> None:
    """Check that every cache object's content agrees with its name."""
    from gitpipe.trust.checks import printable, terminal_text
    from gitpipe.usecases.fsck import fsck as run_fsck
    from gitpipe.usecases.fsck import fsck_remote

    project = project_of(ctx)
    with CountProgress(ui_of(ctx), "fsck", "checked") as progress:
        if remote_name is not None:
            store = project.remote(remote_name)
            report = fsck_remote(project, store, repair, jobs, progress)
            where = f"remote {store.name!r}"
        else:
            report = run_fsck(project, repair, progress)
            where = "the cache"
    outs = _lock_outs(project) if report.bad else {}
    for digest in report.bad:
        state = "removed" if digest in report.removed else "bad"
        click.echo(f"{state}: {digest}" + (f" ({outs[digest]})" if digest in outs else ""))
    for out in report.missing:  # a path from gitpipe.lock, as git brought it
        click.echo(f"missing: {printable(out.path)} (stage {out.task!r}, {out.digest})")
    for problem in report.malformed:
        click.echo(f"malformed: {terminal_text(problem)}")
    click.echo(f"checked {report.checked} object(s): {len(report.bad)} bad, "
               f"{len(report.missing)} lock out(s) missing from {where}")
    if report.removed and remote_name is not None:
        click.echo("hint: 'gitpipe push' from a clone that has them puts them back")
    elif report.missing and remote_name is None:
        click.echo("hint: 'gitpipe fetch' brings the missing outs back from a remote that has "
                   "them; 'gitpipe repro -f STAGE' computes them again")
    if document := json_out(ctx):
        from gitpipe.usecases.documents import fsck_document, remote_of

        named = remote_of(project, remote_name) if remote_name is not None else None
        document.emit(fsck_document(project, report, repair, named))
    if (report.bad and not repair) or report.malformed:
        ctx.exit(1)
