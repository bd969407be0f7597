"""The ready-set loop: run a DAG's nodes through a `step` callable, in parallel.

Generic over nodes: it knows nothing of stages, only of `--jobs`, named
concurrency groups (a stage's `concurrency`, pools), sensors, failures and
`keep_going`, so it is tested on integer graphs. Backfill and repro share it.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from gitpipe.core.digraph import descendants, topological_order
from gitpipe.core.outcome import Outcome
from gitpipe.engine.stepthreads import StepThreads


@dataclass(frozen=True)
class Gate:
    """A sensor: `check()` until it is true, every `poke` seconds, until `timeout`."""

    check: Callable[[], bool]
    poke: float
    timeout: float
    what: str


@dataclass(frozen=True)
class Limits:
    """How much may run at once: `jobs` in all, and at most `group_limits[g]` of the
    nodes for which `groups(node)` names g."""

    jobs: int = 1
    keep_going: bool = False
    groups: Callable[[Hashable], tuple[str, ...]] | None = None
    group_limits: dict[str, int] = field(default_factory=dict, hash=False)


Step = Callable[[Hashable], Outcome]


@dataclass(order=True)
class _Sensing:
    next_poke: float
    order: int
    node: Hashable = field(compare=False)
    gate: Gate = field(compare=False)
    deadline: float = field(compare=False, default=0.0)


class Scheduler:
    """Runs `step(node)` for each node once all its predecessors succeeded.

    A node with a gate waits for it *before* taking a slot (like Airflow's
    reschedule mode): sensing holds no job and no group slot.
    """

    def __init__(self, graph: Any, step: Step, limits: Limits,
                 on_abort: Callable[[], None] | None = None,
                 gate: Callable[[Hashable], Gate | None] | None = None) -> None:
        self.graph = graph
        self.step = step
        self.limits = limits
        self.on_abort = on_abort
        self.gate = gate
        self.outcomes: dict[Hashable, Outcome] = {}
        self.messages: dict[Hashable, str] = {}
        self.sensing: list[_Sensing] = []
        self.running: set[Hashable] = set()
        self.stop = threading.Event()
        self._order = {n: i for i, n in enumerate(topological_order(graph))}
        self._in_group: dict[str, int] = {}
        # Ready nodes that found one of their groups full, in order, by the groups
        # they are in (nodes in the same groups fit or not alike): a class's first
        # node is looked at again when one of its groups frees a slot, not at
        # every hand-out (the partitions of a stage over its concurrency would
        # each be looked at each time: quadratic in a backfill).
        self._parked: dict[tuple[str, ...], list[tuple[int, Hashable]]] = {}
        self._classes: dict[str, set[tuple[str, ...]]] = {}
        self._group_memo: dict[Hashable, tuple[str, ...]] = {}

    def run(self) -> dict[Hashable, Outcome]:
        """Run everything runnable; returns every node's Outcome."""
        waiting = {n: self.graph.in_degree(n) for n in self.graph}
        ready: list[tuple[int, Hashable]] = []
        for node, count in waiting.items():
            if count == 0:
                self._make_ready(node, ready)
        with StepThreads(self.step, self.limits.jobs) as pool:
            try:
                while (ready and not self.stop.is_set()) or self.running or (
                        self.sensing and not self.stop.is_set()):
                    self._poke(ready)
                    self._submit(pool, ready)
                    self._collect(pool, ready, waiting)
            except BaseException:
                # Before the pool's exit waits for running steps: they
                # only return once their commands are killed.
                self.stop.set()
                if self.on_abort is not None:
                    self.on_abort()
                raise
        for node in self.graph:
            self.outcomes.setdefault(node, Outcome.CANCELLED)
        return self.outcomes

    def _make_ready(self, node: Hashable, ready: list[tuple[int, Hashable]]) -> None:
        gate = self.gate(node) if self.gate is not None else None
        if gate is None:
            heapq.heappush(ready, (self._order[node], node))
            return
        now = time.monotonic()
        heapq.heappush(self.sensing, _Sensing(now, self._order[node], node, gate,
                                              now + gate.timeout))

    def _poke(self, ready: list[tuple[int, Hashable]]) -> None:
        now = time.monotonic()
        while self.sensing and self.sensing[0].next_poke <= now and not self.stop.is_set():
            item = heapq.heappop(self.sensing)
            if _safe_check(item.gate):
                heapq.heappush(ready, (item.order, item.node))
            elif now >= item.deadline:
                self.messages[item.node] = (f"timed out after {item.gate.timeout:g}s waiting "
                                            f"for {item.gate.what}")
                self._fail(item.node)
            else:
                item.next_poke = min(now + item.gate.poke, item.deadline)
                heapq.heappush(self.sensing, item)

    def _groups(self, node: Hashable) -> tuple[str, ...]:
        groups = self._group_memo.get(node)
        if groups is None:
            named = self.limits.groups(node) if self.limits.groups is not None else ()
            groups = self._group_memo[node] = tuple(
                g for g in named if g in self.limits.group_limits)
        return groups

    def _fits(self, node: Hashable) -> bool:
        return all(self._in_group.get(g, 0) < self.limits.group_limits[g]
                   for g in self._groups(node))

    def _submit(self, pool: StepThreads, ready: list[tuple[int, Hashable]]) -> None:
        while ready and len(self.running) < max(1, self.limits.jobs) and not self.stop.is_set():
            item = heapq.heappop(ready)
            groups = self._groups(item[1])
            if not self._fits(item[1]):
                heapq.heappush(self._parked.setdefault(groups, []), item)
                for group in groups:
                    self._classes.setdefault(group, set()).add(groups)
                continue
            for group in groups:
                self._in_group[group] = self._in_group.get(group, 0) + 1
            pool.submit(item[1])
            self.running.add(item[1])

    def _release(self, node: Hashable, ready: list[tuple[int, Hashable]]) -> None:
        """A finished node's groups each free a slot: the first parked node of each
        class in such a group is ready again (it fits now, or none of its class do)."""
        for group in self._groups(node):
            self._in_group[group] -= 1
            for groups in self._classes.get(group, ()):
                parked = self._parked[groups]
                if parked:
                    heapq.heappush(ready, heapq.heappop(parked))

    def _collect(self, pool: StepThreads, ready: list[tuple[int, Hashable]],
                 waiting: dict[Hashable, int]) -> None:
        timeout = None
        if self.sensing:
            timeout = max(0.0, self.sensing[0].next_poke - time.monotonic())
        if not self.running:
            if timeout is not None:
                time.sleep(timeout)
            return
        for node, result in pool.finished(timeout):
            self.running.discard(node)
            self._release(node, ready)
            outcome = self.outcomes[node] = self._result(node, result)
            if outcome is Outcome.CANCELLED:
                continue  # the step never started (the run stopped): nor do its descendants
            if not outcome.ok:
                self._fail(node, outcome)
                continue
            for child in self.graph.successors(node):
                waiting[child] -= 1
                if waiting[child] == 0 and child not in self.outcomes:
                    self._make_ready(child, ready)

    def _fail(self, node: Hashable, outcome: Outcome = Outcome.FAILED) -> None:
        self.outcomes[node] = outcome
        for child in descendants(self.graph, node):
            self.outcomes.setdefault(child, Outcome.BLOCKED)
        if not self.limits.keep_going:
            self.stop.set()

    @staticmethod
    def _result(node: Hashable, result: Outcome | BaseException) -> Outcome:
        if isinstance(result, Outcome):
            return result
        if not isinstance(result, Exception):
            raise result  # SystemExit and the like end the run, as from the step itself
        # A step reports failures itself; a crash is one too.
        _log().error("step for %s crashed", node, exc_info=result)
        return Outcome.FAILED


def _safe_check(gate: Gate) -> bool:
    try:
        return gate.check()
    except Exception as exc:  # a flaky remote is "not yet", not a crash
        _log().debug("sensor for %s: %s", gate.what, exc)
        return False


def run_until_stopped(scheduler: Scheduler) -> tuple[dict[Hashable, Outcome], bool]:
    """Run the scheduler; its outcomes, and whether Ctrl-C (a KeyboardInterrupt)
    stopped it. Stopped, every running step has returned (its command killed)
    and the outcomes hold only the nodes collected before the stop."""
    try:
        return scheduler.run(), False
    except KeyboardInterrupt:
        return dict(scheduler.outcomes), True


def _log() -> Any:
    """This module's logger, imported when something is to be said: a build
    that goes well never loads `logging`."""
    import logging

    return logging.getLogger(__name__)


def schedule(graph: Any, step: Step, limits: Limits) -> dict[Hashable, Outcome]:
    return Scheduler(graph, step, limits).run()
