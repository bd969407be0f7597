"""A remote's packs and its format marker: which objects a remote holds, loose
or packed, read with a few requests; a new pack uploaded; objects read out of
packs, each verified.

The marker `gitpipe-remote.json` says which layout a remote uses:

    absent            format 1: loose objects only (files/, runs/)
    {"format": 2}     packs/ too; written before the first pack

A gitpipe refuses a remote whose format is newer than it knows. One older
than packs never lists `packs/`: it sees packed objects as missing (and
uploads them again loose), and its gc and fsck never touch them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from gitpipe.core.errors import GitpipeError, RecordError
from gitpipe.core.install import pip_install
from gitpipe.storage.objects import CacheError, object_key
from gitpipe.storage.packs import (
    INDEX_SUFFIX,
    PACK_SUFFIX,
    PACKS,
    BuiltPack,
    PackedObject,
    pack_key,
    parse_index,
    span_range,
    spans,
    split_verified,
)
from gitpipe.trust import checks as trust
from gitpipe.trust import packindex
from gitpipe.trust.sizes import loads_record, packed_size_problem


class Remote(Protocol):
    """What of a remote (storage/remote.py) packs need."""

    name: str
    url: str
    warned: set[str]

    def get_bytes(self, rel: str, most: int = ...) -> bytes | None: ...
    def put_bytes(self, rel: str, data: bytes) -> None: ...
    def upload(self, local: Path, rel: str) -> int: ...
    def sizes(self, prefix: str) -> dict[str, int]: ...
    def listed(self, prefix: str) -> dict[str, int]: ...
    def probe(self, rels: list[str], jobs: int = 8) -> dict[str, int]: ...
    def read_range(self, rel: str, start: int, end: int) -> bytes: ...

log = logging.getLogger(__name__)
MARKER = "gitpipe-remote.json"
FORMAT = 2  # the newest remote format this gitpipe reads and writes
# Up to this many objects are looked up one request each (in parallel); more,
# and one listing of files/ (1,000 keys a request on S3) is cheaper.
PROBE_LIMIT = 100
UPGRADE_HINT = f"upgrade gitpipe ({pip_install().replace('install', 'install -U')}) to use " \
    "this remote"


class RemoteFormatError(GitpipeError):
    """A remote's format marker is newer than this gitpipe, or malformed."""


class TooManyPacksError(GitpipeError):
    """A remote lists more pack indexes than a command reads."""


PACKS_HINT = ("each push of 16 or more small files adds one index to packs/; remove the "
              "packs/pack-*.idx files that no gitpipe wrote there (with the .pack of the same "
              "name), or move what the remote holds to a new remote with 'gitpipe push -r NEW' "
              "from a clone that has it")


def remote_format(remote: Remote) -> int:
    """The remote's format (1 when it has no marker); RemoteFormatError for a
    marker this gitpipe must not act on."""
    data = remote.get_bytes(MARKER)
    if data is None:
        return 1
    try:
        doc = loads_record(data)
    except ValueError:
        doc = None
    where = f"remote {remote.name!r} ({remote.url})"
    problem = packindex.remote_format_problem(doc)
    if problem is not None:
        raise RemoteFormatError(f"{where}: {MARKER} {problem}",
                                hint=f"restore it as {{\"format\": {FORMAT}}} if this gitpipe "
                                "wrote the remote, or " + UPGRADE_HINT)
    if doc["format"] > FORMAT:
        raise RemoteFormatError(f"{where} is in format {doc['format']}; this gitpipe reads "
                                f"formats up to {FORMAT} and changes nothing there",
                                hint=UPGRADE_HINT)
    return int(doc["format"])


@dataclass
class PackSet:
    """The packs a remote holds, from one listing of packs/ and their indexes."""

    format: int
    objects: dict[str, PackedObject] = field(default_factory=dict)
    indexes: dict[str, list[str]] = field(default_factory=dict)  # index key: its digests
    sizes: dict[str, int] = field(default_factory=dict)  # every file below packs/
    problems: dict[str, str] = field(default_factory=dict)  # index key: why it was not read


def read_packs(remote: Remote, jobs: int = 8) -> PackSet:
    """Every valid index of the remote, read in parallel. An index that breaks
    the rules is left out (its objects count as absent) and named in
    `problems`; a pack without an index is not there yet (or any more)."""
    found = PackSet(remote_format(remote))
    # Listed whatever the marker says: a marker lost or never written (a push
    # cut off) hides no pack.
    found.sizes = remote.sizes(PACKS)
    keys = sorted(key for key in found.sizes if key.endswith(INDEX_SUFFIX))
    problem = packindex.pack_listing_problem([found.sizes[key] for key in keys])
    if problem is not None:
        raise TooManyPacksError(f"remote {remote.name!r} ({remote.url}) {problem}; nothing was "
                                "read or written there", hint=PACKS_HINT)
    readable = []
    for key in keys:
        problem = packindex.pack_index_name_problem(key, found.sizes[key])
        if problem is None:
            readable.append(key)
        else:
            found.problems[key] = problem
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        bodies = list(pool.map(lambda key: remote.get_bytes(key, packindex.MAX_PACK_INDEX_BYTES),
                               readable))
    for key, data in zip(readable, bodies, strict=True):
        try:
            entries = parse_index(key, data or b"", found.sizes.get(pack_key(key)))
        except RecordError as exc:
            found.problems[key] = exc.message.removeprefix(f"pack index {key} ")
            continue
        found.indexes[key] = list(entries)
        for digest, where in entries.items():
            first = found.objects.get(digest)
            found.objects[digest] = where if first is None else first.also_at(where)
    for key, problem in found.problems.items():
        if key in remote.warned:
            continue
        remote.warned.add(key)
        log.warning("warning: remote %r: %s %s; the objects it names count as missing "
                    "(hint: 'gitpipe fsck --remote %s' checks the remote)",
                    remote.name, trust.printable(key), problem, remote.name)
    return found


