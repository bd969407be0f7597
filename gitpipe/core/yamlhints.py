"""Hints for the YAML mistakes a hand-written gitpipe.yaml (or params file,
or config) holds most often, where libyaml's own words leave the cause to
guess: a key without its ':', a line indented one step too far or too
little, a tab, a value holding ': ', an unquoted ${...} inside [...].

Each hint names the line to change; the parser's message, kept as it is,
names where the parser gave up, which for a missing ':' is the line after.
"""

from __future__ import annotations

import re
from typing import Any

# A line that is a mapping's key and nothing more before the mark: `deps`,
# `  - name`, `train@a`; no space inside, no quote, no flow bracket.
_BARE_KEY = re.compile(r"\s*(?:- +)?[^\s:#'\"\[\]{},]+\s*\Z")
_SHOWN = 60
# A block mapping's key and its ': ' before the value on the same line.
_KEY_BEFORE_VALUE = re.compile(r"[^\s'\"\[\]{},#][^#]*?:(?:\s+|\Z)")

_QUOTE_COLON = ("a value holding ': ' (a colon and a space) is read as a key: quote the "
                "whole value (cmd: 'echo \"x: 1\"') or write it as a block (cmd: >-, then "
                "the command indented on the next line)")
_FLOW_DOLLAR = ("inside [...] or {...} a '{' ends a value: quote values that hold ${...}, "
                "as in ['data/${date}.csv'], or write the list one '- item' per line")
_LINE_UP = "the keys of one mapping, and the items of one list, start in the same column"


def hint_for(problem: str, lines: list[str], mark: Any, context: Any,
             secret: bool = False) -> str | None:
    """The hint for libyaml's `problem` at `mark` (a line and column, 0-based)
    in the text's `lines`, `context` the mark of the construct it was in.
    `secret`: the text may hold credentials (config.local.yaml's keys), which
    an error's output (a CI job's log) must not show: no line is quoted."""
    near = [lines[m.line] for m in (mark, context) if m is not None and m.line < len(lines)]
    if any("${" in row and _opens_flow(row) for row in near):
        return _FLOW_DOLLAR
    tab = _tab_line(lines, mark, context)
    if tab is not None:
        return (f"line {tab + 1} holds a tab where YAML wants spaces: indent with "
                "spaces only")
    if problem == "could not find expected ':'" and context is not None \
            and context.line < len(lines):
        return _no_colon(lines, context.line, secret)
    if mark is None or mark.line >= len(lines):
        return None
    if problem.startswith("mapping values are not allowed"):
        return _colon_after(lines, mark, secret)
    if problem.startswith(("did not find expected key", "did not find expected '-'",
                           "expected <block end>")):
        return _misaligned(lines, mark, context)
    return None


def _opens_flow(row: str) -> bool:
    """Whether the value on `row` is a flow list or mapping (`outs: [...]`,
    `- {...}`), not a plain value that holds brackets (`cmd: python -c
    "rows[1:]"`), whose ': ' a flow hint would not explain."""
    text = row.strip()
    while text.startswith("- "):
        text = text[2:].lstrip()
    key = _KEY_BEFORE_VALUE.match(text)
    return text[key.end() if key else 0:].startswith(("[", "{"))


def _misaligned(lines: list[str], mark: Any, context: Any) -> str:
    """A line that starts in no column its mapping (or list) uses."""
    at = mark.line + 1
    if context is None or context.line >= len(lines) or context.line == mark.line:
        return f"check the indentation of line {at}: {_LINE_UP}"
    start = context.line + 1
    if lines[context.line][context.column:context.column + 1] == "-":
        return (f"line {at} lines up with the items of the list from line {start} but is "
                "not one ('- value'): a key after the list starts in the column of the key "
                "that holds the list")
    return (f"line {at} starts in column {_indent(lines[mark.line]) + 1}, the keys of the "
            f"mapping from line {start} in column {context.column + 1}: {_LINE_UP}")


def _tab_line(lines: list[str], mark: Any, context: Any) -> int | None:
    """The line whose indentation holds the tab the parser stopped at."""
    for m in (mark, context):
        if m is not None and m.line < len(lines):
            row = lines[m.line]
            if "\t" in row[:len(row) - len(row.lstrip())]:
                return int(m.line)
    return None


def _colon_after(lines: list[str], mark: Any, secret: bool) -> str:
    """A ': ' where YAML takes none: inside a value (quote it), or the first
    key after a line YAML read as part of a value, because that line lacks its
    own ':' or is indented more than the key before it."""
    row = lines[mark.line]
    if not _BARE_KEY.match(row[:mark.column]):
        return _QUOTE_COLON
    above = _line_above(lines, mark.line)
    if above is None:
        return _QUOTE_COLON
    text = lines[above]
    if ":" not in _unquoted(text) and not text.lstrip().startswith("- ") \
            and not _continues_value(lines, above):
        return _no_colon(lines, above, secret)
    if _indent(row) > _indent(text):
        return (f"line {mark.line + 1} is indented more than line {above + 1}, so YAML reads "
                f"it as part of line {above + 1}'s value: {_LINE_UP}")
    return _QUOTE_COLON


def _no_colon(lines: list[str], at: int, secret: bool) -> str:
    """The hint for line `at`, a key written without its ':' (quoted unless
    the text is `secret`)."""
    text = lines[at].strip()
    if text.startswith("-") and not text.startswith("- "):
        return f"line {at + 1}: a list item is '- value', with a space after the '-'"
    if secret:
        return f"line {at + 1} has no ':' after its key: write 'key: value'"
    key, _, rest = text.partition(" ")
    fixed = f"{key}: {rest.strip()}" if rest.strip() else f"{key}:"
    return (f"line {at + 1} ({_short(text)!r}) has no ':' after its key: write "
            f"{_short(fixed)!r}")


def _continues_value(lines: list[str], at: int) -> bool:
    """Whether line `at`, which holds no ':', is the next line of a plain value
    begun on a key's line above it (`cmd: python a.py` / `  --fast`), rather
    than a key of its own."""
    for index in range(at - 1, -1, -1):
        text = _unquoted(lines[index]).strip()
        if not text or text.startswith("#"):
            continue
        if ":" in text:
            value = text.split(":", 1)[1].strip()
            return bool(value) and value[0] not in "|>" \
                and _indent(lines[at]) > _indent(lines[index])
    return False


def _line_above(lines: list[str], at: int) -> int | None:
    """The nearest line above `at` that holds more than a comment."""
    for index in range(at - 1, -1, -1):
        text = lines[index].strip()
        if text and not text.startswith("#"):
            return index
    return None


def _unquoted(text: str) -> str:
    """`text` without its quoted parts and its comment."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "", text)
    return text.split(" #", 1)[0]


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "…"
