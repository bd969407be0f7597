"""core/timeline.py: tracks for overlapping spans, the critical path of a DAG."""

from __future__ import annotations

import random

from gitpipe.core.digraph import Dag
from gitpipe.core.timeline import assign_slots, critical_path, kept_edges


def test_overlapping_spans_never_share_a_track_and_free_tracks_are_reused() -> None:
    spans = [(0, 10), (2, 5), (5, 8), (10, 12), (3, 11), (12, 12)]
    assert assign_slots(spans) == [0, 1, 1, 0, 2, 0]


def test_random_spans_use_as_many_tracks_as_run_at_once() -> None:
    rng = random.Random(7)
    for _ in range(200):
        spans = [(s, s + rng.randint(1, 20)) for s in (rng.randint(0, 50) for _ in range(15))]
        tracks = assign_slots(spans)
        for i, (a, b) in enumerate(spans):
            for j, (c, d) in enumerate(spans):
                if i < j and tracks[i] == tracks[j]:
                    assert b <= c or d <= a
        busiest = max(sum(1 for s, e in spans if s <= t < e) for t in range(80))
        assert max(tracks) + 1 == busiest


def diamond() -> Dag:
    graph = Dag()
    for node in "tabz":
        graph.add_node(node)
    for edge in ("ta", "tb", "az", "bz"):
        graph.add_edge(edge[0], edge[1])
    return graph


def test_the_critical_path_is_the_longest_chain_by_duration() -> None:
    durations = {"t": 1.0, "a": 5.0, "b": 1.0, "z": 1.0}
    ends = {"t": 1.0, "a": 6.0, "b": 2.0, "z": 7.0}
    assert critical_path(durations, ends, diamond().edges) == ["t", "a", "z"]
    durations["b"] = 9.0
    assert critical_path(durations, ends, diamond().edges) == ["t", "b", "z"]


def test_edges_pass_through_nodes_that_did_not_run() -> None:
    graph = diamond()
    assert sorted(kept_edges(graph, {"t", "z"})) == [("t", "z")]
    assert sorted(kept_edges(graph, {"t", "a", "z"})) == [("a", "z"), ("t", "a"), ("t", "z")]
    assert critical_path({"t": 1.0, "z": 1.0, "x": 5.0}, {"t": 1.0, "z": 3.0, "x": 2.0},
                         kept_edges(graph, {"t", "z"})) == ["x"]
    assert critical_path({}, {}, []) == []
