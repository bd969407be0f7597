"""The DAG as text: ascii, dot, mermaid and json (pure functions of the graph)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import networkx as nx

from gitpipe.core.ranges import keys_text, positions_of, split_task, tasks_text


def to_networkx(graph: Any) -> nx.DiGraph:
    """gitpipe's light Dag as a networkx graph (node order kept)."""
    converted = nx.DiGraph()
    converted.add_nodes_from(graph.nodes)
    converted.add_edges_from(graph.edges)
    return converted


def _ordered(graph: Any) -> list[str]:
    order = {n: i for i, n in enumerate(graph.nodes)}
    return [str(n) for n in nx.lexicographical_topological_sort(to_networkx(graph),
                                                                 key=lambda n: order[n])]


def to_ascii(graph: Any, everything: bool = False) -> str:
    """One line per stage in run order, with what it waits for; a partitioned
    stage's partitions are one line (`raw@2024-01-01 … 2024-12-31 (366)`), and
    a partition waiting for the same partition upstream says `upstream@${date}`.
    With `everything`, one line per task."""
    names = _ordered(graph)
    rows = [(n, sorted(str(p) for p in graph.predecessors(n))) for n in names] if everything \
        else _collapsed(graph, names)
    width = max((len(n) for n, _ in rows), default=0)
    return "\n".join(f"{name:<{width}}  <- {', '.join(preds)}" if preds else name
                     for name, preds in rows)


def _collapsed(graph: Any, names: list[str]) -> list[tuple[str, list[str]]]:
    """(title, what it waits for) per stage, a partitioned stage's partitions as one."""
    positions = positions_of(names)
    members: dict[str, list[str]] = {}
    for name in names:
        stage, key = split_task(name)
        members.setdefault(stage if key is not None else name, []).append(name)
    rows = []
    for stage, tasks in members.items():
        keys = [split_task(t)[1] or "" for t in tasks]
        title = tasks[0] if len(tasks) == 1 else \
            f"{stage}@{keys_text(keys, positions.get(stage, {}))}"
        rows.append((title, _waits_for(graph, tasks, positions)))
    return rows


def _waits_for(graph: Any, tasks: list[str], positions: dict[str, dict[str, int]]) -> list[str]:
    """What the tasks of one stage wait for. An upstream stage whose partition K
    every partition K here waits for reads as `upstream@${date}`."""
    pairs = [(str(p), split_task(t)[1]) for t in tasks for p in graph.predecessors(t)]
    same = Counter(split_task(p)[0] for p, key in pairs
                   if key is not None and split_task(p)[1] == key)
    daily = {s for s, count in same.items() if count == len(tasks) > 1}
    rest = sorted({p for p, key in pairs
                   if not (split_task(p)[0] in daily and split_task(p)[1] == key)})
    return [*(f"{s}@${{date}}" for s in sorted(daily)), *tasks_text(rest, positions)]


def _quote(name: str) -> str:
    return json.dumps(name)


def to_dot(graph: Any) -> str:
    lines = ["digraph gitpipe {", "  rankdir=LR;"]
    lines += [f"  {_quote(n)};" for n in _ordered(graph)]
    lines += [f"  {_quote(str(a))} -> {_quote(str(b))};" for a, b in sorted(graph.edges)]
    return "\n".join([*lines, "}"])


def to_mermaid(graph: Any) -> str:
    ids = {name: f"n{i}" for i, name in enumerate(_ordered(graph))}
    lines = ["flowchart LR"]
    lines += [f'  {ids[n]}["{n}"]' for n in ids]
    lines += [f"  {ids[str(a)]} --> {ids[str(b)]}" for a, b in sorted(graph.edges)]
    return "\n".join(lines)


def to_json(graph: Any) -> str:
    data = {"nodes": _ordered(graph),
            "edges": [[str(a), str(b)] for a, b in sorted(graph.edges)]}
    return json.dumps(data, indent=2)


FORMATS = {"ascii": to_ascii, "dot": to_dot, "mermaid": to_mermaid, "json": to_json}
