"""Whether a remote holds the objects a push is about to skip.

A pack index or a loose object under an object's name may have been written
by anyone who can write the remote; believed, it made a push skip an object
and say it was done while the remote held other bytes (a later pull refuses
them as corrupt). A push skips an object only on evidence that costs such a
writer the object's bytes: this clone sent them there or read them back
from there before (storage/seen.py), or they read back now and hash to the
object's name. Small objects (packed, or loose under the pack threshold)
and manifests are read back; a large loose object is compared by the size
the remote lists and by a few ranges at offsets no writer can foresee,
read there and compared with the local copy's bytes: reading it all back
would cost as much as sending it again (the limit is in
docs/explanation/security.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gitpipe.core.errors import GitpipeError
from gitpipe.hashing.digests import DIR_SUFFIX
from gitpipe.storage.objects import CacheError, object_key
from gitpipe.storage.packs import PACK_THRESHOLD
from gitpipe.storage.packstore import Inventory, fetch_packed
from gitpipe.storage.remotefs import Remote
from gitpipe.storage.seen import SeenOn
from gitpipe.trust.sizes import ReadLimit

log = logging.getLogger(__name__)
# A large loose object's ranges read back and compared: how many, how long each.
SAMPLES = 4
SAMPLE_BYTES = 4096


def held(remote: Remote, inventory: Inventory, sizes: Mapping[str, int], seen: SeenOn,
         local: Callable[[str], Path], jobs: int = 8) -> set[str]:
    """Those of the objects `sizes` names (digest: its local size; `local`, its
    local copy) that the remote holds as far as a push may believe: known from
    before and listed at their size, or claimed by the inventory and read back
    (a large loose one: in samples). Those proven whole now are recorded."""
    listed = [d for d in sizes if inventory.has(d)]
    # Known only where the remote lists it at its local size: bytes of another
    # length under its name (damaged, or written since) are not the object.
    known = {d for d in listed if d in seen.known() and inventory.size(d) == sizes[d]}
    claimed = [d for d in listed if d not in known]
    packed = inventory.packed(claimed)
    proven: list[str] = []
    if packed:
        fetch_packed(remote, packed, lambda digest, _: proven.append(digest), jobs, sizes.get)
    seen.add(proven)
    believed = _loose_held(remote, inventory, [d for d in claimed if d not in packed], sizes,
                           seen, local, jobs)
    doubted = len(claimed) - len(proven) - len(believed)
    if doubted:
        log.warning("warning: remote %r claims to hold %d object(s) this push sends whose "
                    "bytes there are not theirs (a pack index or an object written by "
                    "someone else, or damaged); they are sent again (hint: 'gitpipe fsck "
                    "--remote %s' finds the damage)", remote.name, doubted, remote.name)
    return known | set(proven) | set(believed)


def _loose_held(remote: Remote, inventory: Inventory, digests: Collection[str],
                sizes: Mapping[str, int], seen: SeenOn, local: Callable[[str], Path],
                jobs: int) -> list[str]:
    """Those of these loose objects the remote lists at their local size and,
    when small or a manifest, whose bytes there hash to their name (those
    read back are recorded in `seen`); when large, whose sampled ranges there
    are the local copy's."""
    def one(digest: str) -> tuple[str, bool] | None:
        rel, size = object_key(digest), sizes[digest]
        if inventory.loose.get(rel) != size:
            return None
        if size >= PACK_THRESHOLD and not digest.endswith(DIR_SUFFIX):
            # Reading it all back costs what sending it again does.
            return (digest, False) if _samples_match(remote, rel, local(digest), size) else None
        try:
            problem = remote.check_object(rel, digest, ReadLimit(size, "its local copy holds"))
        except (FileNotFoundError, CacheError):
            return None
        return (digest, True) if problem is None else None

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        found = [item for item in pool.map(one, digests) if item is not None]
    seen.add(digest for digest, read in found if read)
    return [digest for digest, _ in found]


def _samples_match(remote: Remote, rel: str, copy: Path, size: int) -> bool:
    """Whether the remote's `rel` holds the local `copy`'s bytes in SAMPLES
    ranges: its last bytes, and others at offsets drawn now. A writer who
    planted other bytes of that size under the name cannot foresee them."""
    last = max(0, size - SAMPLE_BYTES)
    offsets = {last, *(int.from_bytes(os.urandom(8), "big") % (last + 1)
                       for _ in range(SAMPLES - 1))}
    try:
        with open(copy, "rb") as handle:
            for offset in sorted(offsets):
                mine = os.pread(handle.fileno(), SAMPLE_BYTES, offset)
                if remote.read_range(rel, offset, offset + SAMPLE_BYTES) != mine:
                    return False
    except (OSError, GitpipeError):  # gone, a link planted there, the network: sent again
        return False
    return True
