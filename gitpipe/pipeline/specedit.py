"""gitpipe.yaml without some of its stages, edited as text: the user's
comments, blank lines, quoting and order stay as written (a YAML dump would
drop them), and only the lines of the stages removed go.

A stage's lines run from its key (and the comments right above it, at its
indent) to the line before the next stage's key (or the next top-level key,
or the file's end); comments at the stages' own indent that end that run,
and the blank lines above them, are left: they head what follows. Its
trailing blank lines go where a blank line above it stays to part its
neighbours.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from gitpipe.core.errors import BadInputError
from gitpipe.core.yamlio import LineDict, line_of, parse_yaml
from gitpipe.pipeline.model import SPEC_FILE

# The line breaks YAML counts lines by (its LineDict lines are counted so).
_LINE_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")


def _lines(text: str) -> list[str]:
    """The lines of `text`, each with its line break."""
    lines, start = [], 0
    for found in _LINE_BREAK.finditer(text):
        lines.append(text[start:found.end()])
        start = found.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _shallow_comment(line: str, indent: int) -> bool:
    return line.lstrip(" ").startswith("#") and _indent(line) <= indent


def _span(lines: list[str], first: int, after: int, top: int) -> tuple[int, int]:
    """0-based [first, end) of a stage whose key is line `first` and whose
    lines end before line `after`, with the comments right above its key at
    its indent (none above line `top`), the comments heading what follows
    left, and its trailing blank lines only where one above it stays."""
    indent = _indent(lines[first])
    while first - 1 > top and lines[first - 1].lstrip(" ").startswith("#") \
            and _indent(lines[first - 1]) == indent:
        first -= 1
    end = after
    while end > first + 1 and (not lines[end - 1].strip()
                                or _shallow_comment(lines[end - 1], indent)):
        end -= 1
    if any(_shallow_comment(line, indent) for line in lines[end:after]):
        return first, end
    blank_above = first - 1 > top and not lines[first - 1].strip()
    return first, (after if blank_above else end)


def without_stages(text: str, names: Iterable[str]) -> str:
    """`text` (gitpipe.yaml) with the stages `names` removed; BadInputError
    where they cannot be found as lines of their own (a flow-style
    `stages: {…}`), or where the lines left would say more than that."""
    names = list(names)
    data = parse_yaml(text, SPEC_FILE)
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, LineDict):
        raise BadInputError(f"{SPEC_FILE} has no 'stages:' mapping to remove a stage from")
    lines = _lines(text)
    stages_line = line_of(data, "stages") or 0
    keys = sorted(line_of(stages, key) or 0 for key in stages)
    tops = [line_of(data, key) or 0 for key in data]
    ends_at = min([top for top in tops if top > stages_line], default=len(lines) + 1)
    flow = "{" in lines[stages_line - 1].partition(":")[2].partition("#")[0]
    drop: set[int] = set()
    for name in names:
        line = line_of(stages, name) or 0
        if line <= stages_line or flow:
            raise BadInputError(f"{SPEC_FILE}:{stages_line}: 'stages' is written in flow style "
                                "({…}), so gitpipe cannot remove one stage's lines",
                                hint="delete the stage from gitpipe.yaml by hand; the next "
                                     "'gitpipe repro' drops its lock entry")
        after = min([key for key in keys if key > line] + [ends_at])
        first, end = _span(lines, line - 1, after - 1, stages_line - 1)
        drop.update(range(first, end))
    edited = "".join(line for i, line in enumerate(lines) if i not in drop)
    _check_only_removed(data, edited, list(names))
    return edited


def _check_only_removed(data: dict[str, Any], edited: str, names: list[str]) -> None:
    """Raise unless `edited` reads as `data` without the stages `names`: a
    line taken for one stage's (a comment above it) may lie inside another's
    quoted scalar, and the file left would change that stage or drop more."""
    expected = dict(data)
    expected["stages"] = {key: value for key, value in data["stages"].items()
                          if key not in names}
    try:
        now = parse_yaml(edited, SPEC_FILE)
    except BadInputError:
        return  # not valid at all: the caller's parse says why, naming the stages
    if now != expected:
        raise BadInputError(f"{SPEC_FILE}: removing the lines of {', '.join(map(repr, names))} "
                            "would change what the rest of the file says (a quoted value "
                            "running over lines beside them)",
                            hint="delete the stage from gitpipe.yaml by hand; the next "
                                 "'gitpipe repro' drops its lock entry")
