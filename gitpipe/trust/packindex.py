"""A remote's packs and format marker, as read from the remote.

A pack index comes from a remote, so from anyone who can write there: it is
read only after these rules, and then names nothing but byte ranges inside
its own pack (whose name is the index's own, never one the index gives).
"""

from __future__ import annotations

import re
from typing import Any

from gitpipe.trust.checks import digest_problem

PACK_INDEX_NAME = re.compile(r"packs/pack-[0-9a-f]{32}\.idx\Z")
MAX_PACK_ENTRIES = 100_000  # ten times what gitpipe writes into one pack
# Refused unread beyond this: what that many rows (`["xxh3:<32 hex>",offset,
# length],`, under 80 bytes each) take. Parsed whole, in parallel; 64 MiB of
# tiny rows cost some 200 MiB of memory each.
MAX_PACK_INDEX_BYTES = MAX_PACK_ENTRIES * 80 + 4096
MAX_PACKED_OBJECT = 16 * 1024 * 1024  # read whole into memory; gitpipe packs < 1 MiB
# Every command on a remote reads all its indexes (one request each, parsed
# into memory): a remote gets one more with each push of 16 or more small
# files. Past either limit, the listing is planted (or no longer a remote one
# command should read whole), and nothing there is read.
MAX_PACK_INDEXES = 10_000
MAX_PACK_INDEXES_BYTES = 256 * 1024 * 1024  # some three million packed objects


def pack_index_name_problem(rel: str, size: int) -> str | None:
    """Why the listed file `rel` (of `size` bytes) is not a pack index to read."""
    if not PACK_INDEX_NAME.match(rel):
        return "is not named like a pack index (packs/pack-<32 hex>.idx)"
    if size > MAX_PACK_INDEX_BYTES:
        return (f"holds {size:,} bytes, more than a pack index may "
                f"({MAX_PACK_INDEX_BYTES:,})")
    return None


def pack_listing_problem(sizes: list[int]) -> str | None:
    """Why the pack indexes a remote lists (their sizes) are too many to read."""
    if len(sizes) > MAX_PACK_INDEXES:
        return (f"lists {len(sizes):,} pack indexes, more than gitpipe reads "
                f"({MAX_PACK_INDEXES:,})")
    if sum(sizes) > MAX_PACK_INDEXES_BYTES:
        return (f"lists pack indexes of {sum(sizes):,} bytes in all, more than gitpipe reads "
                f"({MAX_PACK_INDEXES_BYTES:,})")
    return None


def pack_index_problem(doc: Any, pack_size: int | None) -> str | None:
    """Why `doc` (a parsed pack index) is not one for a pack of `pack_size`
    bytes (None: the pack is absent), or None when every entry is a well-formed
    object digest whose bytes lie inside the pack."""
    if not isinstance(doc, dict) or doc.get("format") != 1:
        return "is not a pack index of format 1"
    if pack_size is None:
        return "has no pack beside it"
    if type(doc.get("size")) is not int or doc["size"] != pack_size:
        return f"describes a pack of {doc.get('size')!r} bytes, but its pack holds {pack_size}"
    rows = doc.get("objects")
    if not isinstance(rows, list):
        return "has no list of objects"
    if len(rows) > MAX_PACK_ENTRIES:
        return f"names {len(rows)} objects, more than a pack may hold ({MAX_PACK_ENTRIES})"
    seen: set[str] = set()
    for row in rows:
        problem = _pack_row_problem(row, pack_size)
        if problem is not None:
            return problem
        if row[0] in seen:  # gitpipe writes each object once into a pack
            return f"names {row[0]} twice"
        seen.add(row[0])
    return None


def _pack_row_problem(row: Any, pack_size: int) -> str | None:
    if not isinstance(row, list) or len(row) != 3:
        return f"has an entry {str(row)[:80]!r} that is not [digest, offset, length]"
    digest, offset, length = row
    problem = digest_problem(digest, directory=False)
    if problem is not None:
        return f"has an entry where {problem}"
    if not all(type(n) is int for n in (offset, length)) or offset < 0 or length < 0:
        return f"has an entry for {digest} whose offset or length is not a count"
    if length > MAX_PACKED_OBJECT or offset + length > pack_size:
        return (f"has an entry for {digest} at bytes {offset}+{length}, outside its pack "
                f"of {pack_size} bytes")
    return None


def remote_format_problem(doc: Any) -> str | None:
    """Why `doc` (a remote's parsed format marker) is not {"format": N}, N ≥ 1."""
    if not isinstance(doc, dict) or type(doc.get("format")) is not int or doc["format"] < 1:
        return 'is not {"format": N} with N a positive whole number'
    return None
