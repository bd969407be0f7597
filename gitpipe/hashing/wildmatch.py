"""git's wildmatch as a regex: a `.gitpipeignore` pattern compiled to match a path
the way `git check-ignore` does, without the regex backtracking for ever.

Imported only where a rule file is parsed: the seal's fast path walks
directories with ignore.py, and most projects have no rule file.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Protocol

# A wildcard's regex; `*` also in the lazy form its atomic group uses.
_WILD = {"*": "[^/]*", "**": ".*", "**/": "(?:.*/)?"}
MAX_DOUBLE_STARS = 4


class Matcher(Protocol):
    """A compiled pattern: a regex, or a ByteWise one."""

    def match(self, text: str) -> re.Match[str] | None: ...

    def fullmatch(self, text: str) -> re.Match[str] | None: ...


def compile_pattern(pattern: str) -> Matcher:
    """`pattern` compiled to match a path (or name) as git matches it: on
    its UTF-8 bytes. Only `?` and `[...]` tell bytes from characters (git's
    `?` takes one byte of `é`, `[é]` is a set of two bytes); a pattern
    without them is matched on the text as it is."""
    if "?" not in pattern and "[" not in pattern:
        return re.compile(translate(pattern))
    return ByteWise(re.compile(translate(_bytes_as_text(pattern))))


class ByteWise:
    """A regex over a text's UTF-8 bytes, one character each (latin-1)."""

    __slots__ = ("regex",)

    def __init__(self, regex: re.Pattern[str]) -> None:
        self.regex = regex

    def match(self, text: str) -> re.Match[str] | None:
        return self.regex.match(_bytes_as_text(text))

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self.regex.fullmatch(_bytes_as_text(text))


def _bytes_as_text(text: str) -> str:
    """`text`'s bytes as they are on disk (a name that is not UTF-8 was read
    with surrogateescape), one character each."""
    return text if text.isascii() else text.encode("utf-8", "surrogateescape").decode("latin-1")


def translate(pattern: str) -> str:
    """A gitignore pattern (no leading or trailing slash) as a regex matching the
    whole path: `*` and `?` stay within a path segment, `**/`, `/**` and `/**/`
    cross them (two or more stars, as in git, also where they are the first
    wildcard after a literal prefix: `foo**/bar` matches `foo/x/bar`),
    `[...]` is a class, a backslash quotes the next character.

    A `*` followed by a literal part and a later wildcard goes in an
    atomic group (a lookahead captured and matched back, as fnmatch does), so
    a pattern like `*a*a*a*b` from someone else's repository cannot make the
    regex backtrack for ever. Within one segment the leftmost match of the
    literal is always a right one, as every later position of that segment is
    reachable by the wildcards after it. Each `**/` but the last goes in one
    too, with the part after it up to the next `**`: that part spans a fixed
    number of segments, and its leftmost place is always a right one, as the
    next `**` can skip whatever segments a later place would have skipped.
    Backtracked, `**/a/**/a/**/a/**/b` costs a power of a path's depth.
    """
    try:
        pieces = _pieces(pattern)
    except _Unmatchable:
        return "(?!)"
    groups = itertools.count(1)
    stars = [at for at, (kind, text) in enumerate(pieces) if kind == "wild" and text != "*"]
    ends = [*stars, len(pieces)]
    out = [_part(pieces[:ends[0]], groups, later=bool(stars))]
    for number, at in enumerate(stars):
        later = number + 1 < len(stars)
        part = _part(pieces[at + 1:ends[number + 1]], groups, later)
        if later:
            group = next(groups)
            out.append(f"(?=(?P<g{group}>(?:.*?/)??{part}))(?P=g{group})")
        else:
            out.append(_WILD[pieces[at][1]] + part)
    return "(?s:" + "".join(out) + r")\Z"


def _part(pieces: list[tuple[str, str]], groups: Iterator[int], later: bool) -> str:
    """Literals and `*` wildcards as a regex; `later`: a `**` follows them."""
    out: list[str] = []
    index = 0
    while index < len(pieces):
        kind, text = pieces[index]
        index += 1
        if kind == "lit":
            out.append(text)
            continue
        literal = []
        while index < len(pieces) and pieces[index][0] == "lit":
            literal.append(pieces[index][1])
            index += 1
        if (index == len(pieces) and not later) or not literal:
            out.append(_WILD[text] + "".join(literal))
            continue
        group = next(groups)
        out.append(f"(?=(?P<g{group}>[^/]*?{''.join(literal)}))(?P=g{group})")
    return "".join(out)


