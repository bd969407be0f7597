"""How the CLI shows reports: status reasons, the repro table and live stage
output, through the command's Ui (cli/console.py). Printing only; the commands are in
cli/pipeline.py, cli/gitcmds.py and cli/storage.py."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gitpipe.cli.console import Ui, ui_of
from gitpipe.cli.progress import RunProgress
from gitpipe.core.outcome import Outcome
from gitpipe.core.ranges import cut_blocks, entries, positions_of, tasks_text
from gitpipe.fastpath.render import (
    dry_run_lines,
    positions,
    status_lines,
    table_lines,
)
from gitpipe.trust.checks import terminal_lines, terminal_text

if TYPE_CHECKING:
    from gitpipe.engine.reports import Event, Report
    from gitpipe.project.status import StatusReport
    from gitpipe.usecases.gitadvice import GitAdvice
    from gitpipe.usecases.lockdiff import LockDiff


def print_status(report: StatusReport, ui: Ui | None = None, everything: bool = False,
                 has_remote: Any = None, order: Any = None, key_names: Any = None,
                 cache_lacks: Any = None) -> None:
    ui = ui or ui_of()
    for line in status_lines(report, everything, has_remote, order, key_names, cache_lacks):
        ui.result(line, styled=True)


def diff_lines(found: LockDiff, everything: bool = False, show_hash: bool = False) -> list[str]:
    """`gitpipe diff` as text: each task in plan order with its changes in
    status's words (`deps: data.csv modified`), the partitions of a stage
    that changed alike as one entry (as status groups them); with
    `show_hash`, each change with its digests, as `dvc diff --show-hash`
    gives each file's: partitions are then one entry only where their
    digests are the same too; the cuts of status, lifted by `everything`."""
    from gitpipe.trust.checks import terminal_text  # a param's words are git's text

    grouped = entries(((task.task, list(task.changes if show_hash else task.brief))
                       for task in found.tasks),
                      positions([task.task for task in found.tasks], found.order), everything,
                      found.key_names)
    blocks = [[f"{entry.title}:", *(f"    {terminal_text(line)}" for line in entry.reasons)]
              for entry in grouped]
    return [line for block in cut_blocks(blocks, everything) for line in block]


LABELS = {"start": "running", "retry": "retrying", "fail": "failed", "restored": "restored",
          "recorded": "re-recorded", "warn": "warning"}
VERBOSE_LABELS = {"done": "ran", "skip": "up to date"}


def drop_lines(tasks: list[str], verb: str) -> list[str]:
    """`dropped the lock entries of daily@2024-01-01 … 2024-01-03 (3): …`: the
    lock entries a repro drops (`verb`: dropped, would drop), a stage's
    partitions or items one line, as status's note names them (each name as
    a terminal shows it plainly: the lock's task names come from git)."""
    names = set(tasks)
    return [f"{verb} the lock {'entries' if many else 'entry'} of {terminal_text(text)}: "
            f"gitpipe.yaml no longer declares {'them' if many else 'it'}"
            for text in tasks_text(tasks, positions_of(tasks))
            for many in [text not in names]]  # a group of tasks, not one task's name


class LivePrinter:
    """Streams stage output with a `[stage]` prefix and says what starts and ends,
    through the command's Ui (one lock, so lines never interleave). A stage's
    `\\r` frame (a line the sink ends with `\\r`) redraws in place on a terminal:
    under the progress bar when there is one."""

    def __init__(self, ui: Ui | None = None, progress: RunProgress | None = None) -> None:
        self.ui = ui or ui_of()
        self.progress = progress
        self.lost: OSError | None = None
        self.said_at = time.monotonic()  # when a whole line last reached the output
        # Lock entries dropped, said together (drop_lines) at the next line or flush.
        self.dropped: list[str] = []

    def line(self, task: str, text: str) -> None:
        self.flush()
        self._guarded(self._line, task, text)

    def event(self, event: Event) -> None:
        if event.kind == "pruned":  # a burst before the run starts: one line per stage
            self.dropped.append(event.task)
            return
        self.flush()
        self._guarded(self._event, event)

    def flush(self) -> None:
        """Say the lock entries dropped so far (the engine names them one by one).
        Asked before every event and line: where none was dropped, nothing to do."""
        if not self.dropped:
            return
        dropped, self.dropped = self.dropped, []
        for text in drop_lines(dropped, "dropped"):
            self._guarded(self._info, text, True)

    def raise_lost(self) -> None:
        """End the command as a failed write ends it (the reader left, the disk
        is full), once the run is recorded: the CLI's handlers say it."""
        if self.lost is not None:
            raise self.lost

    def _guarded(self, say: Callable[..., None], *args: Any) -> None:
        """Say it, in the worker thread that asks: a write that fails must not
        stop that task's step (it would end unrecorded). The first failure is
        kept for raise_lost, and nothing more is said."""
        if self.lost is not None:
            return
        try:
            say(*args)
        except OSError as exc:
            self.lost = exc

    def still_running(self, text: str) -> None:
        """The watcher's line (cli/stillrunning.py), guarded as every line is."""
        self._guarded(self._info, text)

    def _info(self, text: str, styled: bool = False) -> None:
        self.ui.info(text, styled=styled)
        self.said_at = time.monotonic()

    def _line(self, task: str, text: str) -> None:
        if text.endswith("\r"):
            shown = self.progress is not None and self.progress.frame(task, text[:-1])
            if not shown:
                self.ui.frame(f"[{task}] {text[:-1]}")
            return
        if self.progress is not None:
            self.progress.frame(task, "")
        self._info(f"[{task}] {text}")

    def _event(self, event: Event) -> None:
        if event.kind in VERBOSE_LABELS:
            if self.ui.verbose:
                detail = f" ({event.message})" if event.kind == "done" and event.message else ""
                self.ui.detail(f"{VERBOSE_LABELS[event.kind]} {event.task}{detail}", styled=True)
            return
        if event.kind not in LABELS:
            return
        # Each line as a terminal shows it plainly: what went wrong may name
        # what a clone or a remote holds (a warning's record, a retry's cause).
        lines = terminal_lines(event.message) if event.message else []
        first = lines[0] if lines else ""
        if event.kind == "warn":  # a diagnostic: said whole
            self.ui.result(self._said(event, first), err=True, styled=True)
            return
        if event.kind == "fail":
            # Only that it failed, as it happens: why is the run's closing
            # error (print_report), said once, and under -q too.
            self._info(self._said(event, ""), styled=True)
            return
        detail = "; ".join(lines) if self.ui.verbose else _cut(first)
        self._info(self._said(event, detail), styled=True)

    @staticmethod
    def _said(event: Event, detail: str) -> str:
        return f"{LABELS[event.kind]} {event.task}" + (f": {detail}" if detail else "")


