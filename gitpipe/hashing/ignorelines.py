"""A rules file's line read as git reads a .gitignore line."""

from __future__ import annotations


def pattern_text(line: str) -> str | None:
    """The pattern of `line` (its newline gone) as git reads it, or None for
    a comment or a blank line: one carriage return before the newline
    dropped (never more), the text up to a NUL, then the trailing spaces no
    backslash quotes (a tab, or any other character, stays)."""
    line = (line[:-1] if line.endswith("\r") else line).partition("\0")[0]
    if line.startswith("#"):
        return None
    index = keep = 0
    while index < len(line):
        if line[index] == "\\":
            index += 2  # the backslash and what it quotes
            keep = min(index, len(line))
            continue
        index += 1
        if line[index - 1] != " ":
            keep = index
    return line[:keep] or None
