"""Rows of cells as plain aligned columns: each column as wide as its widest
cell, two spaces between columns, numbers right-aligned. Plain text rather
than rich's tables, whose import costs more than a whole no-op command."""

from __future__ import annotations

from collections.abc import Collection, Sequence

GAP = "  "


def aligned(rows: Sequence[Sequence[str]], right: Collection[int] = ()) -> list[str]:
    """The rows as lines (the first row is usually the header); the columns
    numbered in `right` are right-aligned, the others left-aligned, and no
    line ends in spaces."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [GAP.join(cell.rjust(width) if i in right else cell.ljust(width)
                     for i, (cell, width) in enumerate(zip(row, widths, strict=True))).rstrip()
            for row in rows]
