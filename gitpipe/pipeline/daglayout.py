"""Where each node of a drawn graph goes: layers by longest path (a node one
layer after its deepest input) and an order within each layer by barycenters.

Pure and generic over string ids; the ascii picture and the report's SVG both
place nodes with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

SWEEPS = 4  # down and up passes of the barycenter ordering; more rarely helps
DUMMY = "\0"  # prefix of the points a long edge passes through (never a task name)
# Points long edges pass through, in all, past which none is made. A spec
# (a clone's) where each of n stages reads every earlier one's out has some
# n**3/6 of them, each a node to lay out: a few hundred stages of a few
# hundred KiB of YAML would hold a report for many minutes and gigabytes. A
# graph of that many crossings cannot be read as a picture anyway; its long
# edges are then drawn straight. The ascii picture's 30 boxes stay far below.
MAX_WAYPOINTS = 50_000


class Layout(NamedTuple):
    """Node ids per layer, each layer in drawing order."""

    layers: tuple[tuple[str, ...], ...]


def depths(nodes: list[str], edges: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layering of `nodes` in a topological order. An input that
    comes later (collapsing partitions can close a cycle: a@1 -> b -> a@2)
    does not push its node down."""
    inputs: dict[str, list[str]] = {node: [] for node in nodes}
    for source, target in edges:
        inputs[target].append(source)
    found: dict[str, int] = {}
    for node in nodes:
        found[node] = 1 + max((found[p] for p in inputs[node] if p in found), default=-1)
    return found


def with_waypoints(nodes: list[str], edges: list[tuple[str, str]]
                   ) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Depths, and the edges with every edge longer than one layer split at a
    waypoint per layer it crosses (ids starting with DUMMY, named by the
    edge's place in `edges`: a task's name has no length bound); past
    MAX_WAYPOINTS in all, the edges as they are."""
    depth = depths(nodes, edges)
    if sum(max(0, depth[target] - depth[source] - 1)
           for source, target in edges) > MAX_WAYPOINTS:
        return depth, list(edges)
    short: list[tuple[str, str]] = []
    for index, (source, target) in enumerate(edges):
        previous = source
        for layer in range(depth[source] + 1, depth[target]):
            point = waypoint(index, layer)
            depth[point] = layer
            short.append((previous, point))
            previous = point
        short.append((previous, target))
    return depth, short


def waypoint(edge: int, layer: int) -> str:
    """The id of the point where the `edge`-th edge crosses `layer`."""
    return f"{DUMMY}{edge}\0{layer}"


def layout(nodes: list[str], edges: list[tuple[str, str]],
           depth: dict[str, int] | None = None) -> Layout:
    """Layers of `nodes` (topological order; ties keep it) ordered to cross few edges."""
    depth = depth if depth is not None else depths(nodes, edges)
    count = 1 + max(depth.values(), default=-1)
    layers: list[list[str]] = [[] for _ in range(count)]
    for node in sorted(depth, key=lambda n: depth[n]):
        layers[depth[node]].append(node)
    inputs: dict[str, list[str]] = {node: [] for node in depth}
    outputs: dict[str, list[str]] = {node: [] for node in depth}
    for source, target in edges:
        inputs[target].append(source)
        outputs[source].append(target)
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        for index in (range(1, count) if downward else range(count - 2, -1, -1)):
            neighbour = layers[index - 1] if downward else layers[index + 1]
            _order_by(layers[index], inputs if downward else outputs, neighbour)
    return Layout(tuple(tuple(layer) for layer in layers))


def _order_by(layer: list[str], links: dict[str, list[str]], neighbour: list[str]) -> None:
    """Sort `layer` in place by the mean position of each node's links in
    `neighbour`; a node without links keeps its place."""
    where = {node: i for i, node in enumerate(neighbour)}
    keys: dict[str, float] = {}
    for index, node in enumerate(layer):
        linked = [where[n] for n in links[node] if n in where]
        keys[node] = sum(linked) / len(linked) if linked else float(index)
    layer.sort(key=keys.__getitem__)
