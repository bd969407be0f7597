"""The task graph as people look at it: one node per stage, a partitioned or
foreach stage's tasks collapsed into it (or one node per task when expanded),
and each task's state with its reasons.

Pure: the states come from the caller (the status verdicts and the run
history, usecases/pipelinestate.py); `dag` and `report` both draw from this.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, NamedTuple

from gitpipe.core.digraph import topological_order
from gitpipe.core.ranges import keys_text, positions_of, split_task


class State(enum.Enum):
    """What a task's state is, as its text says it (readable without colour)."""

    FAILED = "failed"
    STALE = "stale"
    NEVER_RUN = "never run"
    UP_TO_DATE = "up to date"


# Worst first: a collapsed node shows its worst member's state.
STATE_ORDER = (State.FAILED, State.STALE, State.NEVER_RUN, State.UP_TO_DATE)


class TaskState(NamedTuple):
    """One task's state and, when it is not up to date, why (the sentences)."""

    state: State
    reasons: tuple[str, ...] = ()


class ViewNode(NamedTuple):
    """A node as drawn: one task, or every partition or item of a stage."""

    id: str                   # the task's name, or the stage's for a collapsed node
    stage: str
    tasks: tuple[str, ...]    # its tasks, in plan order
    grouped: bool = False     # partitions or items collapsed into one node

    def title(self, positions: dict[str, dict[str, int]]) -> str:
        """`raw@2024-01-01 … 2024-12-31 (366)` for a collapsed node, else its id."""
        if not self.grouped:
            return self.id
        keys = [split_task(task)[1] or "" for task in self.tasks]
        return keys_text(self.stage, keys, positions.get(self.stage, {}))


class DagView(NamedTuple):
    """The nodes in a topological order, and the edges between them."""

    nodes: tuple[ViewNode, ...]
    edges: tuple[tuple[str, str], ...]
    task_edges: tuple[tuple[str, str], ...]  # the edges between the tasks inside
    positions: dict[str, dict[str, int]]     # each stage's keys in plan order
    expanded: bool = False
    # What the spec calls a foreach stage's keys where not `${key}` (graph.key_names).
    key_names: dict[str, str] = {}  # noqa: RUF012 - a view is read, never changed in place

    def node(self, node_id: str) -> ViewNode:
        return next(node for node in self.nodes if node.id == node_id)


def view_of(graph: Any, chosen: Iterable[Hashable] | None = None,
            expand: bool = False, key_names: Mapping[str, str] | None = None) -> DagView:
    """The graph (only the `chosen` nodes, when given) as drawn: partitions and
    items of a stage collapsed into one node unless `expand`; `key_names`
    what the spec calls foreach stages' keys (graph.key_names)."""
    keep = None if chosen is None else set(chosen)
    rank = {node: i for i, node in enumerate(graph.nodes)}
    order = [str(n) for n in topological_order(graph, key=rank.__getitem__)
             if keep is None or n in keep]
    owner = {name: _owner(name, expand) for name in order}
    members: dict[str, list[str]] = {}
    for name in order:
        members.setdefault(owner[name], []).append(name)
    nodes = tuple(ViewNode(node_id, split_task(tasks[0])[0], tuple(tasks),
                           grouped=not expand and "@" in tasks[0])
                  for node_id, tasks in members.items())
    inside = sorted((str(a), str(b)) for a, b in graph.edges
                    if str(a) in owner and str(b) in owner)
    edges = sorted({(owner[a], owner[b]) for a, b in inside if owner[a] != owner[b]})
    return DagView(nodes, tuple(edges), tuple(inside), positions_of(order), expand,
                   dict(key_names or {}))


def _owner(task: str, expand: bool) -> str:
    stage, key = split_task(task)
    return task if expand or key is None else stage


def counts(node: ViewNode, states: dict[str, TaskState]) -> dict[State, int]:
    """How many of the node's tasks are in each state (states without one left out)."""
    found = Counter(states[task].state for task in node.tasks if task in states)
    return {state: found[state] for state in STATE_ORDER if found[state]}


def state_of(node: ViewNode, states: dict[str, TaskState]) -> State | None:
    """The node's worst member's state; None when no member has one."""
    found = counts(node, states)
    return next(iter(found), None)


def state_text(node: ViewNode, states: dict[str, TaskState]) -> str:
    """`stale` for a task; `360 up to date, 6 stale` for a collapsed node."""
    found = counts(node, states)
    if not node.grouped:
        return next(iter(found)).value if found else ""
    return ", ".join(f"{count} {state.value}" for state, count in found.items())
