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
the text they are, so a folder's own name passes, and so do the flags of
England, Scotland and Wales, the only emoji written with tag characters;
tag characters anywhere else are text no terminal shows.
"""

from __future__ import annotations

import os
import unicodedata

# The format characters scripts are written with: the zero-width non-joiner
# and joiner.
_JOINERS = frozenset("\u200c\u200d")
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                  "\u2066\u2067\u2068\u2069")
_NO_BREAK_SPACE = "\u00a0"
_BLACK_FLAG = "\U0001f3f4"
# A black flag, a region's code in tag characters, a cancel tag: 🏴󠁧󠁢󠁳󠁣󠁴󠁿.
_TAG_FLAGS = tuple(_BLACK_FLAG + "".join(chr(0xE0000 + ord(c)) for c in region) + "\U000e007f"
                   for region in ("gbeng", "gbsct", "gbwls"))


def shows_as_is(text: str) -> bool:
    """Whether a terminal shows `text` as the plain text it is: no character
    it would obey or hide. The one test of the helpers that show text from
    git or a remote (`trust/checks.py`)."""
    return text.isprintable() or _first_odd(text) is None


def _plain(char: str) -> bool:
    return char.isprintable() or char in _JOINERS or (
        unicodedata.category(char) == "Zs" and char != _NO_BREAK_SPACE)


def odd_character(text: str) -> str | None:
    """The first character of `text` a terminal would obey or hide, said as
    a message gives it (`a bidi control (U+202E) at character 14`), or None."""
    found = _first_odd(text)
    if found is None:
        return None
    index, char = found
    return f"{_kind(char)} (U+{ord(char):04X}) at character {index + 1}"


def _first_odd(text: str) -> tuple[int, str] | None:
    """The place and character of the first character of `text` that is not
    plain, past the tag characters of a flag; None if there is none."""
    flagged = _BLACK_FLAG in text
    index = 0
    while index < len(text):
        char = text[index]
        if flagged and char == _BLACK_FLAG:
            flag = next((f for f in _TAG_FLAGS if text.startswith(f, index)), char)
            index += len(flag)
            continue
        if not _plain(char):
            return index, char
        index += 1
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


def quoted(text: str) -> str:
    """`text` in quotes as repr writes it, except that what a terminal shows
    as the plain text it is stays as it is (`shows_as_is`): repr escapes a
    full-width space or the joiner in a folder's name (`データ\\u3000保存`),
    which then reads as a character the name does not hold."""
    if text.isprintable() or not shows_as_is(text):
        return repr(text)
    quote = '"' if "'" in text and '"' not in text else "'"
    return quote + text.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def shell_word(text: str) -> str:
    """`text` as one word for a POSIX shell that a terminal shows as it is:
    shlex's quoting where every character is plain, else bash's `$'…'` with
    each character a terminal would obey or hide written as the bytes the
    file system holds for it (`$'m\\nhint: x'`, `$'\\xe2\\x80\\xae'`, a name's
    undecodable byte as itself: `$'\\xff'`), so a pasted command still names
    the file whatever the shell's locale, and no line of it is forged."""
    import shlex

    if shows_as_is(text):
        return shlex.quote(text)
    return "$'" + "".join(_ansi_c(char) for char in text) + "'"


def _ansi_c(char: str) -> str:
    if char in "\\'":
        return "\\" + char
    if shows_as_is(char):
        return char
    if char == "\n":
        return "\\n"
    # bash's `\u…` is the character in the shell's locale (a C locale keeps
    # it as typed) and a lone surrogate is no character: bytes name the file.
    try:
        encoded = os.fsencode(char)
    except UnicodeEncodeError:  # a surrogate no file name decodes to
        encoded = char.encode("utf-8", "surrogatepass")
    return "".join(f"\\x{byte:02x}" for byte in encoded)
