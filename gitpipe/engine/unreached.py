"""A run's closing report once its scheduler stops. The tasks a stopped run
never reached (a failure without --keep-going, or Ctrl-C) that are up to
date end `skipped`, as they would have, and only the others `cancelled`
(they would have run). After Ctrl-C the report is raised, not returned."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any, Protocol

from gitpipe.core.outcome import Outcome
from gitpipe.engine.reports import Report, ReproInterrupted, ReproOptions, TaskResult
from gitpipe.project.root import Project
from gitpipe.project.status import status_of


class Reached(Protocol):
    """What the runner knows at the end: each stepped task's result, the tasks
    the read-only prepass judged up to date, the options."""

    results: dict[str, TaskResult]
    settled: frozenset[str]
    options: ReproOptions

    def result(self, node: Hashable, outcome: Outcome, message: str = "") -> TaskResult: ...


def closing_report(project: Project, nodes: list[Hashable],
                   ended: tuple[Mapping[Hashable, Outcome], Mapping[Hashable, str]],
                   run: Reached, stopped: bool) -> Report:
    """The report of every planned node; raised as ReproInterrupted when Ctrl-C
    `stopped` the run (the lock already holds what finished)."""
    outcomes, messages = ended
    settled = settle_unreached(project, nodes, outcomes, run)
    blockers = _blockers(project.graph, nodes, settled)
    report = Report([_said_why(run.result(node, settled[node], messages.get(node, "")),
                               blockers.get(node, ()), stopped) for node in nodes])
    if stopped:
        raise ReproInterrupted(report)
    return report


def settle_unreached(project: Project, nodes: list[Hashable],
                     outcomes: Mapping[Hashable, Outcome], run: Reached) -> dict[Hashable, Outcome]:
    """Every node's outcome: the scheduler's, and SKIPPED for each node no step
    reached that is up to date, as `status` judges it now (reading only: the
    ProjectLock is released; a second Ctrl-C while it judges ends gitpipe at
    once, with the lock already written)."""
    settled = {node: outcomes.get(node, Outcome.CANCELLED) for node in nodes}
    unreached = [node for node in nodes if str(node) not in run.results
                 and settled[node] is Outcome.CANCELLED]
    for node in unreached:
        if str(node) in run.settled:
            settled[node] = Outcome.SKIPPED
    if run.options.force:
        return settled
    for node in _up_to_date(project, _judgeable(project.graph, unreached, settled, run)):
        settled[node] = Outcome.SKIPPED
    return settled


def _judgeable(graph: Any, unreached: list[Hashable], settled: dict[Hashable, Outcome],
               run: Reached) -> list[Hashable]:
    """The unreached nodes a read-only judgement can speak for, in plan order:
    each upstream node ended well (or is judged with them), and none of them
    is a `deterministic: false` stage that ran (the runner would rerun after it)."""
    chosen: dict[Hashable, None] = {}
    for node in unreached:
        if str(node) in run.options.forced or settled[node] is Outcome.SKIPPED:
            continue
        if all(up in chosen or _ended_well(graph, up, settled) for up in graph.predecessors(node)):
            chosen[node] = None
    return list(chosen)


def _ended_well(graph: Any, up: Hashable, settled: dict[Hashable, Outcome]) -> bool:
    outcome = settled.get(up, Outcome.SKIPPED)  # not planned: as it is
    if outcome is Outcome.RAN:
        return bool(graph.nodes[up]["task"].stage.deterministic)
    return outcome.ok


def _up_to_date(project: Project, order: list[Hashable]) -> list[Hashable]:
    if not order:
        return []
    verdicts = status_of(project, order).tasks
    return [node for node, verdict in zip(order, verdicts, strict=True) if not verdict.stale]


def _blockers(graph: Any, nodes: list[Hashable],
              settled: dict[Hashable, Outcome]) -> dict[Hashable, frozenset[str]]:
    """Each blocked node's failed (or interrupted) upstream tasks: one pass in
    plan order (topological), each node taking its predecessors' sets. A
    blocked task is blocked only through planned ones (the scheduler's graph)."""
    found: dict[Hashable, frozenset[str]] = {}
    for node in nodes:
        if settled[node] is not Outcome.BLOCKED:
            continue
        mine: set[str] = set()
        for up in graph.predecessors(node):
            if settled.get(up) in (Outcome.FAILED, Outcome.INTERRUPTED):
                mine.add(str(up))
            mine.update(found.get(up, ()))
        found[node] = frozenset(mine)
    return found


def _said_why(result: TaskResult, blockers: Iterable[str], stopped: bool) -> TaskResult:
    """A task that never started says why, in the table's `why` column and the
    JSON's reasons: which upstream failure blocked it, or that the run stopped
    before its turn (and how to run what a failure does not block)."""
    if result.reasons or result.outcome not in (Outcome.BLOCKED, Outcome.CANCELLED):
        return result
    if result.outcome is Outcome.BLOCKED:
        failed = sorted(blockers)
        shown = ", ".join(repr(name) for name in failed[:3])
        more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
        why = f"upstream {shown}{more} did not complete" if failed else "an upstream stage failed"
    elif stopped:
        why = "not started: the run was interrupted"
    else:
        why = "not started: the run stopped at a failure (--keep-going runs what it does not block)"
    return result._replace(reasons=(why,))
