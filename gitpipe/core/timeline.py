"""Runs laid out in time: each span on the lowest track free when it starts (so
overlapping spans never share a track), and the critical path, the chain of
dependent runs that decided when the whole ended. Pure functions of numbers
and a graph: the trace export and the report's timeline both lay out runs."""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable, Mapping, Sequence

from gitpipe.core.digraph import Dag, topological_order


def assign_slots(spans: Sequence[tuple[int, int]]) -> list[int]:
    """The track (0, 1, …) of each `(start, end)` span, in the spans' order.

    Taken by start time, each span goes on the lowest track whose last span
    has ended by its start (`end <= start`), so no two spans on one track
    overlap and as few tracks are used as the most spans running at once.
    """
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0], spans[i][1], i))
    busy: list[tuple[int, int]] = []  # (end, track) of the spans still running
    free: list[int] = []
    tracks = [0] * len(spans)
    opened = 0
    for index in order:
        start, end = spans[index]
        while busy and busy[0][0] <= start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            track = heapq.heappop(free)
        else:
            track, opened = opened, opened + 1
        tracks[index] = track
        heapq.heappush(busy, (max(start, end), track))
    return tracks


def kept_edges(graph: Dag, kept: Iterable[Hashable]) -> list[tuple[Hashable, Hashable]]:
    """The dependencies among the `kept` nodes of `graph`, through nodes left
    out: (u, v) when v depends on u and every path between them passes only
    nodes that are not kept. A run that waited on an up-to-date stage still
    waited, through it, on what that stage depends on."""
    keep = set(kept)
    nearest: dict[Hashable, set[Hashable]] = {}
    edges: list[tuple[Hashable, Hashable]] = []
    for node in topological_order(graph):
        reach: set[Hashable] = set()
        for parent in graph.predecessors(node):
            reach |= {parent} if parent in keep else nearest[parent]
        nearest[node] = reach
        if node in keep:
            edges += [(parent, node) for parent in sorted(reach, key=str)]
    return edges


def critical_path(durations: Mapping[Hashable, float], ends: Mapping[Hashable, float],
                  edges: Iterable[tuple[Hashable, Hashable]]) -> list[Hashable]:
    """The longest chain of dependent nodes weighted by duration, first to last.

    `durations` names the nodes; edges between other nodes are ignored. Among
    chains of equal length the one ending last wins (it is the one the whole
    waited for), then by name, so the answer is stable.
    """
    graph = Dag()
    for node in sorted(durations, key=lambda n: (ends[n], str(n))):
        graph.add_node(node)
    for source, target in edges:
        if source in durations and target in durations:
            graph.add_edge(source, target)
    longest: dict[Hashable, float] = {}
    via: dict[Hashable, Hashable | None] = {}
    for node in topological_order(graph):
        best = max(graph.predecessors(node), default=None,
                   key=lambda p: (longest[p], ends[p], str(p)))
        longest[node] = durations[node] + (longest[best] if best is not None else 0.0)
        via[node] = best
    if not longest:
        return []
    last: Hashable | None = max(longest, key=lambda n: (longest[n], ends[n], str(n)))
    chain: list[Hashable] = []
    while last is not None:
        chain.append(last)
        last = via[last]
    return chain[::-1]


__all__ = ["assign_slots", "critical_path", "kept_edges"]
