"""The `dag` picture: boxes in layers, top to bottom, joined by box-drawing
connectors. A graph too large for a terminal, or one whose connectors would
cross, is not drawn (None): the caller prints the list form instead.
"""

from __future__ import annotations

from typing import NamedTuple

from gitpipe.pipeline.daglayout import DUMMY, layout, with_waypoints
from gitpipe.pipeline.dagview import DagView, TaskState, ViewNode, state_text

MAX_NODES = 30
MAX_WIDTH = 120
GAP = 2
UP, DOWN, LEFT, RIGHT = 1, 2, 4, 8
GLYPHS = {UP | DOWN: "│", LEFT | RIGHT: "─", DOWN | RIGHT: "┌", DOWN | LEFT: "┐",
          UP | RIGHT: "└", UP | LEFT: "┘", UP | DOWN | RIGHT: "├", UP | DOWN | LEFT: "┤",
          DOWN | LEFT | RIGHT: "┬", UP | LEFT | RIGHT: "┴", UP | DOWN | LEFT | RIGHT: "┼",
          UP: "│", DOWN: "│", LEFT: "─", RIGHT: "─"}


class _Item(NamedTuple):
    id: str
    lines: tuple[str, ...]   # a box's text; none for a waypoint
    left: int

    @property
    def width(self) -> int:
        return max(len(line) for line in self.lines) + 4 if self.lines else 1

    @property
    def centre(self) -> int:
        return self.left + self.width // 2


def picture(view: DagView, states: dict[str, TaskState] | None = None) -> str | None:
    """The view drawn in boxes; None when it is too large or cannot be drawn cleanly."""
    if not view.nodes or len(view.nodes) > MAX_NODES:
        return None
    ids = [node.id for node in view.nodes]
    depth, edges = with_waypoints(ids, list(view.edges))
    if any(depth[target] <= depth[source] for source, target in edges):
        return None  # an edge back up (collapsed partitions in a cycle) has no place here
    layers = layout(ids, edges, depth).layers
    texts = {node.id: _texts(node, view, states) for node in view.nodes}
    rows = [_place(layer, texts) for layer in layers]
    width = max(row[-1].left + row[-1].width for row in rows)
    if width > MAX_WIDTH:
        return None
    lines: list[str] = []
    outgoing = {source for source, _ in edges}
    for index, row in enumerate(rows):
        lines += _layer_lines(row, outgoing, width)
        if index + 1 < len(rows):
            channel = _channel(row, rows[index + 1], edges, width)
            if channel is None:
                return None
            lines += channel
    return "\n".join(line.rstrip() for line in lines)


def _texts(node: ViewNode, view: DagView, states: dict[str, TaskState] | None
           ) -> tuple[str, ...]:
    title = node.title(view.positions)
    if states is None:
        return (title,)
    return (title, f"[{state_text(node, states) or 'unknown'}]")


def _place(layer: tuple[str, ...], texts: dict[str, tuple[str, ...]]) -> list[_Item]:
    items, left = [], 0
    for node in layer:
        item = _Item(node, () if node.startswith(DUMMY) else texts[node], left)
        items.append(item)
        left += item.width + GAP
    return items


def _layer_lines(row: list[_Item], outgoing: set[str], width: int) -> list[str]:
    height = 2 + max(len(item.lines) for item in row)
    canvas = [[" "] * width for _ in range(height)]
    for item in row:
        if not item.lines:
            for line in canvas:
                line[item.centre] = "│"
            continue
        inner = item.width - 2
        bottom = ["─"] * inner
        if item.id in outgoing:
            bottom[item.centre - item.left - 1] = "┬"
        body = [f" {text:<{inner - 2}} " for text in item.lines]
        body += [" " * inner] * (height - 2 - len(body))
        drawn = ["┌" + "─" * inner + "┐", *(f"│{text}│" for text in body),
                 "└" + "".join(bottom) + "┘"]
        for line, text in zip(canvas, drawn, strict=True):
            line[item.left:item.left + item.width] = list(text)
    return ["".join(line) for line in canvas]


class _Cell:
    def __init__(self) -> None:
        self.dirs = 0
        self.owners: set[tuple[str, str]] = set()


def _channel(upper: list[_Item], lower: list[_Item], edges: list[tuple[str, str]],
             width: int) -> list[str] | None:
    """The connectors from one layer down to the next: a bus row per target;
    None where two unrelated lines would cross."""
    above = {item.id: item.centre for item in upper}
    below = {item.id: item for item in lower}
    links = [(s, t) for s, t in edges if s in above and t in below]
    targets = sorted({t for _, t in links}, key=lambda t: below[t].centre)
    bus_row = {t: row for row, t in enumerate(targets)}
    arrows = len(targets)
    cells = [[_Cell() for _ in range(width)] for _ in range(arrows + 1)]
    for source in {s for s, _ in links}:
        last = max(bus_row[t] for s, t in links if s == source)
        _vertical(cells, above[source], -1, last, ("s", source))
    for target in targets:
        columns = [above[s] for s, t in links if t == target] + [below[target].centre]
        _horizontal(cells, bus_row[target], min(columns), max(columns), ("t", target))
        _vertical(cells, below[target].centre, bus_row[target], arrows, ("t", target))
    if not all(_clean(cell.owners, links) for row in cells for cell in row):
        return None
    lines = [[GLYPHS.get(cell.dirs, " ") for cell in row] for row in cells]
    for item in lower:
        lines[arrows][item.centre] = "│" if not item.lines else "▼"
    return ["".join(line) for line in lines]


def _vertical(cells: list[list[_Cell]], column: int, first: int, last: int,
              owner: tuple[str, str]) -> None:
    """A line down `column` from row `first` (-1: from the layer above) to `last`."""
    for row in range(max(first, 0), last + 1):
        cell = cells[row][column]
        cell.dirs |= (UP if row > first else 0) | (DOWN if row < last else 0)
        cell.owners.add(owner)


def _horizontal(cells: list[list[_Cell]], row: int, first: int, last: int,
                owner: tuple[str, str]) -> None:
    for column in range(first, last + 1):
        cell = cells[row][column]
        cell.dirs |= (LEFT if column > first else 0) | (RIGHT if column < last else 0)
        cell.owners.add(owner)


def _clean(owners: set[tuple[str, str]], links: list[tuple[str, str]]) -> bool:
    """Lines meet in a cell only where they are one flow: a source and its
    target, or targets of one source whose line is there too."""
    if len(owners) < 2:
        return True
    sources = {name for kind, name in owners if kind == "s"}
    targets = {name for kind, name in owners if kind == "t"}
    if len(sources) > 1:
        return False
    if not sources:
        return len(targets) == 1
    source = next(iter(sources))
    return all((source, target) in links for target in targets)
