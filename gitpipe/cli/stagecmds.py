"""`gitpipe remove`: take stages out of the pipeline (as `dvc remove`).

Registered on the `cli` group when the group first looks the command up
(`group.COMMAND_HOMES`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gitpipe.cli import complete
from gitpipe.cli.console import ui_of
from gitpipe.cli.group import cli, project_of
from gitpipe.cli.jsonout import git_add_json, json_option, json_out

if TYPE_CHECKING:
    from gitpipe.cli.console import Ui
    from gitpipe.usecases.removestage import Removed

# Past these many, the outs a line names are counted.
_SHOWN = 5


def _named(paths: list[str]) -> str:
    more = len(paths) - _SHOWN
    return ", ".join(paths[:_SHOWN]) + (f" and {more} more" if more > 0 else "")


@cli.command("remove")
@click.argument("stages", nargs=-1, required=True, shell_complete=complete.tasks)
@click.option("--outs", is_flag=True,
              help="Delete the stages' outs from the work tree too (not files git tracks, "
                   "nor bytes the cache lacks, nor those of partitions outside a stage's "
                   "declared range).")
@click.pass_context
@json_option("remove")
def remove_command(ctx: click.Context, stages: tuple[str, ...], outs: bool) -> None:
    """Remove STAGES from gitpipe.yaml (their lines only; comments and the
    other stages stay as written), their entries from gitpipe.lock and their
    outs' lines from .gitignore, as `dvc remove`. The outs stay in the work
    tree, no longer ignored by git, unless --outs deletes them. A gitpipe.yaml
    that links to a file of the work tree is edited there."""
    from gitpipe.cli.output import say_git_advice
    from gitpipe.usecases import gitadvice
    from gitpipe.usecases.removestage import remove_stages

    project = project_of(ctx)
    before = gitadvice.marks(project)
    done = remove_stages(project, stages, outs)
    _say(ui_of(ctx), done)
    advice = say_git_advice(ui_of(ctx), lambda: gitadvice.advice_for(project, before,
                                                                      [done.spec]))
    if out := json_out(ctx):
        from gitpipe.usecases.documents import remove_document

        out.emit({**remove_document(done), **git_add_json(advice)})


def _say(ui: Ui, done: Removed) -> None:
    """What `remove` did, and what it left and why."""
    from gitpipe.core.ranges import plural
    from gitpipe.pipeline.model import SPEC_FILE

    count = len(done.lock_entries)
    entries = f"{count} lock entr{'y' if count == 1 else 'ies'}"
    through = "" if done.spec == SPEC_FILE else f" ({done.spec}, which it links to)"
    ui.info(f"removed {', '.join(done.stages)} from {SPEC_FILE}{through}"
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
    if done.beyond:
        stay = "stays" if len(done.beyond) == 1 else "stay"
        ui.result(f"note: {_named(done.beyond)} {stay} in the work tree, no longer ignored "
                  "by git: outs of partitions outside the stage's declared range, which "
                  "gitpipe.lock recorded ('--outs' deletes only the range's)", err=True)
    if done.unsaved:
        ui.result(f"note: {_named(done.unsaved)} kept: it holds bytes the cache does not "
                  "(no run of gitpipe's made them), which deleting would lose", err=True)
        ui.result("hint: delete what you do not need by hand", err=True)
    for stage, dep in done.unmade:
        ui.result(f"note: stage {stage!r} reads {dep!r}, which no stage writes now", err=True)
