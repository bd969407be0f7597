"""A repro run and its report, as `gitpipe repro` prints them: the live lines
(and the progress bar on a terminal), the seal, the table. No click: the
click command (cli/pipeline.py) and the console script's quick door
(cli/launch.py, for plain `repro [-j N]`) both run a repro through here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

from gitpipe.cli.console import Ui
from gitpipe.cli.output import LivePrinter, print_failures, print_report, print_table
from gitpipe.cli.progress import RunProgress

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpipe.engine.reports import Report, ReproOptions
    from gitpipe.usecases.api import Project


def retry_backoff() -> float:
    """The first wait before a stage's retry, in seconds (GITPIPE_RETRY_BACKOFF)."""
    return float(os.environ.get("GITPIPE_RETRY_BACKOFF", "1"))


def plain_options(jobs: int | None) -> ReproOptions:
    """The options of `gitpipe repro [-j N]`: every flag at its default."""
    from gitpipe.engine.reports import ReproOptions

    return ReproOptions((), jobs, retry_backoff=retry_backoff())


def run_repro(project: Project, options: ReproOptions, ui: Ui, everything: bool,
              started_ns: int, settle_exit_code: Callable[[int], None]) -> Report:
    """Run the repro with live output, settle plain `repro`'s seal when it may,
    say the exit code (before printing: a reader that leaves does not change
    it) and print the table."""
    from gitpipe.fastpath import noop, seal

    with table_when_stopped(ui, everything, project), \
            RunProgress(ui, "repro") as progress:  # its total: the engine's plan
        printer = LivePrinter(ui, progress)
        report = project.repro(options=options, listener=progress.wrap(printer.event),
                               sink=printer.line)
    if noop.seals_repro(options):
        seal.settle(project, noop.REPRO, noop.repro_answer(report), started_ns)
    settle_exit_code(0 if report.ok else 1)
    printer.raise_lost()
    print_report(report, ui, everything, every_task(project))  # with --json, on stderr
    return report


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
        print_table(stopped.report, ui, everything, every_task(project))
        print_failures(stopped.report, ui)
        raise


def every_task(project: Project) -> list[str]:
    """Every task of the pipeline in graph order: where partitions are judged
    consecutive when a list of some of them is drawn as runs."""
    return [str(node) for node in project.graph.nodes]
