"""The DAG as text: ascii, list, dot, mermaid and json (pure functions of the
view, pipeline/dagview.py, and of the task states when they are asked for)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from gitpipe.core.ranges import placeholder, split_task, tasks_text
from gitpipe.pipeline.dagascii import picture
from gitpipe.pipeline.dagview import DagView, State, TaskState, ViewNode, state_of, state_text

States = dict[str, TaskState] | None
# Fills for dot and mermaid; every label also says its state in words.
FILLS = {State.UP_TO_DATE: "#b9e4b9", State.STALE: "#ffe08a", State.FAILED: "#f4a6a6",
         State.NEVER_RUN: "#dddddd"}
CLASSES = {State.UP_TO_DATE: "uptodate", State.STALE: "stale", State.FAILED: "failed",
           State.NEVER_RUN: "neverrun"}


def to_ascii(view: DagView, states: States = None) -> str:
    """A picture in boxes for a small graph; the list form when it is too large
    or its connectors would cross."""
    return picture(view, states) or to_list(view, states)


def to_list(view: DagView, states: States = None) -> str:
    """One line per node in run order, with what it waits for; a collapsed
    stage is one line (`raw@2024-01-01 … 2024-12-31 (366)`), and a partition
    waiting for the same partition upstream says `upstream@${date}`."""
    rows = [(_label(node, view, states), _waits_for(node, view)) for node in view.nodes]
    width = max((len(name) for name, _ in rows), default=0)
    return "\n".join(f"{name:<{width}}  <- {', '.join(preds)}" if preds else name
                     for name, preds in rows)


def _label(node: ViewNode, view: DagView, states: States) -> str:
    title = node.title(view.positions)
    return f"{title} [{state_text(node, states) or 'unknown'}]" if states is not None else title


def _waits_for(node: ViewNode, view: DagView) -> list[str]:
    """What a node waits for, by task. An upstream stage whose partition K every
    partition K here waits for reads as `upstream@${date}` (an item's as
    `upstream@${item}` or `${key}`, as status's `upstream:` line names it)."""
    tasks = set(node.tasks)
    if view.expanded:
        return sorted(source for source, target in view.task_edges if target in tasks)
    pairs = [(source, split_task(target)[1]) for source, target in view.task_edges
             if target in tasks]
    same = Counter(split_task(p)[0] for p, key in pairs
                   if key is not None and split_task(p)[1] == key)
    daily = {s for s, count in same.items() if count == len(tasks) > 1}
    rest = sorted({p for p, key in pairs
                   if not (split_task(p)[0] in daily and split_task(p)[1] == key)})
    own = split_task(node.tasks[0])[1] or ""
    shared = placeholder(own, view.key_names.get(node.stage) or None)
    return [*(f"{s}@{shared}" for s in sorted(daily)), *tasks_text(rest, view.positions)]


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def to_dot(view: DagView, states: States = None) -> str:
    lines = ["digraph gitpipe {", "  rankdir=LR;"]
    for node in view.nodes:
        attrs = _dot_attrs(node, view, states)
        lines.append(f"  {_quote(node.id)}{f' [{attrs}]' if attrs else ''};")
    lines += [f"  {_quote(a)} -> {_quote(b)};" for a, b in view.edges]
    return "\n".join([*lines, "}"])


def _dot_attrs(node: ViewNode, view: DagView, states: States) -> str:
    parts = []
    title = node.title(view.positions)
    if states is not None:
        title += f"\n[{state_text(node, states) or 'unknown'}]"
        state = state_of(node, states)
        if state is not None:
            parts.append(f'style=filled, fillcolor="{FILLS[state]}"')
    if title != node.id:
        parts.insert(0, f"label={_quote(title)}")
    return ", ".join(parts)


def to_mermaid(view: DagView, states: States = None) -> str:
    ids = {node.id: f"n{i}" for i, node in enumerate(view.nodes)}
    lines = ["flowchart LR"]
    for node in view.nodes:
        lines.append(f'  {ids[node.id]}["{_mermaid_text(_label(node, view, states))}"]')
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in view.edges]
    if states is not None:
        lines += [f"  classDef {CLASSES[s]} fill:{FILLS[s]},color:#000" for s in State]
        for node in view.nodes:
            if (state := state_of(node, states)) is not None:
                lines.append(f"  class {ids[node.id]} {CLASSES[state]}")
    return "\n".join(lines)


def _mermaid_text(text: str) -> str:
    """Mermaid's quoted labels end at `"`; it writes one as an entity."""
    return text.replace('"', "#quot;")


def to_json(view: DagView, states: States = None) -> str:
    """`nodes` and `edges` as always; `groups` (a collapsed node's tasks) and
    `states` only when there are any."""
    data: dict[str, object] = {"nodes": [node.id for node in view.nodes],
                               "edges": [[a, b] for a, b in view.edges]}
    groups = {node.id: list(node.tasks) for node in view.nodes if node.grouped}
    if groups:
        data["groups"] = groups
    if states is not None:
        data["states"] = {task: {"state": states[task].state.value,
                                 "reasons": list(states[task].reasons)}
                          for node in view.nodes for task in node.tasks if task in states}
    return json.dumps(data, indent=2, ensure_ascii=False)


FORMATS: dict[str, Callable[[DagView, States], str]] = {
    "ascii": to_ascii, "list": to_list, "dot": to_dot, "mermaid": to_mermaid, "json": to_json}
