"""The Scheduler on integer DAGs: ordering, failures, keep-going and --jobs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable

import networkx as nx
import pytest

from gitpipe.engine.scheduler import Limits, Outcome, Scheduler, schedule

# NOTE: only a guard against a hung test; no assertion depends on elapsed time.
DEADLOCK_GUARD = 20


def dag(nodes: Iterable[int], edges: Iterable[tuple[int, int]]) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(edges)
    return g


class Recorder:
    """A step that logs start/end events under a lock and tracks concurrency."""

    def __init__(self, outcome: Callable[[Hashable], Outcome] = lambda node: Outcome.RAN,
                 during: Callable[[Hashable], None] = lambda node: None) -> None:
        self.outcome = outcome
        self.during = during
        self.lock = threading.Lock()
        self.events: list[tuple[str, Hashable]] = []
        self.active = 0
        self.max_active = 0

    def __call__(self, node: Hashable) -> Outcome:
        with self.lock:
            self.events.append(("start", node))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            self.during(node)
            return self.outcome(node)
        finally:
            with self.lock:
                self.active -= 1
                self.events.append(("end", node))

    def started(self) -> list[Hashable]:
        return [node for kind, node in self.events if kind == "start"]

    def index(self, kind: str, node: Hashable) -> int:
        return self.events.index((kind, node))


def fail_on(*bad: int) -> Callable[[Hashable], Outcome]:
    return lambda node: Outcome.FAILED if node in bad else Outcome.RAN


def run(g: nx.DiGraph, step: Recorder, jobs: int = 1,
        keep_going: bool = False) -> dict[Hashable, Outcome]:
    return Scheduler(g, step, Limits(jobs=jobs, keep_going=keep_going)).run()


# ordering --------------------------------------------------------------------------

@pytest.mark.parametrize("jobs", [1, 4])
def test_every_node_runs_once_after_all_its_predecessors(jobs: int) -> None:
    g = nx.gnp_random_graph(150, 0.04, seed=11, directed=True)
    g = dag(g.nodes, [(u, v) for u, v in g.edges if u < v])
    step = Recorder()
    outcomes = run(g, step, jobs=jobs)
    assert sorted(step.started()) == sorted(g.nodes)
    assert outcomes == {node: Outcome.RAN for node in g.nodes}
    for u, v in g.edges:
        assert step.index("end", u) < step.index("start", v), (u, v)


def test_skipped_and_restored_count_as_success_for_children() -> None:
    g = dag([0, 1, 2], [(0, 1), (1, 2)])
    kinds = {0: Outcome.SKIPPED, 1: Outcome.RESTORED, 2: Outcome.RAN}
    outcomes = run(g, Recorder(kinds.__getitem__))
    assert outcomes == kinds


def test_schedule_function_is_the_scheduler() -> None:
    g = dag([0, 1], [(0, 1)])
    assert schedule(g, Recorder(), Limits()) == {0: Outcome.RAN, 1: Outcome.RAN}


def test_empty_graph() -> None:
    assert run(nx.DiGraph(), Recorder()) == {}


# failures --------------------------------------------------------------------------

def test_failure_blocks_descendants_but_independent_nodes_run_with_keep_going() -> None:
    # 0 -> 1 -> 2 ; 0 -> 3 ; 4 -> 5 ; 6 ; and 7 needs both 3 and 5
    g = dag(range(8), [(0, 1), (1, 2), (0, 3), (4, 5), (3, 7), (5, 7)])
    step = Recorder(fail_on(0))
    outcomes = run(g, step, jobs=2, keep_going=True)
    assert outcomes == {
        0: Outcome.FAILED, 1: Outcome.BLOCKED, 2: Outcome.BLOCKED, 3: Outcome.BLOCKED,
        4: Outcome.RAN, 5: Outcome.RAN, 6: Outcome.RAN, 7: Outcome.BLOCKED,
    }
    assert set(step.started()) == {0, 4, 5, 6}


def test_diamond_child_blocked_when_one_parent_fails() -> None:
    g = dag([0, 1, 2, 3], [(0, 1), (0, 2), (1, 3), (2, 3)])
    step = Recorder(fail_on(2))
    outcomes = run(g, step, jobs=3, keep_going=True)
    assert outcomes == {0: Outcome.RAN, 1: Outcome.RAN, 2: Outcome.FAILED,
                        3: Outcome.BLOCKED}
    assert 3 not in step.started()


def test_without_keep_going_nothing_starts_after_a_failure() -> None:
    g = dag(range(6), [])
    calls: list[Hashable] = []

    def first_call_fails(node: Hashable) -> Outcome:
        calls.append(node)
        return Outcome.FAILED if len(calls) == 1 else Outcome.RAN

    step = Recorder(first_call_fails)
    outcomes = run(g, step, jobs=1, keep_going=False)
    assert len(calls) == 1
    failed = calls[0]
    assert outcomes[failed] is Outcome.FAILED
    assert {n: o for n, o in outcomes.items() if n != failed} == {
        n: Outcome.CANCELLED for n in g.nodes if n != failed}


def test_without_keep_going_descendants_are_blocked_and_others_cancelled() -> None:
    # 0 -> {1, 2, 3}; each child has its own grandchild (1 -> 4, 2 -> 5, 3 -> 6).
    g = dag(range(7), [(0, 1), (0, 2), (0, 3), (1, 4), (2, 5), (3, 6)])
    calls: list[Hashable] = []

    def first_child_fails(node: Hashable) -> Outcome:
        calls.append(node)
        return Outcome.FAILED if len(calls) == 2 else Outcome.RAN

    outcomes = run(g, Recorder(first_child_fails), jobs=1, keep_going=False)
    assert len(calls) == 2 and calls[0] == 0
    failed = calls[1]
    grandchild = {1: 4, 2: 5, 3: 6}[failed]  # type: ignore[index]
    expected = {n: Outcome.CANCELLED for n in g.nodes}
    expected.update({0: Outcome.RAN, failed: Outcome.FAILED, grandchild: Outcome.BLOCKED})
    assert outcomes == expected


def test_a_step_that_never_started_leaves_its_descendants_cancelled() -> None:
    # A step answers CANCELLED when the run stopped while it waited for a
    # command slot (engine/slots.py): nothing of it ran, so its descendants are
    # cancelled as it is, never blocked as by a failure, and the rest goes on.
    g = dag(range(4), [(0, 1), (1, 2)])
    cancel_0 = Recorder(lambda node: Outcome.CANCELLED if node == 0 else Outcome.RAN)
    outcomes = run(g, cancel_0, jobs=1, keep_going=True)
    assert outcomes == {0: Outcome.CANCELLED, 1: Outcome.CANCELLED, 2: Outcome.CANCELLED,
                        3: Outcome.RAN}
    assert sorted(cancel_0.started()) == [0, 3]


def test_failure_in_chain_blocks_the_rest_without_keep_going() -> None:
    g = dag(range(5), [(i, i + 1) for i in range(4)])
    outcomes = run(g, Recorder(fail_on(1)), keep_going=False)
    assert outcomes == {0: Outcome.RAN, 1: Outcome.FAILED, 2: Outcome.BLOCKED,
                        3: Outcome.BLOCKED, 4: Outcome.BLOCKED}


def test_step_raising_counts_as_failed(caplog: pytest.LogCaptureFixture) -> None:
    g = dag([0, 1, 2], [(0, 1)])

    def boom(node: Hashable) -> Outcome:
        if node == 0:
            raise RuntimeError("disk on fire")
        return Outcome.RAN

    step = Recorder(boom)
    outcomes = run(g, step, jobs=2, keep_going=True)
    assert outcomes == {0: Outcome.FAILED, 1: Outcome.BLOCKED, 2: Outcome.RAN}
    assert "disk on fire" in caplog.text


def test_outcome_ok_property() -> None:
    assert {o for o in Outcome if o.ok} == {Outcome.RAN, Outcome.SKIPPED, Outcome.RESTORED,
                                            Outcome.RECORDED}


# concurrency -----------------------------------------------------------------------

def test_jobs_1_never_runs_two_steps_at_once() -> None:
    g = dag(range(12), [])
    overlap = threading.Event()
    step = Recorder()

    def linger(node: Hashable) -> None:
        # Give a second worker every chance to enter while this one is active.
        for _ in range(200):
            if step.active > 1:
                overlap.set()
            threading.Event().wait(0.0001)

    step.during = linger
    outcomes = run(g, step, jobs=1)
    assert set(outcomes.values()) == {Outcome.RAN}
    assert step.max_active == 1
    assert not overlap.is_set()
    # Sequential: every start is followed by its own end before the next start.
    assert step.events == [e for node in step.started() for e in (("start", node),
                                                                  ("end", node))]


def test_jobs_3_runs_three_at_once_and_never_more() -> None:
    g = dag(range(9), [])
    barrier = threading.Barrier(3, timeout=DEADLOCK_GUARD)
    step = Recorder(during=lambda node: barrier.wait())
    outcomes = run(g, step, jobs=3)
    # Each batch of 3 met at the barrier: impossible unless 3 steps were active together.
    assert outcomes == {node: Outcome.RAN for node in g.nodes}
    assert step.max_active == 3


def test_jobs_2_cannot_reach_a_barrier_of_three() -> None:
    g = dag(range(3), [])
    barrier = threading.Barrier(3, timeout=0.5)
    step = Recorder(during=lambda node: barrier.wait())
    outcomes = run(g, step, jobs=2, keep_going=True)
    # The barrier breaks (its timeout is a deadlock guard, not a measurement): with 2 jobs
    # three steps are never active at once, so every step fails.
    assert step.max_active == 2
    assert set(outcomes.values()) == {Outcome.FAILED}


def test_independent_branches_overlap_with_jobs() -> None:
    # Two chains; their middle steps must meet, proving branches run side by side.
    g = dag(range(6), [(0, 1), (1, 2), (3, 4), (4, 5)])
    barrier = threading.Barrier(2, timeout=DEADLOCK_GUARD)
    step = Recorder(during=lambda node: barrier.wait() if node in (1, 4) else None)
    outcomes = run(g, step, jobs=2)
    assert set(outcomes.values()) == {Outcome.RAN}


# scale -----------------------------------------------------------------------------

def test_two_thousand_node_chain_and_fan_completes() -> None:
    chain = [(i, i + 1) for i in range(999)]
    fan = [(999, 1000 + i) for i in range(1000)]
    g = dag(range(2000), chain + fan)
    step = Recorder()
    outcomes = run(g, step, jobs=8)
    assert len(outcomes) == 2000
    assert set(outcomes.values()) == {Outcome.RAN}
    assert step.started()[:1000] == list(range(1000))
    assert step.max_active <= 8


def test_two_thousand_node_chain_failure_blocks_all_downstream() -> None:
    g = dag(range(2000), [(i, i + 1) for i in range(1999)])
    outcomes = run(g, Recorder(fail_on(0)), jobs=4, keep_going=True)
    assert outcomes[0] is Outcome.FAILED
    assert sum(o is Outcome.BLOCKED for o in outcomes.values()) == 1999
