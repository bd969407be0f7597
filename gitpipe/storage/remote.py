"""A remote: push, fetch, and what is missing, between the cache and the
storage of remotefs.py.

Existence is checked in a few requests (the pack indexes, then lookups or one
listing), transfers run in a thread pool, small files travel in packs,
every download is verified against its name before it enters the cache, and
no upload is visible under its final name until complete.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gitpipe.core.progress import expect
from gitpipe.hashing.digests import DIR_SUFFIX
from gitpipe.storage.cache import Cache, Fetcher
from gitpipe.storage.objects import CacheError, digest_of_relpath, object_key
from gitpipe.storage.packs import (
    PACK_MIN_OBJECTS,
    PACK_THRESHOLD,
    PackedObject,
    build_pack,
    plan_packs,
)
from gitpipe.storage.packstore import (
    Inventory,
    fetch_packed,
    locate,
    mark_format,
    present_keys,
    refusal,
    upload_pack,
)
from gitpipe.storage.pushcheck import held
from gitpipe.storage.remotefs import Progress, Remote, RemoteError, Transfer, url_exists
from gitpipe.storage.seen import SeenOn
from gitpipe.storage.urls import (
    check_outside,
    local_folder,
    masked_options,
    masked_url,
    resolve_url,
)


def push(remote: Remote, cache: Cache, digests: Iterable[str],
         entries: Mapping[str, bytes] | None = None, jobs: int = 8,
         progress: Progress | None = None) -> Transfer:
    """Upload the objects (with their manifests' files) missing there, small
    files in packs, the rest loose; then `entries`, run-cache envelopes by
    remote key (storage/runshare.py decides which and signs them)."""
    wanted = _expand(cache, digests)
    inventory = locate(remote, wanted)
    seen = SeenOn(cache.root, remote.identity)
    there = held(remote, inventory, {d: _size(cache.path(d)) for d in wanted if inventory.has(d)},
                 seen, cache.path, jobs)
    entries = dict(entries or {})
    summary = Transfer()
    files = [d for d in wanted if not d.endswith(DIR_SUFFIX) and d not in there]
    manifests = [(cache.path(d), object_key(d)) for d in wanted
                 if d.endswith(DIR_SUFFIX) and d not in there]
    summary.skipped = len(wanted) - len(files) - len(manifests)
    sizes = {d: _size(cache.path(d)) for d in files}
    expect(progress, len(files) + len(manifests) + len(entries),
           sum(sizes.values()) + sum(_size(path) for path, _ in manifests)
           + sum(len(data) for data in entries.values()))
    # Files first, manifests after, run entries last: whatever a manifest or a
    # run entry names is on the remote before it is.
    # A pull reads an object some pack index names from packs only: one sent
    # again after such a claim did not hold goes into a pack too.
    claimed = {d for d in sizes if d in inventory.packs.objects}
    _push_files(remote, cache, sizes, claimed, inventory.packs.format, jobs, (summary, progress))
    seen.add(files)
    _parallel(remote.upload, manifests, jobs, summary, progress)
    seen.add(digest_of_relpath(key) for _, key in manifests)
    run_summary = Transfer()
    _parallel(lambda key, _: _put(remote, key, entries[key]),
              [(key, key) for key in entries], jobs, run_summary, progress)
    summary.runs = run_summary.files
    return summary


def _put(remote: Remote, key: str, data: bytes) -> int:
    remote.put_bytes(key, data)
    return len(data)


def _push_files(remote: Remote, cache: Cache, sizes: dict[str, int], claimed: set[str],
                known_format: int, jobs: int, told: tuple[Transfer, Progress | None]) -> None:
    """Upload these files: those under PACK_THRESHOLD in packs (when there are
    PACK_MIN_OBJECTS of them), and the `claimed` ones whatever their count and
    size; the others loose, all in one pool."""
    small = {d: size for d, size in sizes.items() if size < PACK_THRESHOLD}
    if len(small) < PACK_MIN_OBJECTS:
        small = {}
    small.update((d, sizes[d]) for d in claimed)
    loose = [(cache.path(d), object_key(d)) for d in sizes if d not in small]
    if small:
        mark_format(remote, known_format)
    groups = [[(d, cache.path(d)) for d in group] for group in plan_packs(small)]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = [pool.submit(_push_pack, remote, cache, group, *told) for group in groups]
        _parallel(remote.upload, loose, jobs, *told)
        for future in done:
            future.result()


def _push_pack(remote: Remote, cache: Cache, objects: list[tuple[str, Path]],
               summary: Transfer, progress: Progress | None) -> None:
    """Build one pack from cache objects in a temp file, and upload it."""
    scratch = cache._tmp()
    try:
        built = build_pack(objects, scratch)
        upload_pack(remote, built)
    finally:
        scratch.unlink(missing_ok=True)
    for digest, path in objects:
        size = _size(path)
        summary.add(size)
        if progress is not None:
            progress(object_key(digest), size)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # the upload names what is wrong


def _expand(cache: Cache, digests: Iterable[str]) -> list[str]:
    found: dict[str, None] = {}
    for digest in digests:
        missing = cache.missing(digest)
        if missing:
            raise CacheError(f"cannot push {digest}: {len(missing)} object(s) are not in the "
                             f"local cache ({missing[0]})", hint="run 'gitpipe repro' first")
        for obj in cache.objects_of(digest):
            found[obj] = None
    return list(found)


def _parallel(action: Callable[[Any, str], int], todo: list[tuple[Any, str]], jobs: int,
              summary: Transfer, progress: Progress | None) -> None:
    if not todo:
        return

    def one(item: tuple[Any, str]) -> None:
        size = action(*item)
        summary.add(size)
        if progress is not None:
            progress(item[1], size)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(one, todo))


def fetch_objects(remote: Remote, cache: Cache, digests: Iterable[str], jobs: int = 8,
                  progress: Progress | None = None, summary: Transfer | None = None) -> Transfer:
    """Download objects missing from the cache (manifests first, then their
    files), counted in `summary` (a new one if None)."""
    summary = summary if summary is not None else Transfer()
    digests = list(dict.fromkeys(digests))
    manifests = [d for d in digests if d.endswith(DIR_SUFFIX)]
    fetch_exactly(remote, cache, manifests, jobs, progress, summary=summary)
    files: dict[str, None] = {}
    for digest in digests:
        if digest.endswith(DIR_SUFFIX) and not cache.has(digest):
            continue  # its manifest is missing on the remote too: already in `failed`
        files.update(dict.fromkeys(cache.missing(digest)))
    fetch_exactly(remote, cache, list(files), jobs, progress, summary=summary)
    return summary


def fetch_exactly(remote: Remote, cache: Cache, digests: list[str], jobs: int = 8,
                  progress: Progress | None = None, present: Inventory | None = None,
                  summary: Transfer | None = None) -> Transfer:
    """Download these objects if the cache lacks them (a manifest's files are not
    followed). `present`: where the remote holds them (`locate`), if known."""
    summary = summary if summary is not None else Transfer()
    todo = [d for d in digests if not cache.has(d)]
    if not todo:
        return summary
    if present is None:
        present = locate(remote, todo)
    absent = absent_objects(remote, todo, present)
    if absent:
        summary.failed.extend(sorted(absent))
        todo = [d for d in todo if d not in absent]
    expect_objects(progress, todo, present)
    refused = fetch_packed_into(remote, cache, present.packed(todo), summary, progress, jobs)
    fetch = fetcher(remote, cache, summary, progress)
    loose = [d for d in todo if d not in refused and not cache.has(d)]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(lambda digest: fetch(digest, None), loose))
    if refused:
        raise refusal(refused)
    return summary


def fetch_packed_into(remote: Remote, cache: Cache, wanted: Mapping[str, PackedObject],
                      summary: Transfer, progress: Progress | None, jobs: int = 8,
                      also: Mapping[str, list[Path]] | None = None) -> dict[str, CacheError]:
    """Read packed objects into the cache, each verified, and into the files
    `also` names for it (a pull's work tree); the ones refused, why, but for
    those the remote also holds loose (not read here). Those read are recorded
    as held there (storage/seen.py): a push from here need not read them back."""
    read: list[str] = []

    def publish(digest: str, data: bytes) -> None:
        cache.add_bytes(data, digest)
        read.append(digest)
        for dest in (also or {}).get(digest, ()):
            with open(dest, "wb") as handle:
                handle.write(data)
            os.chmod(dest, 0o644)
        summary.add(len(data))
        if progress is not None:
            progress(object_key(digest), len(data))

    if not wanted:
        return {}
    refused = fetch_packed(remote, wanted, publish, jobs, cache.recorded_size)
    SeenOn(cache.root, remote.identity).add(read)
    # An index naming an object (planted, or its pack damaged) hides no loose
    # copy of it: those are left to the loose download.
    there = present_keys(remote, [object_key(d) for d in refused], "files")
    return {d: why for d, why in refused.items() if object_key(d) not in there}


def expect_objects(progress: Progress | None, digests: Collection[str],
                   present: Inventory) -> None:
    """Tell `progress` what downloading `digests` moves, from the inventory."""
    expect(progress, len(digests), sum(present.size(d) for d in digests))


def absent_objects(remote: Remote, digests: Iterable[str],
                   present: Inventory | None = None) -> set[str]:
    """Which of `digests` the remote lacks: the pack indexes and a few lookups
    (or one listing), however many there are."""
    digests = list(digests)
    if present is None:
        present = locate(remote, digests)
    return {d for d in digests if not present.has(d)}


def fetcher(remote: Remote, cache: Cache, summary: Transfer,
            progress: Progress | None) -> Fetcher:
    """Download one loose object into the cache, verified, optionally writing a
    workspace copy from the same read (see Cache.write_files). Each one read
    is recorded as held there (storage/seen.py)."""
    seen = SeenOn(cache.root, remote.identity)

    def fetch(digest: str, also: Path | None) -> None:
        tmp = cache.tmp_beside(digest)
        try:
            size = remote.download_verified(object_key(digest), tmp, digest, also,
                                            cache.recorded_size(digest))
            cache._publish(tmp, cache.path(digest))
        finally:
            tmp.unlink(missing_ok=True)
        seen.add((digest,))
        summary.add(size)
        if progress is not None:
            progress(object_key(digest), size)

    return fetch


# The URL helpers are urls.py's; the CLI imports them from here too.
__all__ = ["Inventory", "Progress", "Remote", "RemoteError", "Transfer", "absent_objects",
           "check_outside", "fetch_exactly", "fetch_objects", "fetcher",
           "local_folder", "locate", "masked_options", "masked_url", "object_key", "push",
           "resolve_url", "url_exists"]

