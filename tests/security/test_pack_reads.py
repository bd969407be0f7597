"""Attacks on how much a command reads because of a remote's pack indexes:
an index that spreads its objects out (so each ranged read is mostly gaps),
and a remote listing more indexes than any command should read. Built for
real on a folder remote; the CLI runs on it; the whole tree is compared."""

from __future__ import annotations

import json
from pathlib import Path

import xxhash

from gitpipe.storage.packs import GAP_BYTES, PackedObject, spans
from gitpipe.trust.packindex import MAX_PACK_INDEXES
from tests.security.conftest import assert_only_changed, snapshot
from tests.security.test_packs import pushed


def bytes_read() -> int:
    """What this process has read through read(2) and pread(2) so far."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def spread_out(index: Path) -> int:
    """Rewrite the remote's pack with each object GAP_BYTES after the last (the
    same bytes, so each still verifies), under a new index; the objects' bytes."""
    doc = json.loads(index.read_text())
    old = index.with_suffix(".pack").read_bytes()
    pack, rows = bytearray(), []
    for digest, offset, length in doc["objects"]:
        pack += bytes(GAP_BYTES - 1)
        rows.append([digest, len(pack), length])
        pack += old[offset:offset + length]
    new = json.dumps({"format": 1, "size": len(pack), "objects": rows}).encode()
    name = index.parent / f"pack-{xxhash.xxh3_128_hexdigest(new)}"
    name.with_suffix(".pack").write_bytes(bytes(pack))
    name.with_suffix(".idx").write_bytes(new)
    index.with_suffix(".pack").unlink()
    index.unlink()
    return sum(length for _, _, length in rows)


def test_spread_out_index_costs_no_more_than_its_objects(make_repo, tmp_path: Path) -> None:
    laptop, index, origin = pushed(make_repo, tmp_path)
    # A pull in this process first: the measured one imports no module.
    assert origin.clone_to(tmp_path / "warm").cli("pull").exit_code == 0
    wanted = spread_out(index)
    before, read = snapshot(tmp_path), bytes_read()
    done = laptop.cli("pull")
    read = bytes_read() - read
    assert done.exit_code == 0, done.output
    assert_only_changed(before, snapshot(tmp_path), ["laptop/.gitpipe", "laptop/data"])
    # The pull's own reads (spec, lock, git's files, the cache) are far below
    # the ~10 MiB of gaps it read across before.
    assert read < 2 * wanted + GAP_BYTES + 512 * 1024, read


def test_spans_read_at_most_twice_the_wanted_bytes_and_one_gap() -> None:
    for step in (1, 100, GAP_BYTES // 2, GAP_BYTES, GAP_BYTES + 1):
        for length in (1, 1000, 300_000):
            wanted = {f"xxh3:{i:032x}": PackedObject("packs/p.pack", i * (length + step), length)
                      for i in range(200)}
            reads = spans(wanted)
            fetched = sum(items[-1][1].offset + items[-1][1].length - items[0][1].offset
                          for items in reads)
            assert fetched <= 2 * 200 * length + GAP_BYTES, (step, length)
            assert sorted(d for items in reads for d, _ in items) == sorted(wanted)


def test_too_many_pack_indexes_stop_the_command(make_repo, tmp_path: Path) -> None:
    laptop, index, origin = pushed(make_repo, tmp_path)
    for i in range(MAX_PACK_INDEXES):
        (index.parent / f"pack-{i:032x}.idx").write_bytes(b"{}")
    before = snapshot(tmp_path)
    for repo, args in ((laptop, ["pull"]), (origin, ["push"]),
                       (laptop, ["fsck", "--remote", "store"])):
        done = repo.run(*args)
        assert done.returncode != 0 and "Traceback" not in done.stderr, args
        assert (f"remote 'store' ({tmp_path / 'store'}) lists {MAX_PACK_INDEXES + 1:,} pack "
                f"indexes, more than gitpipe reads ({MAX_PACK_INDEXES:,}); nothing was read"
                ) in done.stderr, done.stderr
        assert "remove the packs/pack-*.idx files that no gitpipe wrote" in done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["laptop/.gitpipe", "origin/.gitpipe"])
