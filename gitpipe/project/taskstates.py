"""Each task's state as `dag --status` and `report` show it: the status
verdict (project/status.py) and, for a stale task, what its last run did.

Reading only, like status: nothing runs and nothing is written but the
stat cache.
"""

from __future__ import annotations

from collections.abc import Hashable

from gitpipe.pipeline.dagview import State, TaskState
from gitpipe.project.root import Project
from gitpipe.project.staleness import Kind, Staleness
from gitpipe.project.status import status_of

FAILED = "failed"  # the result a failed run leaves in the run history


def task_states(project: Project, order: list[Hashable]) -> dict[str, TaskState]:
    """{task name: its state and reasons} for the nodes of `order` (topological)."""
    last = project.state.last_results()
    return {verdict.task: _state(verdict, last.get(verdict.task))
            for verdict in status_of(project, order).tasks}


def _state(verdict: Staleness, last_result: str | None) -> TaskState:
    reasons = tuple(str(reason) for reason in verdict.reasons)
    if not verdict.stale:
        return TaskState(State.UP_TO_DATE)
    if last_result == FAILED:  # never also `new stage`: it has run, and failed
        return TaskState(State.FAILED, ("its last run failed", *(
            str(r) for r in verdict.reasons if r.kind is not Kind.NEW)))
    if last_result is None and any(r.kind is Kind.NEW for r in verdict.reasons):
        return TaskState(State.NEVER_RUN, reasons)
    return TaskState(State.STALE, reasons)
