"""The paths git's index tracks, read from `.git/index` itself: whether a dep
is tracked decides its digest (a git blob id or xxh3), and asking pygit2
costs its import, which is more than a build of a few hundred stages spends
on anything else of its own.

Only the plain formats are read (versions 2 and 3, whole, every entry a file,
a symlink or a submodule, the trailing checksum right); anything else (a
compressed version 4 index, a split or sparse one, an extension git marks as
required, a malformed file) gets None, and the caller asks pygit2, which
reads them all or says why not.
"""

from __future__ import annotations

import hashlib
import struct

_HEADER = struct.Struct(">4sII")  # "DIRC", version, entry count
_TRAILER = 20                     # SHA-1 of everything before it
_FIXED = 62                       # stat data (40), object id (20), flags (2)
_EXTENDED = 0x4000                # flags: two more flag bytes follow (version 3)
_NAME_MASK = 0xFFF                # flags: the name's length, or 0xFFF for "longer"
_MODE_AT = 24
_FLAGS_AT = 60
# An entry that is a directory stands for all it holds (a sparse index).
_FILE_TYPES = (0o100000, 0o120000, 0o160000)


def tracked_names(index_path: str) -> frozenset[str] | None:
    """Every path the index at `index_path` holds (relative to the top of the
    work tree, any stage), or None where only git can say. No index file is
    an empty index, as git reads it."""
    from gitpipe.core.nofollow import regular_file_bytes

    try:
        data = regular_file_bytes(index_path)
    except FileNotFoundError:
        return frozenset()
    except OSError:
        return None
    return None if data is None else parse_names(data)


def parse_names(data: bytes) -> frozenset[str] | None:
    """The paths of a plain index's entries, or None (see the module's doc)."""
    end = len(data) - _TRAILER
    if end < _HEADER.size:
        return None
    signature, version, count = _HEADER.unpack_from(data)
    if signature != b"DIRC" or version not in (2, 3) or not _checksum_holds(data, end):
        return None
    names: list[bytes] = []
    pos = _HEADER.size
    for _ in range(count):
        entry = _entry_at(data, pos, end, version)
        if entry is None:
            return None
        name, pos = entry
        names.append(name)
    if not _only_optional_extensions(data, pos, end):
        return None
    return frozenset(name.decode("utf-8", "surrogateescape") for name in names)


def _checksum_holds(data: bytes, end: int) -> bool:
    """Whether the trailer is the SHA-1 of what precedes it; git writes zeros
    there under index.skipHash."""
    trailer = data[end:]
    if trailer == bytes(_TRAILER):
        return True
    return hashlib.sha1(memoryview(data)[:end], usedforsecurity=False).digest() == trailer


def _entry_at(data: bytes, pos: int, end: int, version: int) -> tuple[bytes, int] | None:
    """(the name of the entry at `pos`, where the next one starts), or None
    where it is not a plain entry inside the data."""
    if pos + _FIXED > end:
        return None
    (mode,) = struct.unpack_from(">I", data, pos + _MODE_AT)
    (flags,) = struct.unpack_from(">H", data, pos + _FLAGS_AT)
    head = _FIXED
    if flags & _EXTENDED:
        if version < 3:
            return None
        head += 2
    if mode & 0o170000 not in _FILE_TYPES:
        return None
    start = pos + head
    length = flags & _NAME_MASK
    stop = data.find(b"\0", start, end) if length == _NAME_MASK else start + length
    if stop < start or stop >= end or data[stop] != 0 or stop == start:
        return None
    # The name ends in 1 to 8 NULs that pad the entry to a multiple of 8 bytes.
    return data[start:stop], pos + ((head + stop - start + 8) & ~7)


def _only_optional_extensions(data: bytes, pos: int, end: int) -> bool:
    """Whether the extensions from `pos` fill the data up to the trailer and
    git marks each one optional (an upper-case first letter: a cache of trees,
    of untracked files, the resolve-undo record). A required one ("link" of a
    split index, "sdir" of a sparse one) changes what the entries mean."""
    while pos < end:
        if pos + 8 > end:
            return False
        signature, size = struct.unpack_from(">4sI", data, pos)
        if not 0x41 <= signature[0] <= 0x5A:
            return False
        pos += 8 + size
    return pos == end


def project_tracked(index_path: str, prefix: str) -> frozenset[str] | None:
    """The paths the index holds under the project at `prefix` (its path in
    the work tree, "" at the top), project-relative; None where only git can
    say."""
    names = tracked_names(index_path)
    if names is None or not prefix:
        return names
    top = prefix + "/"
    return frozenset(name[len(top):] for name in names if name.startswith(top))

