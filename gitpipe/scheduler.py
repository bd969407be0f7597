"""The ready-set loop: run a DAG's nodes through a `step` callable, in parallel.

Generic over nodes: it knows nothing of stages, only of `--jobs`, failures
and `keep_going`, so it is tested on integer graphs.
"""

from __future__ import annotations

import enum
import heapq
import logging
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import networkx as nx

log = logging.getLogger(__name__)


class Outcome(enum.Enum):
    RAN = "ran"
    SKIPPED = "skipped"        # up to date, nothing to do
    RESTORED = "restored"      # outs restored instead of running
    FAILED = "failed"
    BLOCKED = "blocked"        # an upstream failed
    CANCELLED = "cancelled"    # never started: a failure without keep-going, or Ctrl-C

    @property
    def ok(self) -> bool:
        return self in (Outcome.RAN, Outcome.SKIPPED, Outcome.RESTORED)


@dataclass(frozen=True)
class Limits:
    """How much may run at once."""

    jobs: int = 1
    keep_going: bool = False


Step = Callable[[Hashable], Outcome]


class Scheduler:
    """Runs `step(node)` for each node once all its predecessors succeeded."""

    def __init__(self, graph: nx.DiGraph, step: Step, limits: Limits,
                 on_abort: Callable[[], None] | None = None) -> None:
        self.graph = graph
        self.step = step
        self.limits = limits
        self.on_abort = on_abort
        self.outcomes: dict[Hashable, Outcome] = {}
        self.stop = threading.Event()

    def run(self) -> dict[Hashable, Outcome]:
        """Run everything runnable; returns every node's Outcome."""
        order = {n: i for i, n in enumerate(nx.topological_sort(self.graph))}
        waiting = {n: self.graph.in_degree(n) for n in self.graph}
        ready = [(order[n], n) for n, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        running: dict[Future[Outcome], Hashable] = {}
        with ThreadPoolExecutor(max_workers=max(1, self.limits.jobs)) as pool:
            try:
                while ready or running:
                    self._submit(pool, ready, running)
                    if not running:
                        break
                    self._collect(running, ready, waiting, order)
            except BaseException:
                # NOTE: before the pool's exit waits for running steps: they
                # only return once their commands are killed.
                self.stop.set()
                if self.on_abort is not None:
                    self.on_abort()
                raise
        for node in self.graph:
            self.outcomes.setdefault(node, Outcome.CANCELLED)
        return self.outcomes

    def _submit(self, pool: ThreadPoolExecutor, ready: list[tuple[int, Hashable]],
                running: dict[Future[Outcome], Hashable]) -> None:
        while ready and len(running) < max(1, self.limits.jobs) and not self.stop.is_set():
            _, node = heapq.heappop(ready)
            running[pool.submit(self.step, node)] = node

    def _collect(self, running: dict[Future[Outcome], Hashable],
                 ready: list[tuple[int, Hashable]], waiting: dict[Hashable, int],
                 order: dict[Hashable, int]) -> None:
        done, _ = wait(list(running), return_when=FIRST_COMPLETED)
        for future in done:
            node = running.pop(future)
            outcome = self.outcomes[node] = self._result(node, future)
            if not outcome.ok:
                self._block_downstream(node)
                if not self.limits.keep_going:
                    self.stop.set()
                continue
            for child in self.graph.successors(node):
                waiting[child] -= 1
                if waiting[child] == 0 and child not in self.outcomes:
                    heapq.heappush(ready, (order[child], child))

    def _block_downstream(self, node: Hashable) -> None:
        for child in nx.descendants(self.graph, node):
            self.outcomes.setdefault(child, Outcome.BLOCKED)

    @staticmethod
    def _result(node: Hashable, future: Future[Outcome]) -> Outcome:
        try:
            return future.result()
        except Exception:  # a step reports failures itself; a crash is one too
            log.exception("step for %s crashed", node)
            return Outcome.FAILED


def schedule(graph: nx.DiGraph, step: Step, limits: Limits) -> dict[Hashable, Outcome]:
    return Scheduler(graph, step, limits).run()
