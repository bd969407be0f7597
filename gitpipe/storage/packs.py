"""Pack files: many small objects in one remote object, with an index, so a push
or pull of 10,000 small files is a handful of requests instead of 10,000.

On a remote (format 2, see packstore.py):

    packs/pack-<name>.pack   the objects' bytes, one after another
    packs/pack-<name>.idx    JSON: {"format": 1, "size": <pack bytes>,
                             "objects": [[digest, offset, length], ...]}

`<name>` is the xxh3 of the index's bytes. A pack is uploaded before its
index, so an index is only ever seen beside a whole pack; an index is
untrusted (trust/packindex.py) and every object read out of a pack is hashed
against its digest before it enters the cache.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import xxhash

from gitpipe.core.errors import RecordError
from gitpipe.hashing.digests import copy_hashing_stream
from gitpipe.storage.objects import CacheError
from gitpipe.trust import checks as trust
from gitpipe.trust import packindex
from gitpipe.trust.sizes import loads_record

PACKS = "packs"
INDEX_SUFFIX = ".idx"
PACK_SUFFIX = ".pack"
# Objects below this size go into packs. Above it, the request is a small part
# of an object's transfer time, and a loose object streams without memory.
PACK_THRESHOLD = 1024 * 1024
# Fewer small objects than this are pushed loose: a pack for a handful of
# objects saves little and makes one more index every later push reads.
PACK_MIN_OBJECTS = 16
PACK_TARGET_BYTES = 16 * 1024 * 1024
PACK_MAX_OBJECTS = 10_000
# A read from a pack covers neighbouring wanted objects up to this span, and
# skips a gap of unwanted bytes up to GAP_BYTES rather than start a new read.
SPAN_BYTES = 4 * 1024 * 1024
GAP_BYTES = 256 * 1024


@dataclass(frozen=True)
class PackedObject:
    """Where one object's bytes lie: `pack` is the pack's key on the remote.
    `elsewhere`: the same digest in other packs, tried in turn when these
    bytes are refused (another index may name it, forged or not)."""

    pack: str
    offset: int
    length: int
    elsewhere: tuple[PackedObject, ...] = ()

    def also_at(self, other: PackedObject) -> PackedObject:
        return replace(self, elsewhere=(*self.elsewhere, other))

    def next_copy(self) -> PackedObject | None:
        """The next place to read the object from, or None when none is left."""
        if not self.elsewhere:
            return None
        return replace(self.elsewhere[0], elsewhere=self.elsewhere[1:])


@dataclass(frozen=True)
class BuiltPack:
    """A pack written locally, ready to upload: the pack file, then the index."""

    path: Path
    index: bytes
    digests: tuple[str, ...]
    size: int

    @property
    def key(self) -> str:
        return f"{PACKS}/pack-{xxhash.xxh3_128_hexdigest(self.index)}"


def pack_key(index_key: str) -> str:
    """The pack an index describes: the index's own name, never one it gives."""
    return index_key.removesuffix(INDEX_SUFFIX) + PACK_SUFFIX


def parse_index(index_key: str, data: bytes, pack_size: int | None) -> dict[str, PackedObject]:
    """The objects an index names, once it passes trust/packindex.py;
    RecordError naming the index otherwise."""
    try:
        doc = loads_record(data)
    except ValueError:
        doc = None
    problem = packindex.pack_index_problem(doc, pack_size) if doc is not None else "is not JSON"
    if problem is not None:
        raise RecordError(f"pack index {index_key} {problem}", hint=trust.RECORD_HINT)
    pack = pack_key(index_key)
    return {digest: PackedObject(pack, offset, length)
            for digest, offset, length in doc["objects"]}


