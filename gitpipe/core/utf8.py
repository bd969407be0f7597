"""Bytes read as gitpipe's text files: UTF-8, or an error naming the file,
line and byte. A file that is not UTF-8 is refused wherever it is read (the
work tree, a commit, the index being committed), never read with its bad
bytes replaced: a replaced byte could make two different files read alike.
"""

from __future__ import annotations

from gitpipe.core.errors import BadInputError


def decode_utf8(data: bytes, name: str) -> str:
    """`data` as text; BadInputError naming `name` where it is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise not_utf8(data, name) from None


def not_utf8(data: bytes, name: str) -> BadInputError:
    """The error for `data` (the file `name`), at its first bad byte."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return BadInputError(f"{name}:{line}: not UTF-8 text (byte {data[exc.start]:#04x}: "
                             f"{exc.reason})", hint="gitpipe reads its files as UTF-8")
    return BadInputError(f"{name}: not UTF-8 text", hint="gitpipe reads its files as UTF-8")
