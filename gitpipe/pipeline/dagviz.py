"""The DAG as text: ascii, dot, mermaid and json (pure functions of the graph)."""

from __future__ import annotations

import json
from typing import Any

import networkx as nx


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


def to_ascii(graph: Any) -> str:
    """One line per task in run order, with the tasks it waits for."""
    names = _ordered(graph)
    width = max((len(n) for n in names), default=0)
    lines = []
    for name in names:
        preds = sorted(str(p) for p in graph.predecessors(name))
        lines.append(f"{name:<{width}}  <- {', '.join(preds)}" if preds else name)
    return "\n".join(lines)


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
