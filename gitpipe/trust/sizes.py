"""How many bytes gitpipe reads from a remote for one object or record.

A remote is written by anyone who can push there, so a file planted under an
object's name may be of any size. Its name is checked against its bytes only
once they are read; what it may hold is known before: the size the record
naming it gives (a directory manifest's row, a lock's or run entry's out), or
a ceiling for what no record sizes (a manifest, a run-cache entry). A
download stops one byte past that and keeps nothing, so a remote cannot fill
the disk or the memory; a file object no record sizes is not downloaded.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from gitpipe.hashing.digests import DIR_SUFFIX

# A record read whole into memory (a run-cache entry, a pack index, the format
# marker) holds at most this: anything larger on a remote was planted there.
MAX_RECORD_BYTES = 64 * 1024 * 1024
# A directory manifest is parsed whole too; at about 80 bytes a row this is
# some three million files of ordinary names.
MAX_MANIFEST_BYTES = 256 * 1024 * 1024


# A file object no record sizes is not downloaded: its size would be the
# remote's word only. A lock gitpipe writes gives every file out its size.
UNSIZED_HINT = ("gitpipe.lock gives every file out its size; an entry without one was "
                "written by hand or another tool: run 'gitpipe repro' (or 'gitpipe "
                "commit') where the file is to record it again")


class ReadLimit(NamedTuple):
    """The most bytes to read, and what sets that, for the message."""

    most: int
    why: str


def read_limit(digest: str | None, recorded: object = None) -> ReadLimit | None:
    """What a download of `digest` (None: a record, named by no digest) may
    read: the size a record gives the file (`recorded`, when it is a count),
    a ceiling for a manifest or a record; None when nothing bounds it (a file
    no record at hand sizes: a lock entry written without sizes), which is
    then not downloaded."""
    if digest is None:
        return ReadLimit(MAX_RECORD_BYTES, "a record may hold")
    if digest.endswith(DIR_SUFFIX):
        return ReadLimit(MAX_MANIFEST_BYTES, "a directory manifest may hold")
    if type(recorded) is int and recorded >= 0:
        return ReadLimit(recorded, "its record gives")
    return None


def check_read_limit(digest: str, listed: int, recorded: int | None) -> ReadLimit:
    """What a check of a remote's object reads (fsck): as much as the remote
    lists (its own word, so a file longer than that is bad too) or, where
    larger, the size a record gives it (a listing without sizes says 0). A
    record's size only ever lets the check read further: records come from
    git or from any writer of the remote, and a size smaller than the object
    would make a good object 'bad', for a repair to delete."""
    if digest.endswith(DIR_SUFFIX):
        return ReadLimit(MAX_MANIFEST_BYTES, "a directory manifest may hold")
    if recorded is not None and recorded > listed:
        return ReadLimit(recorded, "its record gives")
    return ReadLimit(listed, "the remote lists")


def size_problem(limit: ReadLimit | None, got: int) -> str | None:
    """Why `got` bytes (read at most one past the limit) are refused, or None."""
    if limit is None or got <= limit.most:
        return None
    return f"holds more than the {limit.most:,} bytes {limit.why}"


def packed_size_problem(length: int, recorded: object) -> str | None:
    """Why a pack index's `length` for an object is refused unread: it is not
    the size the record naming the object gives. None when it is, or when no
    record at hand gives one (its bytes are still checked by their hash)."""
    if type(recorded) is not int or recorded < 0 or length == recorded:
        return None
    return f"gives it {length:,} bytes, but its record gives {recorded:,}"


def loads_record(data: bytes | str) -> Any:
    """A record's JSON, as json.loads reads it; ValueError for one that is not
    JSON, including one nested deeper than Python's parser recurses (a few
    kilobytes of '[' raise RecursionError there)."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("a record nested deeper than any gitpipe writes") from None
