"""Many versions of gitpipe.lock read entry by entry: a history holds hundreds
of versions of one lock, each differing from the one before in a few entries,
so each entry's text is parsed once for all of them.

Only a lock in the shape `lockfile.render` writes is split: the header
`schema: 1` / `stages:`, then each entry starting at a line indented by two
spaces, every other line indented deeper or empty. Each piece goes through
`lockfile.parse` (the validating reader) as a lock of its own; a text of any
other shape, one with YAML anchors, or a piece that does not read as exactly
one entry is parsed whole, so the answer (or the error) is always the one
`lockfile.parse` gives for the whole text (tests/unit/test_lockentries.py).
"""

from __future__ import annotations

import re

from gitpipe.core.errors import GitpipeError
from gitpipe.core.yamlio import MAX_BYTES
from gitpipe.pipeline import lockfile
from gitpipe.pipeline.lockfile import LockEntry

HEADER = f"schema: {lockfile.SCHEMA}\nstages:\n"
# An anchor (`&name`) lets one entry's text name another's: such a lock is read whole.
_ANCHOR = re.compile(r"(?:^|\s)&[^\s&]")
# Line breaks YAML (or str.splitlines) knows besides "\n": a text holding one
# is read whole.
_OTHER_BREAKS = ("\r", "\x85", "\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e")


class EntryParser:
    """Parses lock texts, remembering each entry's text and what it read as."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[str, LockEntry]] = {}

    def parse(self, text: str) -> dict[str, LockEntry]:
        """`lockfile.parse(text)`, the entries seen before taken as read."""
        pieces = entry_texts(text)
        if pieces is None:
            return lockfile.parse(text)
        entries: dict[str, LockEntry] = {}
        for piece in pieces:
            known = self._known.get(piece) or self._read(piece)
            if known is None or known[0] in entries:
                return lockfile.parse(text)  # its own answer, or its own error
            entries[known[0]] = known[1]
        return entries

    def _read(self, piece: str) -> tuple[str, LockEntry] | None:
        try:
            parsed = lockfile.parse(HEADER + piece)
        except GitpipeError:
            return None
        if len(parsed) != 1:
            return None
        self._known[piece] = next(iter(parsed.items()))
        return self._known[piece]


def entry_texts(text: str) -> list[str] | None:
    """The text of each entry of a lock in `render`'s shape, or None."""
    if not text.startswith(HEADER) or len(text) > MAX_BYTES or _ANCHOR.search(text) \
            or any(mark in text for mark in _OTHER_BREAKS):
        return None
    pieces: list[list[str]] = []
    for line in re.split(r"(?<=\n)", text[len(HEADER):]):
        bare = line.rstrip("\n")
        if bare.startswith("  ") and bare[2:3] not in (" ", "#", "\t", ""):
            pieces.append([line])
        elif bare == "" or bare.startswith("   "):
            if pieces:
                pieces[-1].append(line)
            elif bare != "":
                return None
        else:
            return None
    return ["".join(lines) for lines in pieces]


__all__ = ["HEADER", "EntryParser", "entry_texts"]
