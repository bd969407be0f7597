"""A repro run and its report, as `gitpipe repro` prints them: the live lines
(and the progress bar on a terminal), the seal, the table. No click: the
click command (cli/pipeline.py) and the console script's quick door
(cli/launch.py, for plain `repro [-j N]`) both run a repro through here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import NamedTuple

from gitpipe.cli import exits
from gitpipe.cli.console import Ui
from gitpipe.cli.output import (
    LivePrinter,
    print_failures,
    print_report,
    print_table,
    say_git_advice,
)
from gitpipe.cli.progress import RunProgress
from gitpipe.cli.stillrunning import still_running

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpipe.engine.reports import Listener, Report, ReproOptions
    from gitpipe.executors.base import OutputSink
    from gitpipe.usecases import gitadvice
    from gitpipe.usecases.api import Project


def retry_backoff() -> float:
    """The first wait before a stage's retry, in seconds (GITPIPE_RETRY_BACKOFF);
    an empty value is no value."""
    from gitpipe.core.errors import BadInputError

    text = os.environ.get("GITPIPE_RETRY_BACKOFF") or "1"
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise BadInputError(f"GITPIPE_RETRY_BACKOFF={text!r} is not a number of seconds",
                            hint="set it to 1 (the default), or 0 to retry at once")
    return seconds


def plain_options(jobs: int | None) -> ReproOptions:
    """The options of `gitpipe repro [-j N]`: every flag at its default."""
    from gitpipe.engine.reports import ReproOptions

    return ReproOptions((), jobs, retry_backoff=retry_backoff())


class Shown(NamedTuple):
    """A run as shown: its report, and the `git add` advice said after it
    (None where none was given: a failed run, or git could not answer)."""

    report: Report
    git_add: gitadvice.GitAdvice | None


def run_repro(project: Project, options: ReproOptions, ui: Ui, everything: bool,
              started_ns: int, settle_exit_code: Callable[[int], None]) -> Shown:
    """Run the repro as `shown_run` shows it, and settle plain `repro`'s seal
    when it may, before the exit code is said."""
    from gitpipe.fastpath import noop, sealsettle

    def settle_seal(report: Report) -> None:
        if noop.seals_repro(options):
            sealsettle.settle(project, noop.REPRO, noop.repro_answer(report), started_ns)

    return shown_run(project, ui, everything, "repro",
                     lambda listener, sink: project.repro(options=options, listener=listener,
                                                          sink=sink),
                     settle_exit_code, settle_seal)


def shown_run(project: Project, ui: Ui, everything: bool, label: str,
              run: Callable[[Listener, OutputSink], Report],
              settle_exit_code: Callable[[int], None],
              ran: Callable[[Report], None] | None = None) -> Shown:
    """A run (a repro, a backfill) as it is shown: its lines and bar (`label`,
    its total the engine's plan) while it runs, the table after Ctrl-C; then
    `ran(report)`, the exit code said (before printing: a reader that leaves
    does not change it) and the table printed."""
    from gitpipe.usecases import gitadvice

    before = gitadvice.marks(project)
    with table_when_stopped(ui, everything, project), RunProgress(ui, label) as progress:
        printer = LivePrinter(ui, progress)
        with still_running(ui, progress.running_since, lambda: printer.said_at,
                           printer.still_running, lambda: every_task(project)):
            report = run(progress.wrap(printer.event), printer.line)
            printer.flush()
    if ran is not None:
        ran(report)
    settle_exit_code(0 if report.ok else 1)
    printer.raise_lost()
    # with --json, on stderr
    print_report(report, ui, everything, every_task(project), project.key_names)
    advice = None
    if report.ok:
        advice = say_git_advice(ui, lambda: gitadvice.git_advice(project, report, before))
    exits.run_ended(project)
    return Shown(report, advice)


@contextlib.contextmanager
def table_when_stopped(ui: Ui, everything: bool, project: Project) -> Iterator[None]:
    """Ctrl-C during a run: the table of how each task ended (what ran and is
    recorded, what was interrupted, what never started), once the bar is
    gone, and why any task failed before it, then the interrupt goes on to
    end the command."""
    from gitpipe.engine.reports import ReproInterrupted

    try:
        yield
    except ReproInterrupted as stopped:
        print_table(stopped.report, ui, everything, every_task(project), project.key_names)
        print_failures(stopped.report, ui)
        raise


def every_task(project: Project) -> list[str]:
    """Every task of the pipeline in graph order: where partitions are judged
    consecutive when a list of some of them is drawn as runs."""
    return [str(node) for node in project.graph.nodes]
