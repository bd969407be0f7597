"""The Scheduler's concurrency groups (a stage's `concurrency`, pools): never more
than a group's limit at once, every node still run, and each node's groups
asked once, however many nodes wait for a full group."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitpipe.core.digraph import descendants
from gitpipe.engine.scheduler import Limits, Outcome, Scheduler


class GroupRecorder:
    """A step that counts, under a lock, how many nodes of each group run at once."""

    def __init__(self, groups: dict[Hashable, tuple[str, ...]], bad: set[Hashable]) -> None:
        self.groups = groups
        self.bad = bad
        self.lock = threading.Lock()
        self.active: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.started: list[Hashable] = []
        self.ended: set[Hashable] = set()
        self.before_end: dict[Hashable, set[Hashable]] = {}

    def __call__(self, node: Hashable) -> Outcome:
        with self.lock:
            self.started.append(node)
            self.before_end[node] = set(self.ended)
            for group in self.groups[node]:
                self.active[group] = self.active.get(group, 0) + 1
                self.peak[group] = max(self.peak.get(group, 0), self.active[group])
        time.sleep(0.001 * (hash(node) % 3))  # finishing in another order than starting
        with self.lock:
            for group in self.groups[node]:
                self.active[group] -= 1
            self.ended.add(node)
        return Outcome.FAILED if node in self.bad else Outcome.RAN


@st.composite
def grouped_dags(draw: st.DrawFn) -> tuple[nx.DiGraph, dict[int, tuple[str, ...]],
                                           dict[str, int], set[int], int]:
    size = draw(st.integers(1, 40))
    graph = nx.DiGraph()
    graph.add_nodes_from(range(size))
    for child in range(1, size):
        for parent in draw(st.sets(st.integers(0, child - 1), max_size=2)):
            graph.add_edge(parent, child)
    limits = {f"stage:{s}": draw(st.integers(1, 3)) for s in "abc"}
    limits.update({f"pool:{p}": draw(st.integers(1, 2)) for p in "xy"})
    groups = {}
    for node in range(size):
        stage = (f"stage:{draw(st.sampled_from('abcd'))}",)  # stage d: no limit
        pool = draw(st.sampled_from([(), ("pool:x",), ("pool:y",)]))
        groups[node] = stage + pool
    bad = draw(st.sets(st.integers(0, size - 1), max_size=3))
    return graph, groups, limits, bad, draw(st.integers(1, 6))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grouped_dags())
def test_groups_hold_their_limits_and_every_node_is_judged_as_from_scratch(
        case: tuple[nx.DiGraph, dict[int, tuple[str, ...]], dict[str, int], set[int], int],
) -> None:
    """With keep-going, what a run with groups and jobs ends with is what the
    graph alone says (the descendants of a bad node blocked, the other bad
    nodes failed, the rest ran), every node after its predecessors, no group over its limit."""
    graph, groups, limits, bad, jobs = case
    step = GroupRecorder(groups, bad)
    outcomes = Scheduler(graph, step, Limits(jobs=jobs, keep_going=True,
                                             groups=groups.__getitem__,
                                             group_limits=limits)).run()
    blocked = {d for node in bad for d in descendants(graph, node)}
    expected = {node: Outcome.BLOCKED if node in blocked else
                Outcome.FAILED if node in bad else Outcome.RAN for node in graph}
    assert outcomes == expected
    assert len(step.started) == len(set(step.started))
    for node in step.started:
        assert set(graph.predecessors(node)) <= step.before_end[node]
    for group, peak in step.peak.items():
        assert peak <= limits.get(group, len(graph)), (group, peak)


def test_nodes_waiting_for_a_full_group_are_not_looked_at_on_every_hand_out() -> None:
    """365 partitions of a stage of concurrency 8 under 16 steps at once: each
    node's groups are asked once, not once for every node handed out before it
    (which made a backfill's scheduling quadratic in its partitions)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(365))
    asked: list[Hashable] = []

    def groups(node: Hashable) -> tuple[str, ...]:
        asked.append(node)
        return ("stage:day",)

    recorder = GroupRecorder(dict.fromkeys(range(365), ("stage:day",)), set())
    outcomes = Scheduler(graph, recorder, Limits(jobs=16, groups=groups,
                                                 group_limits={"stage:day": 8})).run()
    assert set(outcomes.values()) == {Outcome.RAN}
    assert recorder.peak["stage:day"] <= 8
    assert len(asked) == len(graph), len(asked)