def _pieces(pattern: str) -> list[tuple[str, str]]:
    """The pattern as literal regex parts and wildcards ("*", "**", "**/")."""
    pieces: list[tuple[str, str]] = []
    first_wild = _first_wildcard(pattern)
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            stars = index
            while index < len(pattern) and pattern[index] == "*":
                index += 1
            double = _double_star(pattern, stars, index, first_wild)
            if double and index < len(pattern):
                pieces.append(("wild", "**/"))
                index += 1
            elif double:
                pieces.append(("wild", "**"))
            elif not pieces or pieces[-1] != ("wild", "*"):
                pieces.append(("wild", "*"))  # other runs of stars are one star, as in git
        elif char == "?":
            pieces.append(("lit", "[^/]"))
            index += 1
        elif char == "[":
            text, end = _class(pattern, index)
            pieces.append(("lit", text))
            index = end + 1
        elif char == "\\" and index + 1 < len(pattern):
            pieces.append(("lit", re.escape(pattern[index + 1])))
            index += 2
        else:
            pieces.append(("lit", re.escape(char)))
            index += 1
    return pieces


def _first_wildcard(pattern: str) -> int:
    """Where git's literal prefix of `pattern` ends (its first `*?[\\`)."""
    return next((at for at, char in enumerate(pattern) if char in "*?[\\"), len(pattern))


def _double_star(pattern: str, start: int, end: int, first_wild: int) -> bool:
    """Whether the run of stars `pattern[start:end]` is git's `**`: two or
    more, ending the pattern or a segment, and opening a segment or (as git
    matches a pattern after its literal prefix) the pattern's first wildcard."""
    opens = start == 0 or pattern[start - 1] == "/" or start == first_wild
    return end - start >= 2 and opens and (end == len(pattern) or pattern[end] == "/")


class _Unmatchable(Exception):
    """A pattern git's wildmatch gives up on (an unclosed `[`, an unknown
    `[:name:]`): it matches nothing."""


# The POSIX classes git knows inside `[...]`, as regex set items (ASCII, as git's ctype).
_POSIX = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "blank": " \\t", "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~",
    "punct": "!-/:-@\\[-`{-~", "space": "\\t-\\r ", "upper": "A-Z", "xdigit": "0-9A-Fa-f",
}


def _class(pattern: str, start: int) -> tuple[str, int]:
    """The `[...]` opening at `start` as a regex, and the index of its `]`.
    As in git's wildmatch, a `]` right after `[` or `[!` is literal, and the
    class never matches a `/`."""
    index = start + 1
    negate = pattern[index:index + 1] in ("!", "^")
    if negate:
        index += 1
    first = index
    items: list[str] = []
    previous = ""  # the last literal, the low end of a range; "" after a range or class
    while True:
        if index >= len(pattern):
            raise _Unmatchable
        if pattern[index] == "]" and index > first:
            break
        index, previous = _class_item(pattern, index, previous, items)
        index += 1
    body = "".join(items)
    if negate:
        return f"[^/{body}]", index
    return (f"(?!/)[{body}]" if body else "(?!)"), index


def _class_item(pattern: str, index: int, previous: str, items: list[str]) -> tuple[int, str]:
    """Adds the class item at `index` to `items`; the index of its last
    character, and the literal it leaves as a range's low end."""
    char = pattern[index]
    if char == "\\":
        quoted = _at(pattern, index + 1)
        items.append(_in_set(quoted))
        return index + 1, quoted
    if char == "-" and previous and index + 1 < len(pattern) and pattern[index + 1] != "]":
        index += 1
        high = pattern[index]
        if high == "\\":
            index += 1
            high = _at(pattern, index)
        if previous <= high:  # a reversed range holds nothing, as in git
            items.append(f"{_in_set(previous)}-{_in_set(high)}")
        return index, ""
    if char == "[" and pattern.startswith(":", index + 1):
        end = pattern.find("]", index + 2)
        if end < 0:
            raise _Unmatchable
        if end - 1 < index + 2 or pattern[end - 1] != ":":
            items.append(_in_set(char))  # no `:]`: the `[` is a literal
            return index, char
        name = pattern[index + 2:end - 1]
        if name not in _POSIX:
            raise _Unmatchable
        items.append(_POSIX[name])
        return end, ""
    items.append(_in_set(char))
    return index, char


def _at(pattern: str, index: int) -> str:
    if index >= len(pattern):
        raise _Unmatchable
    return pattern[index]


def _in_set(char: str) -> str:
    return "\\" + char if char in "\\]^-[" else char
