"""`gitpipe verify` (and the printing `repro --verify` shares): rerun up-to-date
stages in scratch copies and say which outs differ from the lock.

Registered on the `cli` group when `gitpipe.cli.main` imports this module.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import click

from gitpipe.cli import complete
from gitpipe.cli.console import Ui, ui_of
from gitpipe.cli.group import cli, project_of, settle_exit_code
from gitpipe.cli.jsonout import json_option, json_out

if TYPE_CHECKING:
    from gitpipe.usecases.verify import TaskCheck, VerifyReport


@cli.command()
@click.argument("targets", nargs=-1, shell_complete=complete.tasks)
@click.option("--local", is_flag=True, help="Rerun stages of other executors (kubernetes) "
              "on this machine too; without it they are skipped.")
@click.pass_context
@json_option("verify")
def verify(ctx: click.Context, targets: tuple[str, ...], local: bool) -> None:
    """Rerun up-to-date stages in a scratch copy and compare their outs with the lock."""
    from gitpipe.usecases.verify import VerifyOptions
    from gitpipe.usecases.verify import verify as run_verify

    ui = ui_of(ctx)
    shown = ShownChecks(ui)
    with shown.watched():
        report = run_verify(project_of(ctx), VerifyOptions(targets, local), shown.checked,
                            shown.starting)
    settle_exit_code(ctx, 0 if report.ok else 1)
    print_totals(report, ui)
    if out := json_out(ctx):
        out.emit(report.to_json())
    if not report.ok:
        ctx.exit(1)


class ShownChecks:
    """Each verdict as it comes, and, in a log, `still running: train (61 s)`
    while a rerun prints nothing (cli/stillrunning.py): a check reruns what
    ran, as long and as silent as the run was."""

    def __init__(self, ui: Ui) -> None:
        self.ui = ui
        self.task: str | None = None
        self.since = self.said_at = time.monotonic()

    def starting(self, task: str) -> None:
        self.task, self.since = task, time.monotonic()

    def checked(self, check: TaskCheck) -> None:
        self.task = None
        print_check(check, self.ui)
        self.said_at = time.monotonic()

    def running(self) -> dict[str, float]:
        task = self.task
        return {} if task is None else {task: self.since}

    def say(self, text: str) -> None:
        self.ui.info(text)
        self.said_at = time.monotonic()

    def watched(self) -> AbstractContextManager[None]:
        """While the checks run: the still-running line where no bar is drawn."""
        from gitpipe.cli.stillrunning import still_running

        # A check begun is news of its own: the silence is counted from it.
        return still_running(self.ui, self.running, lambda: max(self.said_at, self.since),
                             self.say)


def print_check(check: TaskCheck, ui: Ui) -> None:
    """A task's verdict, then how each differing out differs: each line as a
    terminal shows it plainly, a name or a diff line one line (the names and
    bytes a rerun makes are the clone's command's)."""
    from gitpipe.trust.checks import terminal_lines, terminal_text

    note = f" ({check.note})" if check.note else ""
    ui.result(f"{check.result} {check.task}{note}", styled=True)
    for out in check.outs:
        if not out.same:
            for line in out.lines():
                ui.result(f"    {terminal_text(line)}")
    for line in terminal_lines(check.message) if check.message else []:
        ui.result(f"    {line}")


def print_totals(report: VerifyReport, ui: Ui) -> None:
    """The counts, and the hint when outs differ."""
    from gitpipe.usecases.verify import DIFFERS, FAILED, OK, SKIPPED, failed_hint

    if not report.checks:
        ui.result("nothing to verify")
        return
    counts = [f"{report.count(word)} {word}" for word in (OK, DIFFERS, FAILED, SKIPPED)
              if report.count(word)]
    ui.result("verify: " + ", ".join(counts), styled=True)
    hint = failed_hint(report)
    if hint:
        ui.result(hint)
