"""Differential property of what a push believes a remote holds
(storage/pushcheck.py, storage/seen.py): a push from a clone that remembers
what it sent or read back there, the same push with that record removed, and
a push to an empty remote (from scratch) leave remotes from which a fresh
cache fetches every object, verified, whatever was there before: objects
another clone pushed, loose or packed, and pack indexes or loose objects
planted under the names of objects being pushed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import xxhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitpipe.storage.cache import Cache
from gitpipe.storage.objects import object_key
from gitpipe.storage.remote import Remote, fetch_exactly, push
from gitpipe.storage.seen import SeenOn


def digest_of(data: bytes) -> str:
    return f"xxh3:{xxhash.xxh3_128_hexdigest(data)}"


def plant_index(store: Path, named: dict[str, int]) -> None:
    """An index passing every rule that names these objects over random bytes."""
    rows, offset = [], 0
    for digest, size in named.items():
        rows.append([digest, offset, size])
        offset += size
    index = json.dumps({"format": 1, "size": offset, "objects": rows}).encode()
    name = store / "packs" / f"pack-{xxhash.xxh3_128_hexdigest(index)}"
    name.parent.mkdir(parents=True, exist_ok=True)
    name.with_suffix(".pack").write_bytes(os.urandom(offset))
    name.with_suffix(".idx").write_bytes(index)


def fetched_all(store: Path, objects: dict[str, bytes], scratch: Path) -> bool:
    """Whether a fresh cache fetches every object from `store`, each verified."""
    fresh = Cache(scratch, "copy")
    fresh.note_sizes((d, len(data)) for d, data in objects.items())
    summary = fetch_exactly(Remote("store", str(store)), fresh, list(objects), jobs=2)
    return not summary.failed and all(fresh.path(d).read_bytes() == objects[d] for d in objects)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                               HealthCheck.function_scoped_fixture])
@given(count=st.integers(1, 40), data=st.data())
def test_push_leaves_a_readable_remote_with_or_without_its_record(
        tmp_path_factory, count: int, data: st.DataObject) -> None:
    root = tmp_path_factory.mktemp("pushseen")
    objects = {digest_of(body): body for body in
               (f"{i} ".encode() * data.draw(st.integers(1, 300), label="size") for i in
                range(count))}
    digests = list(objects)
    before = data.draw(st.lists(st.sampled_from(digests), unique=True), label="pushed before")
    forged = data.draw(st.lists(st.sampled_from(digests), unique=True), label="index forged")
    # A loose object planted over one this clone saw pushed is damage after
    # the fact, which no push tells without reading everything back.
    planted = data.draw(st.sets(st.sampled_from(digests)), label="loose planted") - set(before)
    cache = Cache(root / "cache", "copy")
    for digest, body in objects.items():
        cache.add_bytes(body, digest)
    store = root / "store"
    store.mkdir()
    if before:  # another clone pushed these, honestly, and this clone saw them go
        push(Remote("store", str(store)), cache, before, jobs=2)
    if forged:
        plant_index(store, {d: len(objects[d]) for d in forged})
    for digest in planted:
        path = store / object_key(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(len(objects[digest])))
    shutil.copytree(store, root / "store-unrecorded")
    push(Remote("store", str(store)), cache, digests, jobs=2)
    # The same push with no record of what this clone sent before.
    seen = SeenOn(cache.root, Remote("store", str(store)).identity)
    assert seen.known() >= set(digests)
    scratch_cache = Cache(root / "cache2", "copy")
    for digest, body in objects.items():
        scratch_cache.add_bytes(body, digest)
    push(Remote("store", str(root / "store-unrecorded")), scratch_cache, digests, jobs=2)
    push(Remote("store", str(root / "store-scratch")), scratch_cache, digests, jobs=2)
    for name in ("store", "store-unrecorded", "store-scratch"):
        assert fetched_all(root / name, objects, root / f"fetch-{name}"), name