DETAIL_WIDTH = 160  # of a reason on a `running` line; -v shows it whole


def _cut(text: str) -> str:
    return text if len(text) <= DETAIL_WIDTH else text[:DETAIL_WIDTH - 1] + "…"


def print_report(report: Report, ui: Ui | None = None, everything: bool = False,
                 order: Any = None, key_names: Any = None) -> None:
    ui = ui or ui_of()
    if report.dry_run:
        for line in dry_run_lines(report, everything, order, key_names):
            ui.result(line)
    else:
        print_table(report, ui, everything, order, key_names)
    print_failures(report, ui)  # a dry run's: what the run would refuse, as it says it


def print_failures(report: Report, ui: Ui) -> None:
    """Why each failed task failed, and where its log is: under -q too. Every
    line of the message and the hint is framed (`error: `, `hint: `) and shown
    as a terminal shows it plainly: either may hold a name from git or a
    remote, and a stage's failure lists nothing on lines of their own."""
    from gitpipe.cli.exits import error_lines

    for failed in report.failed:
        if failed.message:
            ui.error("\n".join(error_lines(failed.message, failed.hint, listed=False)))
        if failed.log:
            ui.result(f"hint: the log is {failed.log}", err=True)
            if "@" in failed.task:
                for line in _tail(failed.log, 5):
                    ui.result(f"    | {line}", err=True)
        elif failed.attempts and not failed.hint and failed.outcome is Outcome.FAILED:
            # A log is made at a command's first byte: the newest log of the
            # stage in the folder, if any, is another run's.
            ui.result("hint: the command printed nothing, so this run kept no log (any "
                      "log of this stage in .gitpipe/logs/ is an earlier run's)", err=True)


def _tail(path: str, count: int) -> list[str]:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 8192))
            return handle.read().decode(errors="replace").splitlines()[-count:]
    except OSError:
        return []


def print_table(report: Report, ui: Ui | None = None, everything: bool = False,
                order: Any = None, key_names: Any = None) -> None:
    """The table of what ran: for the person watching, not under -q."""
    ui = ui or ui_of()
    for line in table_lines(report, everything, order, key_names):
        ui.info(line, styled=True)


def say_git_advice(ui: Ui, advise: Callable[[], GitAdvice]) -> GitAdvice | None:
    """`git add` advice for what a command changed (as `dvc repro` gives it),
    or what core.autostage staged; not under -q. Past ADVICE_PATHS paths it
    names folders (usecases/gitadvice.py), and where even those are too many,
    the first of them and how many more. A git that cannot answer leaves a
    warning (and None): what the command did is recorded already."""
    from gitpipe.core.errors import GitpipeError
    from gitpipe.trust.plaintext import shell_word
    from gitpipe.usecases.gitadvice import ADVICE_PATHS

    try:
        advice = advise()
    except GitpipeError as exc:  # git's own words may name files: each line framed
        for line in terminal_lines(str(exc)):
            ui.result(f"warning: {line}", err=True)
        return None
    said = advice.said or advice.paths
    if not said:
        return advice
    # A name that begins with `-` would be read by git as an option
    # (`-A`, `--pathspec-from-file=list`): `./` keeps it a path.
    paths = " ".join(shell_word(f"./{path}" if path.startswith("-") else path)
                     for path in said[:ADVICE_PATHS])
    more = (f"… and {len(said) - ADVICE_PATHS} more: 'git status' lists them, --json gives "
            "every path") if len(said) > ADVICE_PATHS else ""
    if advice.staged:
        ui.info(f"staged with git (core.autostage): {paths}" + (f" {more}" if more else ""))
        return advice
    ui.info("to track the changes with git, run:")
    ui.info(f"    git add {paths}")
    if more:
        ui.info(f"    {more}")
    ui.info("(with 'autostage: true' under 'core:' in .gitpipe/config.local.yaml, gitpipe "
            "stages them)")
    return advice
