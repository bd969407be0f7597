"""What a repro is asked (`ReproOptions`) and what it answers (`Report`, its
`TaskResult`s, and the `Event`s a listener sees on the way).

Its own module so that `repro.py` (the use case) and `runner.py` (what
runs stages) both import these records and neither imports the other back.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from typing import Any, NamedTuple

from gitpipe.core.errors import GitpipeError
from gitpipe.core.jsondoc import header
from gitpipe.core.outcome import Outcome

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpipe.project.staleness import Reason

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
    # The targets and what depends on them, not what they need (DVC's --downstream).
    downstream: bool = False
    # Leave stages whose only change is data missing here that the remote has.
    allow_missing: bool = False
    # Named run-cache scopes read besides main; with `push`, the one written.
    scopes: tuple[str, ...] = ()
    # The targets alone, not what they need (DVC's --single-item).
    single_item: bool = False


class Said(NamedTuple):
    """Why a task failed, and what to do about it, kept apart until the one
    place they are printed frames each line (`cli/output.print_failures`):
    joined, a line of a name from git (`x\nhint: …`) would read as the hint."""

    message: str
    hint: str = ""

    @classmethod
    def of(cls, exc: BaseException, before: str = "") -> Said:
        """`exc` as said after `before` (`stage 'a': `): a GitpipeError's message
        and hint, anything else's text."""
        if isinstance(exc, GitpipeError):
            return cls(before + exc.message, exc.hint or "")
        return cls(before + str(exc))

    @classmethod
    def crash(cls, exc: Exception, task: str) -> Said:
        """A step that raised what gitpipe did not foresee: named as the CLI
        names an unexpected error, one line (its text may quote a name)."""
        from gitpipe.trust.checks import terminal_text

        return cls(f"internal error in stage {task!r}: {type(exc).__name__}: "
                   f"{terminal_text(str(exc))}", "rerun with --debug for a traceback")

    @classmethod
    def missing_out(cls, task: str, wdir: str, path: str) -> Said:
        """A command that succeeded without writing the out `path` (from the
        project's root, as every out is named), with the name the command
        itself would write it by: from its `wdir`."""
        if wdir in ("", "."):
            write = "make the command write it (it runs in the project's root)"
        else:
            write = (f"make the command write {posixpath.relpath(path, wdir)!r} "
                     f"(it runs in {wdir!r})")
        return cls(f"stage {task!r}: the command succeeded but did not create out {path!r}",
                   f"{write}, or take it out of the stage's outs")


class TaskResult(NamedTuple):
    """How one Task ended in this repro."""

    task: str
    outcome: Outcome
    duration: float = 0.0
    reasons: tuple[str, ...] = ()
    message: str = ""
    attempts: int = 0
    log: str | None = None
    details: tuple[Reason, ...] = ()  # `reasons` as Reasons, where the judge gave them
    hint: str = ""  # what to do about a failure (`message` says what went wrong)

    @classmethod
    def skipped(cls, task: str, note: Reason | None = None) -> TaskResult:
        """A task left as it is: up to date, or with the note said in its place
        (a frozen task's, project/staleness.frozen_note) as its one reason."""
        if note is None:
            return cls(task, Outcome.SKIPPED)
        return cls(task, Outcome.SKIPPED, reasons=(str(note),), details=(note,))

    def to_json(self, dry_run: bool = False) -> dict[str, Any]:
        """One entry of a repro or backfill document's `tasks` (docs/reference/json.md)."""
        stage, _, partition = self.task.partition("@")
        outcome = self.outcome.value
        if dry_run:
            outcome = _WOULD.get(outcome, outcome)
        return {"task": self.task, "stage": stage, "partition": partition or None,
                "outcome": outcome, "ok": self.outcome.ok,
                "duration": round(self.duration, 3), "attempts": self.attempts,
                "reasons": list(self.reasons),
                "reasons_detail": [reason.to_json() for reason in self.details],
                "message": self.message or None, "hint": self.hint or None, "log": self.log}


# What a dry run's outcomes mean: what would happen.
# A task `repro` will refuse would fail; what depends on it would be blocked
# (engine/refusals.py).
_WOULD = {Outcome.RAN.value: "would_run", Outcome.RECORDED.value: "would_record",
          Outcome.FAILED.value: "would_fail", Outcome.BLOCKED.value: "would_block"}
_DRY_OUTCOMES = (Outcome.RAN, Outcome.RECORDED, Outcome.FAILED, Outcome.BLOCKED, Outcome.SKIPPED)


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

    def to_json(self, kind: str = "repro") -> dict[str, Any]:
        """The `repro --json` (or `backfill --json`) document (docs/reference/json.md)."""
        tasks = [result.to_json(self.dry_run) for result in self.results]
        names = ([_WOULD.get(o.value, o.value) for o in _DRY_OUTCOMES] if self.dry_run
                 else [o.value for o in Outcome])
        totals = dict.fromkeys(names, 0)
        for task in tasks:
            totals[task["outcome"]] += 1
        return {**header(kind), "ok": self.ok, "dry_run": self.dry_run, "tasks": tasks,
                "totals": {"tasks": len(tasks), **totals}}


class ReproInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, SIGHUP) stopped a run: `report` says how each task
    ended (ran and recorded, interrupted, cancelled, skipped). A
    KeyboardInterrupt still, for a caller that does not look at it."""

    def __init__(self, report: Report) -> None:
        super().__init__()
        self.report = report


class Event(NamedTuple):
    """A progress event for whoever renders: 'plan' (first, once; no task, the
    message is how many tasks the run considers), then per task 'check' (its
    turn came: it is judged, then restored or run), 'start' (its command
    starts), 'skip', 'retry', 'done', 'fail', 'restored', 'recorded', 'warn'
    (something went wrong and was worked around)."""

    task: str
    kind: str
    message: str = ""


Listener = Callable[[Event], None]


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
