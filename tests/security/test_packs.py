"""Attacks through a remote's packs: anyone who can write the remote can forge
a pack index or a pack's bytes, plant a marker, or put a symlink in a folder
remote. Each is built for real on a folder remote inside the temp tree, the
CLI runs on it, and the whole tree is compared before and after: at worst an
object is missing or refused, nothing is written outside the clone's cache
and work tree, and no traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gitpipe.storage.objects import CacheError
from gitpipe.storage.packs import pack_key
from gitpipe.storage.packstore import MARKER, read_packs
from gitpipe.storage.remote import object_key
from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

FILES = 40
GEN = ("import os\nos.makedirs('data', exist_ok=True)\n"
       f"for i in range({FILES}):\n"
       "    open(f'data/f{i:04d}.txt', 'w').write(f'{i} ' * (i + 1))\n")


def pushed(make_repo, tmp_path: Path) -> tuple[Repo, Path, Repo]:
    """A clone (not pulled yet) of a repository whose 40 small files were pushed
    in one pack to the folder remote `store`; the index's path; the origin."""
    origin = make_repo("origin")
    origin.gen({"gen.py": GEN})
    origin.spec({"make": {"cmd": "python gen.py", "deps": ["gen.py"], "outs": ["data/"]}})
    laptop = origin.pushed_clone(tmp_path / "laptop", tmp_path / "store")
    [index] = (tmp_path / "store" / "packs").glob("*.idx")
    return laptop, index, origin


def pull_refused(laptop: Repo, tmp_path: Path, *expected: str) -> None:
    """Pull fails with the expected words and no traceback, having changed
    nothing but the clone's own cache, state and (emptied) out folder, none of
    the refused objects in its cache."""
    before = snapshot(tmp_path)
    done = laptop.run("pull")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    for words in expected:
        assert words in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["laptop/.gitpipe", "laptop/data"])
    assert not list((laptop.path / "data").glob("*")) if (laptop.path / "data").exists() else True


def rewrite_index(index: Path, change) -> dict:
    doc = json.loads(index.read_text())
    change(doc)
    index.write_text(json.dumps(doc))
    return doc


def test_forged_index_offsets_make_objects_missing(make_repo, tmp_path: Path) -> None:
    laptop, index, _ = pushed(make_repo, tmp_path)
    doc = rewrite_index(index, lambda d: d["objects"][0].__setitem__(1, d["size"] + 5))
    pull_refused(laptop, tmp_path, f"{index.relative_to(tmp_path / 'store')} has an entry for "
                 f"{doc['objects'][0][0]} at bytes", "outside its pack",
                 "1 out(s) are not in remote 'store'", "data (stage 'make'")


def test_pack_whose_bytes_do_not_match_is_refused(make_repo, tmp_path: Path) -> None:
    laptop, index, _ = pushed(make_repo, tmp_path)
    pack = Path(pack_key(str(index)))
    size = pack.stat().st_size
    pack.chmod(0o644)
    pack.write_bytes(os.urandom(size))  # the same length: the index still fits it
    pull_refused(laptop, tmp_path, "is corrupt", "it was not used", f"(and {FILES - 1} more")
    cache = laptop.project().cache
    assert not any(cache.has(d) for d, _, _ in json.loads(index.read_text())["objects"])


def test_index_naming_a_path_is_refused(make_repo, tmp_path: Path) -> None:
    laptop, index, _ = pushed(make_repo, tmp_path)
    rewrite_index(index, lambda d: d["objects"][0].__setitem__(0, "../../../laptop/escape"))
    # and an index file whose own name is not a pack's
    (index.parent / "evil.idx").write_text(index.read_text())
    pull_refused(laptop, tmp_path, "'../../../laptop/escape' is not an object digest",
                 "packs/evil.idx is not named like a pack index")
    assert not (tmp_path / "laptop" / "escape").exists()


def test_index_with_a_huge_count_is_refused_whole(make_repo, tmp_path: Path) -> None:
    laptop, index, _ = pushed(make_repo, tmp_path)
    rewrite_index(index, lambda d: d.__setitem__("objects", d["objects"] * 2600))
    pull_refused(laptop, tmp_path, "names 104000 objects, more than a pack may hold (100000)")