def plan_packs(sizes: Mapping[str, int]) -> list[list[str]]:
    """Objects grouped into packs of about PACK_TARGET_BYTES each."""
    groups: list[list[str]] = []
    current: list[str] = []
    total = 0
    for digest, size in sizes.items():
        if current and (total + size > PACK_TARGET_BYTES or len(current) >= PACK_MAX_OBJECTS):
            groups.append(current)
            current, total = [], 0
        current.append(digest)
        total += size
    return [*groups, current] if current else groups


def build_pack(objects: Sequence[tuple[str, Path]], dest: Path) -> BuiltPack:
    """Write `objects` (digest, cache path) one after another into `dest`, each
    hashed as it is copied: a corrupt cache object never reaches a remote."""
    rows = []
    offset = 0
    with open(dest, "wb") as writer:
        for digest, path in objects:
            with open(path, "rb", buffering=0) as reader:
                got, size = copy_hashing_stream(reader, [writer])
            if f"xxh3:{got}" != digest:
                raise CacheError(f"cannot push {digest}: the cache object {path} is corrupt "
                                 f"(its content hashes to xxh3:{got})",
                                 hint="run 'gitpipe fsck --repair', then 'gitpipe repro'")
            rows.append([digest, offset, size])
            offset += size
    index = json.dumps({"format": 1, "size": offset, "objects": rows},
                       separators=(",", ":")).encode()
    return BuiltPack(dest, index, tuple(d for d, _ in objects), offset)


def spans(wanted: Mapping[str, PackedObject]) -> list[list[tuple[str, PackedObject]]]:
    """The wanted objects as reads: each a run of objects of one pack, close
    together, that one ranged read of at most about SPAN_BYTES covers.

    The index is the remote writer's word: objects it spreads out (a byte
    every GAP_BYTES) would make every read mostly gaps. The gaps read across,
    all reads together, are at most the wanted objects' bytes plus GAP_BYTES,
    so a pull reads at most twice what it wants and GAP_BYTES more."""
    by_pack: dict[str, list[tuple[str, PackedObject]]] = {}
    for digest, where in wanted.items():
        by_pack.setdefault(where.pack, []).append((digest, where))
    gaps_left = sum(where.length for where in wanted.values()) + GAP_BYTES
    reads: list[list[tuple[str, PackedObject]]] = []
    for items in by_pack.values():
        items.sort(key=lambda item: item[1].offset)
        current: list[tuple[str, PackedObject]] = []
        start = end = 0
        for item in items:
            offset, stop = item[1].offset, item[1].offset + item[1].length
            gap = max(0, offset - end)
            if current and (gap > min(GAP_BYTES, gaps_left) or stop - start > SPAN_BYTES):
                reads.append(current)
                current = []
            elif current:
                gaps_left -= gap
            if not current:
                start = end = offset
            current.append(item)
            end = max(end, stop)
        if current:
            reads.append(current)
    return reads


def span_range(items: Sequence[tuple[str, PackedObject]]) -> tuple[int, int]:
    """The bytes [start, end) of the pack that a read of `items` takes."""
    return items[0][1].offset, _end(items)


def _end(items: Sequence[tuple[str, PackedObject]]) -> int:
    return max(where.offset + where.length for _, where in items)


def split_verified(data: bytes, start: int, items: Sequence[tuple[str, PackedObject]],
                   source: str) -> Iterator[tuple[str, bytes | CacheError]]:
    """Each object of a read, or the CacheError that refuses it: bytes that are
    short or do not hash to the object's digest never leave here."""
    view = memoryview(data)
    for digest, where in items:
        piece = view[where.offset - start:where.offset - start + where.length]
        got = f"xxh3:{xxhash.xxh3_128_hexdigest(piece)}"
        if len(piece) != where.length or got != digest:
            yield digest, CacheError(f"{source}: object {digest} in {where.pack} is corrupt "
                                     f"(its bytes hash to {got}); it was not used",
                                     hint="run 'gitpipe fsck --remote NAME' to find the "
                                     "damage, and push again from a clone that has it")
        else:
            yield digest, bytes(piece)
