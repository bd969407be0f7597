"""What a repro is asked (`ReproOptions`) and what it answers (`Report`, its
`TaskResult`s, and the `Event`s a listener sees on the way).

Its own module so that `repro.py` (the use case) and `runner.py` (what
runs stages) both import these records and neither imports the other back.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NamedTuple

from gitpipe.core.outcome import Outcome

# NamedTuples, not dataclasses, like the records of the status path
# (docs/explanation/architecture.md): a no-op repro imports this module, and dataclasses
# import inspect and generate each class's methods when imported.


class ReproOptions(NamedTuple):
    """What `gitpipe repro` was asked to do (`options._replace(jobs=4)` for a variant)."""

    targets: tuple[str, ...] = ()
    jobs: int | None = None
    force: bool = False
    dry_run: bool = False
    keep_going: bool = False
    retry_backoff: float = 1.0
    pull: bool = False
    push: bool = False
    remote: str | None = None
    run_cache: bool = True
    executor: str | None = None
    forced: frozenset[str] = frozenset()


class TaskResult(NamedTuple):
    """How one Task ended in this repro."""

    task: str
    outcome: Outcome
    duration: float = 0.0
    reasons: tuple[str, ...] = ()
    message: str = ""
    attempts: int = 0
    log: str | None = None


class Report(NamedTuple):
    """Every planned Task's result, in plan order."""

    results: list[TaskResult] = []  # noqa: RUF012 - a report is read, never changed
    dry_run: bool = False

    @property
    def failed(self) -> list[TaskResult]:
        return [r for r in self.results if r.outcome in (Outcome.FAILED, Outcome.BLOCKED)]

    @property
    def ok(self) -> bool:
        return not any(not r.outcome.ok for r in self.results)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)


class Event(NamedTuple):
    """A progress event for whoever renders: 'start', 'skip', 'retry', 'done', 'fail',
    'restored', 'warn' (something went wrong and was worked around)."""

    task: str
    kind: str
    message: str = ""


Listener = Callable[[Event], None]


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