def test_fsck_reports_a_forged_index_and_repair_removes_only_the_pack(
        make_repo, tmp_path: Path) -> None:
    laptop, index, _ = pushed(make_repo, tmp_path)
    rewrite_index(index, lambda d: d["objects"][3].__setitem__(2, -1))
    before = snapshot(tmp_path)
    found = laptop.run("fsck", "--remote", "store")
    assert found.returncode == 1 and "Traceback" not in found.stderr
    assert "whose offset or length is not a count" in found.stdout + found.stderr
    repaired = laptop.run("fsck", "--remote", "store", "--repair")
    assert "Traceback" not in repaired.stderr
    rel = index.relative_to(tmp_path)
    assert_only_changed(before, snapshot(tmp_path),
                        ["laptop/.gitpipe", str(rel), pack_key(str(rel))])
    assert not index.exists() and not Path(pack_key(str(index))).exists()


def test_newer_remote_format_is_refused_everywhere(make_repo, tmp_path: Path) -> None:
    laptop, _, origin = pushed(make_repo, tmp_path)
    (tmp_path / "store" / MARKER).write_text('{"format": 99}')
    before = snapshot(tmp_path)
    for repo, args in ((laptop, ["pull"]), (origin, ["push"]), (laptop, ["fetch"]),
                       (laptop, ["fsck", "--remote", "store"]),
                       (origin, ["gc", "--remote", "store", "--all-commits", "--yes"])):
        done = repo.run(*args)
        assert done.returncode != 0, args
        assert "remote 'store'" in done.stderr and "is in format 99" in done.stderr, args
        assert "upgrade gitpipe" in done.stderr and "Traceback" not in done.stderr, args
    assert_only_changed(before, snapshot(tmp_path), ["laptop/.gitpipe", "origin/.gitpipe"])
    assert not (laptop.path / "data").exists()


def test_malformed_marker_is_refused(make_repo, tmp_path: Path) -> None:
    _, _, origin = pushed(make_repo, tmp_path)
    (tmp_path / "store" / MARKER).write_text('{"format": "2; rm -rf /"}')
    before = snapshot(tmp_path)
    done = origin.run("push")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"{MARKER} is not {{\"format\": N}}" in done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["origin/.gitpipe"])


def test_folder_remote_symlink_is_not_followed(make_repo, tmp_path: Path) -> None:
    # A loose object replaced by a symlink to a file outside the remote that
    # holds the very same bytes: a fetch read through it before. Looked up,
    # it counts as missing; listed (many objects) or read, it is refused.
    origin = make_repo("origin")
    origin.gen({"model.txt": "weights\n"})
    origin.spec({"copy": {"cmd": "cp model.txt out.txt", "deps": ["model.txt"],
                          "outs": ["out.txt"]}})
    laptop = origin.pushed_clone(tmp_path / "laptop", tmp_path / "store")
    digest = origin.project().lock_entries["copy"].outs[0].digest
    target = tmp_path / "store" / object_key(digest)
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("weights\n")
    target.chmod(0o644)
    target.unlink()
    target.symlink_to(outside)
    before = snapshot(tmp_path)
    done = laptop.run("pull")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{object_key(digest)} is not a regular file (a symlink?)" in done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["laptop/.gitpipe"])
    assert not laptop.project().cache.has(digest)
    remote = laptop.project().remote()
    scratch = tmp_path / "laptop" / ".gitpipe" / "tmp" / "read"
    with pytest.raises(CacheError, match="is not a regular file inside the remote"):
        remote.download_verified(object_key(digest), scratch, digest, recorded=8)
    assert not scratch.exists()


def test_pack_index_objects_need_a_whole_pack(make_repo, tmp_path: Path) -> None:
    # An index whose pack is gone names nothing: its objects are missing, not read.
    laptop, index, _ = pushed(make_repo, tmp_path)
    Path(pack_key(str(index))).unlink()
    assert read_packs(laptop.project().remote()).objects == {}
    pull_refused(laptop, tmp_path, "has no pack beside it", "not in remote 'store'")


def test_a_name_ending_in_a_newline_is_no_pack_index(make_repo, tmp_path: Path) -> None:
    """A shared remote's `packs/pack-<hex>.idx\\n` (and the pack its name would
    give) is not gitpipe's: never read as an index, never deleted by --repair."""
    laptop, index, _ = pushed(make_repo, tmp_path)
    odd = index.with_name(index.name + "\n")
    odd.write_bytes(b"the user's own notes, not an index\n")
    odd_pack = Path(pack_key(str(odd)))
    odd_pack.write_bytes(b"and not a pack\n")
    before = snapshot(tmp_path)
    repaired = laptop.run("fsck", "--remote", "store", "--repair")
    assert repaired.returncode == 0 and repaired.stderr == "", repaired.stderr
    assert odd.exists() and odd_pack.exists()
    assert_only_changed(before, snapshot(tmp_path), ["laptop/.gitpipe"])
