"""Which text a terminal shows as the plain text it is, and, where it does
not, what the first character that it would obey or hide is, in words a
message can give.

Control characters (ESC, newline, DEL, C1), line and paragraph separators
and bidi controls are never plain: an escape sequence clears the screen or
rewrites the lines above, a newline forges a line, a bidi control shows a
name reversed. A no-break space shows as a plain space and is not one: a web
page or a word processor puts it where a space was typed, and a path holding
it names another folder. Spaces of other widths (`/data/プロジェクト　データ`,
the narrow no-break space macOS writes in file names) and the zero-width
joiners that Persian, Indic scripts and emoji are written with are shown as
the text they are, so a folder's own name passes.
"""

from __future__ import annotations

import unicodedata

# The format characters scripts are written with: the zero-width non-joiner
# and joiner.
_JOINERS = frozenset("\u200c\u200d")
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                  "\u2066\u2067\u2068\u2069")
_NO_BREAK_SPACE = "\u00a0"


def shows_as_is(text: str) -> bool:
    """Whether a terminal shows `text` as the plain text it is: no character
    it would obey or hide. The one test of the helpers that show text from
    git or a remote (`trust/checks.py`)."""
    return text.isprintable() or all(_plain(char) for char in text)


def _plain(char: str) -> bool:
    return char.isprintable() or char in _JOINERS or (
        unicodedata.category(char) == "Zs" and char != _NO_BREAK_SPACE)


def odd_character(text: str) -> str | None:
    """The first character of `text` a terminal would obey or hide, said as
    a message gives it (`a bidi control (U+202E) at character 14`), or None."""
    for index, char in enumerate(text, 1):
        if not _plain(char):
            return f"{_kind(char)} (U+{ord(char):04X}) at character {index}"
    return None


def _kind(char: str) -> str:
    if char in _BIDI:
        return "a bidi control"
    if char == _NO_BREAK_SPACE:
        return "a no-break space"
    category = unicodedata.category(char)
    if category == "Cc":
        return "a control character"
    if category in ("Zl", "Zp"):
        return "a line separator"
    if category == "Cf":
        return "an invisible format character"
    return "a character no terminal shows"
