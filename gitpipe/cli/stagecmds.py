"""`gitpipe remove`: take stages out of the pipeline (as `dvc remove`).

Registered on the `cli` group when the group first looks the command up
(`group.COMMAND_HOMES`).
"""

from __future__ import annotations

import click

from gitpipe.cli import complete
from gitpipe.cli.console import ui_of
from gitpipe.cli.group import cli, project_of

# Past these many, the outs a line names are counted.
_SHOWN = 5


def _named(paths: list[str]) -> str:
    more = len(paths) - _SHOWN
    return ", ".join(paths[:_SHOWN]) + (f" and {more} more" if more > 0 else "")


@cli.command("remove")
@click.argument("stages", nargs=-1, required=True, shell_complete=complete.tasks)
@click.option("--outs", is_flag=True,
              help="Delete the stages' outs from the work tree too (not files git tracks, "
                   "nor bytes the cache lacks).")
@click.pass_context
def remove_command(ctx: click.Context, stages: tuple[str, ...], outs: bool) -> None:
    """Remove STAGES from gitpipe.yaml (their lines only; comments and the
    other stages stay as written), their entries from gitpipe.lock and their
    outs' lines from .gitignore, as `dvc remove`. The outs stay in the work
    tree, no longer ignored by git, unless --outs deletes them."""
    from gitpipe.cli.output import say_git_advice
    from gitpipe.core.ranges import plural
    from gitpipe.pipeline.model import SPEC_FILE
    from gitpipe.usecases import gitadvice
    from gitpipe.usecases.removestage import remove_stages

    project = project_of(ctx)
    ui = ui_of(ctx)
    before = gitadvice.marks(project)
    done = remove_stages(project, stages, outs)
    count = len(done.lock_entries)
    entries = f"{count} lock entr{'y' if count == 1 else 'ies'}"
    ui.info(f"removed {', '.join(done.stages)} from {SPEC_FILE}"
            + (f", {entries} from gitpipe.lock" if done.lock_entries else "")
            + (f", {plural(len(done.ignore_lines), 'line')} from .gitignore"
               if done.ignore_lines else ""))
    if done.deleted:
        ui.info(f"deleted the outs {_named(done.deleted)}")
    if done.left:
        stay = "stays" if len(done.left) == 1 else "stay"
        ui.result(f"note: {_named(done.left)} {stay} in the work tree, no longer "
                  "ignored by git", err=True)
        them = "it" if len(done.left) == 1 else "them"
        ui.result(f"hint: delete {them}, or run 'gitpipe remove --outs' next time "
                  f"to delete {them} with the stage", err=True)
    if done.tracked:
        ui.result(f"note: git tracks {_named(done.tracked)}: kept ('git rm' takes a file "
                  "out of git)", err=True)
    if done.unsaved:
        ui.result(f"note: {_named(done.unsaved)} kept: it holds bytes the cache does not "
                  "(no run of gitpipe's made them), which deleting would lose", err=True)
        ui.result("hint: delete what you do not need by hand", err=True)
    if done.own:
        ui.result(f"note: {_named(done.own)} kept: gitpipe's own, never deleted as a "
                  "stage's out", err=True)
    for stage, dep in done.unmade:
        ui.result(f"note: stage {stage!r} reads {dep!r}, which no stage writes now", err=True)
    say_git_advice(ui, lambda: gitadvice.advice_for(project, before, [SPEC_FILE]))
