"""Whether a remote holds the objects a push is about to skip.

A pack index or a loose object under an object's name may have been written
by anyone who can write the remote; believed, it made a push skip an object
and say it was done while the remote held other bytes (a later pull refuses
them as corrupt). A push skips an object only on evidence that costs such a
writer the object's bytes: this clone sent them there or read them back
from there before (storage/seen.py), or they read back now and hash to the
object's name. Small objects (packed, or loose under the pack threshold)
and manifests are read back; a large loose object is compared by the size
the remote lists, since reading it back would cost as much as sending it
again (the limit is in docs/explanation/security.md).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor

from gitpipe.hashing.digests import DIR_SUFFIX
from gitpipe.storage.objects import CacheError, object_key
from gitpipe.storage.packs import PACK_THRESHOLD
from gitpipe.storage.packstore import Inventory, fetch_packed
from gitpipe.storage.remotefs import Remote
from gitpipe.storage.seen import SeenOn
from gitpipe.trust.sizes import ReadLimit

log = logging.getLogger(__name__)


def held(remote: Remote, inventory: Inventory, sizes: Mapping[str, int], seen: SeenOn,
         jobs: int = 8) -> set[str]:
    """Those of the objects `sizes` names (digest: its local size) that the
    remote holds as far as a push may believe: known from before and listed
    at their size, or claimed by the inventory and read back whole. Those
    proven now are recorded."""
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
                           seen, jobs)
    doubted = len(claimed) - len(proven) - len(believed)
    if doubted:
        log.warning("warning: remote %r claims to hold %d object(s) this push sends whose "
                    "bytes there are not theirs (a pack index or an object written by "
                    "someone else, or damaged); they are sent again (hint: 'gitpipe fsck "
                    "--remote %s' finds the damage)", remote.name, doubted, remote.name)
    return known | set(proven) | set(believed)


def _loose_held(remote: Remote, inventory: Inventory, digests: Collection[str],
                sizes: Mapping[str, int], seen: SeenOn, jobs: int) -> list[str]:
    """Those of these loose objects the remote lists at their local size and,
    when small or a manifest, whose bytes there hash to their name (those
    read back are recorded in `seen`)."""
    def one(digest: str) -> tuple[str, bool] | None:
        rel, size = object_key(digest), sizes[digest]
        if inventory.loose.get(rel) != size:
            return None
        if size >= PACK_THRESHOLD and not digest.endswith(DIR_SUFFIX):
            return digest, False  # reading it back costs what sending it again does
        try:
            problem = remote.check_object(rel, digest, ReadLimit(size, "its local copy holds"))
        except (FileNotFoundError, CacheError):
            return None
        return (digest, True) if problem is None else None

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        found = [item for item in pool.map(one, digests) if item is not None]
    seen.add(digest for digest, read in found if read)
    return [digest for digest, _ in found]
