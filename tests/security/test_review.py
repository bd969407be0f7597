"""Attacks found by review of the newest features: each builds the attack for
real (a remote, a clone), runs the CLI, and compares the whole temp tree
before and after."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gitpipe.storage.packs import pack_key
from tests.security.conftest import assert_only_changed, snapshot
from tests.security.test_packs import pull_refused, pushed, rewrite_index


@pytest.mark.parametrize("name", ["0" * 32, "f" * 32])
def test_a_forged_index_naming_packed_objects_does_not_shadow_the_good_pack(
        make_repo, tmp_path: Path, name: str) -> None:
    """Anyone who can add a file to the remote plants an index (sorted before
    or after the real one) naming every object at the same offsets in a pack
    of garbage: the real copies are still used, the forged pack is refused."""
    laptop, index, _ = pushed(make_repo, tmp_path)
    forged = index.parent / f"pack-{name}.idx"
    forged.write_bytes(index.read_bytes())
    Path(pack_key(str(forged))).write_bytes(os.urandom(Path(pack_key(str(index))).stat().st_size))
    before = snapshot(tmp_path)
    done = laptop.run("pull")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["laptop/.gitpipe", "laptop/data"])
    assert (laptop.path / "data/f0003.txt").read_text() == "3 " * 4


def test_an_index_naming_one_object_twice_is_refused(make_repo, tmp_path: Path) -> None:
    """gitpipe writes each object once into a pack: a second entry for the
    same digest (here at another object's bytes) is a forged index."""
    laptop, index, _ = pushed(make_repo, tmp_path)
    doc = rewrite_index(index, lambda d: d["objects"].append([d["objects"][0][0],
                                                              *d["objects"][1][1:]]))
    pull_refused(laptop, tmp_path, f"names {doc['objects'][0][0]} twice")


def test_fsck_repair_removes_the_forged_copy_and_keeps_the_good_pack(
        make_repo, tmp_path: Path) -> None:
    laptop, index, _ = pushed(make_repo, tmp_path)
    forged = index.parent / f"pack-{'f' * 32}.idx"
    forged.write_bytes(index.read_bytes())
    Path(pack_key(str(forged))).write_bytes(os.urandom(Path(pack_key(str(index))).stat().st_size))
    before = snapshot(tmp_path)
    done = laptop.run("fsck", "--remote", "store", "--repair", "--json")
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    assert report["missing"] == [], report
    after = snapshot(tmp_path)
    assert_only_changed(before, after, ["laptop/.gitpipe", f"store/packs/pack-{'f' * 32}.idx",
                                            f"store/packs/pack-{'f' * 32}.pack"])
    assert index.exists() and Path(pack_key(str(index))).exists() and not forged.exists()
    assert laptop.run("pull").returncode == 0
