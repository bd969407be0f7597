"""Attacks found by review of the newest features: each builds the attack for
real (a remote, a clone), runs the CLI, and compares the whole temp tree
before and after."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from gitpipe.storage.packs import pack_key
from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot
from tests.security.test_packs import pull_refused, pushed, rewrite_index
from tests.security.test_signed import READER_OWN, Keys, plant, read, reader, shared


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


def verify_world(repo: Repo, link: Path) -> None:
    """A stage whose dep folder `d` (tracked) holds a symlink `d/back` to
    `link`, and whose command appends to a file through it."""
    (repo.path / "d").mkdir()
    (repo.path / "keep.txt").write_text("keep\n")
    os.symlink(link, repo.path / "d" / "back")
    repo.spec({"a": {"cmd": "ls d > o.txt; echo x >> d/back", "deps": ["d"],
                     "outs": ["o.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    (repo.path / "keep.txt").write_text("keep\n")
    repo.commit("a dep folder with a symlink in it")
    repo.age().run("status", check=True)


def test_verify_copies_a_dep_folder_holding_a_tracked_symlink(repo: Repo, tmp_path: Path) -> None:
    """git already put the symlink into the copy: copying the dep folder over
    it must keep it, not stop on 'File exists'."""
    verify_world(repo, Path("../keep.txt"))
    done = repo.run("verify")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert "1 ok" in done.stdout and (repo.path / "keep.txt").read_text() == "keep\n"


def test_verify_refuses_a_symlink_back_into_the_project(repo: Repo, tmp_path: Path) -> None:
    """An absolute link inside a dep folder, in the copy, still names the real
    project: the rerun would append to the project's own keep.txt."""
    verify_world(repo, repo.path / "keep.txt")
    before = snapshot(tmp_path)
    done = repo.run("verify")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert ("stage 'a': 'd/back' is a symlink that leads from the scratch copy back into "
            "the project; it is not rerun") in done.stdout
    assert_only_changed(before, snapshot(tmp_path))


@pytest.mark.parametrize("started, duration", [(1e9, float("inf")), (float("-inf"), 1.0),
                                               ("soon", 1.0), (1e9, b"\x00")])
def test_a_run_row_without_finite_times_is_left_out_of_the_history(
        repo: Repo, tmp_path: Path, started: object, duration: object) -> None:
    """SQLite stores infinities and any type in any column: such a row (a
    damaged state.db) is left out of the trace, the report and the runs."""
    repo.spec({"a": {"cmd": "echo hi > a.txt", "outs": ["a.txt"]}})
    repo.run("repro", check=True)
    with sqlite3.connect(repo.path / ".gitpipe" / "state.db") as db:
        invocation = db.execute("SELECT invocation FROM runs").fetchone()[0]
        db.execute("INSERT INTO runs (task, started, duration, result, bytes_in, bytes_out, "
                   "invocation) VALUES ('a', ?, ?, 'ran', 0, 0, ?)",
                   (started, duration, invocation))
    for args in (("runs", "--trace", "t.json"), ("report", "-o", "r.html"), ("runs", "--json")):
        done = repo.run(*args)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (args, done.stderr)
    trace = json.loads((repo.path / "t.json").read_text())
    assert [e["name"] for e in trace["traceEvents"] if e["ph"] == "X"][:1] == ["a"]
    assert trace["otherData"]["runs"] == 1
    assert "Infinity" not in (repo.path / "r.html").read_text()


def test_an_entry_with_a_flood_of_signatures_is_refused_unchecked(
        make_repo, tmp_path: Path) -> None:
    """Each SSH signature checked is an ssh-keygen process: an entry planted
    with thousands of them (a good one last) is refused before any is checked."""
    keys = Keys("ssh", tmp_path)
    origin, entries = shared(make_repo, str(tmp_path / "store"), keys)
    body = json.loads(read(origin, entries["good"]))
    body["signatures"] = [{"ssh": "-----BEGIN SSH SIGNATURE-----\nAAAA\n"}] * 5000 \
        + body["signatures"]
    plant(origin, entries["good"], json.dumps(body).encode())
    laptop = reader(origin)
    before = snapshot(tmp_path)
    done = laptop.run("repro", "--pull", env=keys.reader)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert (f"run-cache entry {entries['good']} carries 5001 signatures, more than a pusher "
            "makes (8)") in done.stderr
    assert laptop.ran() == ["make"] and laptop.read("out.txt") == "good\n"
    assert_only_changed(before, snapshot(tmp_path), READER_OWN)


def test_a_huge_run_cache_entry_is_not_read_whole(make_repo, tmp_path: Path) -> None:
    """A run-cache entry is read into memory: one planted far larger than any
    record is refused after MAX_RECORD_BYTES, with a note, and the stage runs."""
    from gitpipe.storage.remotefs import MAX_RECORD_BYTES

    keys = Keys("hmac", tmp_path)
    origin, entries = shared(make_repo, str(tmp_path / "store"), keys)
    with open(tmp_path / "store" / entries["good"], "r+b") as handle:
        handle.truncate(MAX_RECORD_BYTES + 4096)  # sparse: no disk, the same size
    laptop = reader(origin)
    before = snapshot(tmp_path, skip=(".git", "store"))
    done = laptop.run("repro", "--pull", env=keys.reader)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert (f"remote 'store': {entries['good']} holds more than {MAX_RECORD_BYTES:,} bytes, "
            "more than a record may; it is ignored") in done.stderr
    assert laptop.ran() == ["make"] and laptop.read("out.txt") == "good\n"
    assert_only_changed(before, snapshot(tmp_path, skip=(".git", "store")), READER_OWN)


def test_log_of_a_path_below_a_file_out_names_the_file_out(repo: Repo, tmp_path: Path) -> None:
    """`a.txt/x` is not inside the file out `a.txt`: no 'is an out' note
    advising a repro that would never record it."""
    repo.spec({"a": {"cmd": "echo hi > a.txt", "outs": ["a.txt"]}})
    repo.run("repro", check=True)
    repo.commit("built")
    before = snapshot(tmp_path)
    done = repo.run("log", "a.txt/x")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert "'a.txt/x' is not an out: 'a.txt' is a file out (of 'a'), not a directory" \
        in done.stderr
    assert_only_changed(before, snapshot(tmp_path))


def test_an_index_whose_size_is_not_a_count_is_refused(make_repo, tmp_path: Path) -> None:
    """JSON's `true` equals 1 in Python: an index of a one-byte pack saying
    "size": true is not one gitpipe wrote."""
    laptop, index, _ = pushed(make_repo, tmp_path)
    pack = Path(pack_key(str(index)))
    pack.chmod(0o644)
    pack.write_bytes(b"x")
    rewrite_index(index, lambda d: d.update(size=True, objects=[]))
    done = laptop.run("fsck", "--remote", "store")
    assert "Traceback" not in done.stderr
    assert "describes a pack of True bytes, but its pack holds 1" in done.stdout + done.stderr
