"""A small directed graph for the hot path, and the few algorithms gitpipe needs.

`import networkx` costs more than a whole no-op `status` should take; the
status/repro path needs only nodes with attributes, edges, a topological
order, ancestors and descendants. The functions here work on
this `Dag` and on a `networkx.DiGraph` alike (only the shared API is used), so
tests may hand either to `plan()` or the scheduler. `gitpipe dag` and
`report` draw from it too (pipeline/dagview.py, daglayout.py).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any


class _NodeView:
    def __init__(self, attrs: dict[Hashable, dict[str, Any]]) -> None:
        self._attrs = attrs

    def __getitem__(self, node: Hashable) -> dict[str, Any]:
        return self._attrs[node]

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._attrs)

    def __contains__(self, node: object) -> bool:
        return node in self._attrs

    def __len__(self) -> int:
        return len(self._attrs)


class Dag:
    """Nodes (insertion-ordered) with attribute dicts, and directed edges."""

    def __init__(self) -> None:
        self._attrs: dict[Hashable, dict[str, Any]] = {}
        self._succ: dict[Hashable, dict[Hashable, None]] = {}
        self._pred: dict[Hashable, dict[Hashable, None]] = {}

    @property
    def nodes(self) -> _NodeView:
        return _NodeView(self._attrs)

    @property
    def edges(self) -> list[tuple[Hashable, Hashable]]:
        return [(a, b) for a, children in self._succ.items() for b in children]

    def add_node(self, node: Hashable, **attrs: Any) -> None:
        self._attrs.setdefault(node, {}).update(attrs)
        self._succ.setdefault(node, {})
        self._pred.setdefault(node, {})

    def add_edge(self, source: Hashable, target: Hashable) -> None:
        for node in (source, target):
            if node not in self._attrs:
                self.add_node(node)
        self._succ[source][target] = None
        self._pred[target][source] = None

    def add_edges_to(self, target: Hashable, sources: Iterable[Hashable]) -> None:
        """`add_edge(source, target)` for each source in turn, the nodes there
        already: one call for the many edges a dep on a folder of many outs
        draws, where a call an edge is most of building a wide graph."""
        succ = self._succ
        for source in sources:
            succ[source][target] = None
        self._pred[target].update(dict.fromkeys(sources))

    def predecessors(self, node: Hashable) -> Iterator[Hashable]:
        return iter(self._pred[node])

    def successors(self, node: Hashable) -> Iterator[Hashable]:
        return iter(self._succ[node])

    def in_degree(self, node: Hashable) -> int:
        return len(self._pred[node])

    def out_degree(self, node: Hashable) -> int:
        return len(self._succ[node])

    def number_of_edges(self) -> int:
        return sum(len(children) for children in self._succ.values())

    def subgraph(self, nodes: Iterable[Hashable]) -> Dag:
        keep = set(nodes)
        sub = Dag()
        for node in self._attrs:
            if node in keep:
                sub._attrs[node] = self._attrs[node]
                sub._succ[node] = {c: None for c in self._succ[node] if c in keep}
                sub._pred[node] = {p: None for p in self._pred[node] if p in keep}
        return sub

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._attrs)

    def __contains__(self, node: object) -> bool:
        return node in self._attrs

    def __len__(self) -> int:
        return len(self._attrs)


def topological_order(graph: Any, key: Callable[[Hashable], Any] | None = None
                      ) -> list[Hashable]:
    """Kahn's algorithm; among ready nodes the smallest `key` first (default: the
    graph's node order), so the order is stable. Raises ValueError on a cycle."""
    position = {node: index for index, node in enumerate(graph.nodes)}
    rank = key or position.__getitem__
    waiting = {node: graph.in_degree(node) for node in graph.nodes}
    ready = [(rank(n), position[n], n) for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, _, node = heapq.heappop(ready)
        order.append(node)
        for child in graph.successors(node):
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (rank(child), position[child], child))
    if len(order) != len(waiting):
        raise ValueError("the graph has a cycle")
    return order


def _reach(start: Hashable, step: Callable[[Hashable], Iterable[Hashable]]) -> set[Hashable]:
    seen: set[Hashable] = set()
    stack = [start]
    while stack:
        for other in step(stack.pop()):
            if other not in seen:
                seen.add(other)
                stack.append(other)
    return seen


def ancestors(graph: Any, node: Hashable) -> set[Hashable]:
    return _reach(node, graph.predecessors)


def descendants(graph: Any, node: Hashable) -> set[Hashable]:
    return _reach(node, graph.successors)


def find_cycle(graph: Any) -> list[Hashable] | None:
    """Nodes on one cycle, in order (the first repeated at the end), or None."""
    colour: dict[Hashable, int] = {}
    for root in graph.nodes:
        if root in colour:
            continue
        path: list[Hashable] = [root]
        iters = [iter(graph.successors(root))]
        colour[root] = 1
        while iters:
            child = next(iters[-1], None)
            if child is None:
                colour[path.pop()] = 2
                iters.pop()
            elif colour.get(child) == 1:
                return [*path[path.index(child):], child]
            elif child not in colour:
                colour[child] = 1
                path.append(child)
                iters.append(iter(graph.successors(child)))
    return None