@dataclass
class Inventory:
    """Which objects a remote holds: packed ones, and loose ones (those looked
    up, or all of files/ when listed)."""

    packs: PackSet
    loose: dict[str, int]  # object key: size

    def has(self, digest: str) -> bool:
        return digest in self.packs.objects or object_key(digest) in self.loose

    def size(self, digest: str) -> int:
        packed = self.packs.objects.get(digest)
        return packed.length if packed is not None else self.loose.get(object_key(digest), 0)

    def packed(self, digests: Collection[str]) -> dict[str, PackedObject]:
        """Those of `digests` to read from packs: the ones not also loose."""
        return {d: self.packs.objects[d] for d in digests
                if d in self.packs.objects and object_key(d) not in self.loose}


def locate(remote: Remote, digests: Collection[str]) -> Inventory:
    """Where the remote holds `digests`: the pack indexes, then each other
    object looked up, or one listing of files/ when there are many."""
    packs = read_packs(remote)
    rest = [object_key(d) for d in digests if d not in packs.objects]
    return Inventory(packs, present_keys(remote, rest, "files"))


def present_keys(remote: Remote, keys: list[str], prefix: str) -> dict[str, int]:
    """Which of `keys` (below `prefix`) the remote has, with sizes."""
    if not keys:
        return {}
    if len(keys) <= PROBE_LIMIT:
        return remote.probe(keys)
    return remote.listed(prefix)


def upload_pack(remote: Remote, built: BuiltPack) -> None:
    """The pack first, then its index: an index never names a pack that is not whole."""
    remote.upload(built.path, built.key + ".pack")
    remote.put_bytes(built.key + INDEX_SUFFIX, built.index)


def mark_format(remote: Remote, known: int) -> None:
    """Write the marker before the first pack, so an older gitpipe that reads
    it (and this one) knows packs may be there."""
    if known < FORMAT:
        remote.put_bytes(MARKER, json.dumps({"format": FORMAT}).encode() + b"\n")


Publish = Callable[[str, bytes], None]  # a verified object's digest and bytes


def fetch_packed(remote: Remote, wanted: Mapping[str, PackedObject], publish: Publish,
                 jobs: int = 8, recorded: Callable[[str], object] | None = None,
                 ) -> dict[str, CacheError]:
    """Read `wanted` out of their packs, one ranged read per run of nearby
    objects, and hand each verified object to `publish`. The objects that
    cannot be had (corrupt bytes, a pack gone, no copy of the size the
    object's record gives: `recorded`) are returned with the reason."""
    source = f"remote {remote.name!r}"
    refused: dict[str, CacheError] = {}

    def one(items: list[tuple[str, PackedObject]]) -> None:
        start, end = span_range(items)
        try:
            data = remote.read_range(items[0][1].pack, start, end)
        except FileNotFoundError:
            gone = CacheError(f"{source}: pack {items[0][1].pack} is gone; {len(items)} "
                              "object(s) in it were not fetched", hint="run the command again")
            refused.update(dict.fromkeys((digest for digest, _ in items), gone))
            return
        except CacheError as exc:
            refused.update(dict.fromkeys((digest for digest, _ in items), exc))
            return
        for digest, got in split_verified(data, start, items, source):
            if isinstance(got, CacheError):
                refused[digest] = got
            else:
                publish(digest, got)

    while wanted:
        wanted, unsized = sized_copies(wanted, recorded or (lambda _: None), source)
        refused.update(unsized)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            list(pool.map(one, spans(wanted)))
        # An object refused in one pack is read from its next copy, if any: a
        # forged index naming it cannot hide a good copy in another pack.
        wanted = {digest: copy for digest in list(refused) if digest in wanted
                  and (copy := wanted[digest].next_copy()) is not None}
        for digest in wanted:
            del refused[digest]
    return refused


def sized_copies(wanted: Mapping[str, PackedObject], recorded: Callable[[str], object],
                 source: str) -> tuple[dict[str, PackedObject], dict[str, CacheError]]:
    """Each wanted object's first copy whose length is the size its record gives
    (trust/sizes.py), before a byte is read: an index lying about a length
    costs no read. The objects left without such a copy, with the reason."""
    kept: dict[str, PackedObject] = {}
    refused: dict[str, CacheError] = {}
    for digest, where in wanted.items():
        copy: PackedObject | None = where
        size = recorded(digest)
        while copy is not None and packed_size_problem(copy.length, size) is not None:
            copy = copy.next_copy()
        if copy is not None:
            kept[digest] = copy
            continue
        index = where.pack.removesuffix(PACK_SUFFIX) + INDEX_SUFFIX
        refused[digest] = CacheError(
            f"{source}: object {digest}: pack index {index} "
            f"{packed_size_problem(where.length, size)} (and no other pack holds it at that "
            "size); it was not read", hint="run 'gitpipe fsck --remote NAME' to find the "
            "damage, and push again from a clone that has it")
    return kept, refused


def refusal(refused: Mapping[str, CacheError]) -> CacheError:
    """One error for every object a fetch refused: the first reason, and how many."""
    first = next(iter(refused.values()))
    more = f" (and {len(refused) - 1} more object(s))" if len(refused) > 1 else ""
    return CacheError(first.message + more, hint=first.hint)
