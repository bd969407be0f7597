"""Attacks on the disk, the memory and the time of whoever pulls from a shared
remote: anyone who can write there can put a file of any size under an
object's name, make a pack index lie about a length, or push a manifest whose
paths are absurdly long. Each is built for real (a folder remote in the temp
tree, or a bucket on moto's S3 server), the CLI runs on it, and the whole
tree is compared before and after: the download stops one byte past what the
object's record allows, keeps nothing, and says so."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import xxhash
import yaml

from gitpipe.storage.packs import pack_key
from gitpipe.storage.remote import object_key
from gitpipe.trust.sizes import MAX_MANIFEST_BYTES
from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot
from tests.security.test_packs import pushed, rewrite_index

SIZE = 100_000
BIG = ("import os\nos.makedirs('data', exist_ok=True)\n"
       f"open('big.bin', 'wb').write(b'x' * {SIZE})\n"
       "open('data/a.txt', 'w').write('a')\nopen('data/b.bin', 'wb').write(b'y' * 5000)\n")


@pytest.fixture(params=["folder", pytest.param("s3", marks=pytest.mark.s3)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The shared remote: a folder in the temp tree, or a bucket on moto's S3 server."""
    if request.param == "folder":
        return str(tmp_path / "store")
    return str(request.getfixturevalue("s3_bucket"))


def pushed_outs(make_repo, tmp_path: Path, store: str) -> Repo:
    """A clone, not pulled yet, of a repository that pushed a 100 kB file out
    and a directory out of two files, loose, to the remote `store`."""
    origin = make_repo("origin")
    origin.gen({"gen.py": BIG})
    origin.spec({"make": {"cmd": "python gen.py", "deps": ["gen.py"],
                          "outs": ["big.bin", "data/"]}})
    return origin.pushed_clone(tmp_path / "laptop", store)  # type: ignore[arg-type]


def locked(laptop: Repo, path: str) -> dict:
    [out] = [o for o in yaml.safe_load(laptop.read("gitpipe.lock"))["stages"]["make"]["outs"]
             if o["path"] == path]
    return out


def grow(laptop: Repo, key: str, to: int) -> None:
    """Make the remote's `key` hold its own bytes and then `to` bytes in all, as
    anyone who can write the remote could: a folder remote's file is made
    sparse (no disk), an S3 object is uploaded whole."""
    remote = laptop.project().remote()
    with remote.fs.open(remote.full(key), "rb") as handle:
        data = handle.read()
    if remote.is_local:
        target = Path(remote.full(key))
        target.chmod(0o644)
        with open(target, "r+b") as handle:
            handle.truncate(to)
    else:
        with remote.fs.open(remote.full(key), "wb") as handle:
            handle.write(data + b"\0" * (to - len(data)))


def gitpipe_bytes(laptop: Repo) -> int:
    """Every byte gitpipe keeps in the clone: nothing of a refused download."""
    return sum(f.stat().st_size for f in (laptop.path / ".gitpipe").rglob("*") if f.is_file())


def stored(tmp_path: Path) -> dict[str, tuple[int, int]]:
    """A folder remote's files by size and modification time: a snapshot reads
    every file whole, which a sparse GiB makes slow; this shows it unchanged."""
    store = tmp_path / "store"
    return {str(f.relative_to(store)): (f.lstat().st_size, f.lstat().st_mtime_ns)
            for f in store.rglob("*")} if store.exists() else {}


def pull_stopped(laptop: Repo, tmp_path: Path, *expected: str) -> None:
    before, remote = snapshot(tmp_path, skip=(".git", "store")), stored(tmp_path)
    done = laptop.run("pull", timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    for words in expected:
        assert words in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path, skip=(".git", "store")),
                        ["laptop/.gitpipe", "laptop/data", "laptop/big.bin"])
    assert stored(tmp_path) == remote
    assert gitpipe_bytes(laptop) < 1024 * 1024


def test_object_larger_than_its_record_is_not_read_past_it(make_repo, tmp_path: Path,
                                                          store_url: str) -> None:
    laptop = pushed_outs(make_repo, tmp_path, store_url)
    out = locked(laptop, "big.bin")
    key = object_key(out["hash"])
    # A folder remote's file may be as large as the disk allows: a sparse GiB.
    grow(laptop, key, 1 << 30 if "://" not in store_url else 8 << 20)
    pull_stopped(laptop, tmp_path,
                 f"remote 'store': object {key} holds more than the {SIZE:,} bytes its "
                 f"record gives; gitpipe stopped reading at {SIZE + 1:,} bytes and kept none "
                 "of them; it was not used")
    assert not (laptop.path / "big.bin").exists()
    assert (laptop.path / "data" / "b.bin").read_bytes() == b"y" * 5000  # the rest came


def test_file_of_a_directory_larger_than_its_manifest_row_is_refused(
        make_repo, tmp_path: Path, store_url: str) -> None:
    laptop = pushed_outs(make_repo, tmp_path, store_url)
    digest = "xxh3:" + xxhash.xxh3_128_hexdigest(b"y" * 5000)
    grow(laptop, object_key(digest), 4 << 20)
    pull_stopped(laptop, tmp_path, f"object {object_key(digest)} holds more than the 5,000 "
                 "bytes its record gives; gitpipe stopped reading at 5,001 bytes")
    assert not (laptop.path / "data" / "b.bin").exists()
    assert (laptop.path / "big.bin").read_bytes() == b"x" * SIZE


def test_manifest_larger_than_any_may_be_is_refused(make_repo, tmp_path: Path) -> None:
    laptop = pushed_outs(make_repo, tmp_path, str(tmp_path / "store"))
    key = object_key(locked(laptop, "data")["hash"])
    grow(laptop, key, 1 << 30)  # sparse: no disk on the remote's side
    before, remote = snapshot(tmp_path, skip=(".git", "store")), stored(tmp_path)
    done = laptop.run("pull", timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert (f"directory manifest {key} holds more than the {MAX_MANIFEST_BYTES:,} bytes a "
            f"directory manifest may hold; gitpipe stopped reading at "
            f"{MAX_MANIFEST_BYTES + 1:,} bytes") in done.stderr
    assert_only_changed(before, snapshot(tmp_path, skip=(".git", "store")), ["laptop/.gitpipe"])
    assert stored(tmp_path) == remote
    assert gitpipe_bytes(laptop) < 1024 * 1024


def test_pack_index_lying_about_a_length_costs_no_read(make_repo, tmp_path: Path) -> None:
    laptop, index, _ = pushed(make_repo, tmp_path)
    doc = json.loads(index.read_text())
    first = min(doc["objects"], key=lambda row: row[1])  # at offset 0: still inside the pack
    rewrite_index(index, lambda d: next(r for r in d["objects"] if r[0] == first[0])
                  .__setitem__(2, first[2] + 1))
    rel = index.relative_to(tmp_path / "store")
    before = snapshot(tmp_path)
    done = laptop.run("pull")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert (f"remote 'store': object {first[0]}: pack index {rel} gives it {first[2] + 1:,} "
            f"bytes, but its record gives {first[2]:,} (and no other pack holds it at that "
            "size); it was not read") in done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["laptop/.gitpipe", "laptop/data"])
    assert not laptop.project().cache.has(first[0])
    assert Path(pack_key(str(index))).exists()


def test_manifest_with_an_endless_path_is_refused_at_once(make_repo, tmp_path: Path) -> None:
    # Checking that no entry lies under another joined every parent of every
    # path again: a path of 100,000 components cost minutes of CPU.
    laptop = pushed_outs(make_repo, tmp_path, str(tmp_path / "store"))
    deep = "/".join(["a"] * 100_000)
    manifest = json.dumps([[deep, "xxh3:" + "0" * 32, 1]]).encode()
    digest = f"xxh3:{xxhash.xxh3_128_hexdigest(manifest)}.dir"
    store = tmp_path / "store" / object_key(digest)
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_bytes(manifest)
    data = yaml.safe_load(laptop.read("gitpipe.lock"))
    next(o for o in data["stages"]["make"]["outs"] if o["path"] == "data")["hash"] = digest
    laptop.gen({"gitpipe.lock": yaml.safe_dump(data, sort_keys=False)}, commit="forged lock")
    before = snapshot(tmp_path)
    done = laptop.run("pull", "data", timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"directory manifest {digest}: entry 'a/a/a/" in done.stderr
    assert "… (200,001 characters) is longer than a path may be (4,095 bytes)" in done.stderr
    assert len(done.stderr) < 2000
    assert_only_changed(before, snapshot(tmp_path), ["laptop/.gitpipe"])
    assert not os.path.lexists(laptop.path / "data")


@pytest.mark.parametrize("planted", ["packs/pack-" + "0" * 32 + ".idx", "gitpipe-remote.json"])
def test_record_nested_past_the_parser_is_refused(make_repo, tmp_path: Path,
                                                  planted: str) -> None:
    # Python's JSON parser recurses: 100,000 '[' raised RecursionError, which
    # no reader of a record caught.
    laptop = pushed_outs(make_repo, tmp_path, str(tmp_path / "store"))
    store = tmp_path / "store"
    (store / planted).parent.mkdir(parents=True, exist_ok=True)
    (store / planted).write_text("[" * 100_000)
    if planted.endswith(".idx"):
        (store / pack_key(planted)).write_bytes(b"")
    before = snapshot(tmp_path)
    done = laptop.run("pull")
    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr, done.stderr
    if planted.endswith(".idx"):  # the index is left out, and the loose objects come
        assert done.returncode == 0, done.stderr
        assert f"remote 'store': {planted} is not JSON; the objects it names count as " \
            "missing" in done.stderr
        allowed = ["laptop/.gitpipe", "laptop/data", "laptop/big.bin"]
    else:
        assert done.returncode == 1, done.stderr
        assert f"remote 'store' ({store}): {planted} is not {{\"format\": N}}" in done.stderr
        allowed = ["laptop/.gitpipe"]
    assert_only_changed(before, snapshot(tmp_path), allowed)


def test_pack_index_larger_than_its_rows_can_take_is_not_read(make_repo,
                                                              tmp_path: Path) -> None:
    # 64 MiB of tiny rows parse into some 200 MiB of lists, eight indexes at
    # once; 100,000 real rows take under 8 MB.
    laptop = pushed_outs(make_repo, tmp_path, str(tmp_path / "store"))
    index = f"packs/pack-{'1' * 32}.idx"
    rows = b",".join([b"[0,0,0]"] * 1_500_000)
    (tmp_path / "store" / "packs").mkdir()
    data = b'{"format":1,"size":0,"objects":[' + rows + b"]}"
    (tmp_path / "store" / index).write_bytes(data)
    (tmp_path / "store" / pack_key(index)).write_bytes(b"")
    before = snapshot(tmp_path)
    done = laptop.run("pull")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert f"remote 'store': {index} holds {len(data):,} bytes, more than a pack index may " \
        "(8,004,096); the objects it names count as missing" in done.stderr
    assert_only_changed(before, snapshot(tmp_path),
                        ["laptop/.gitpipe", "laptop/data", "laptop/big.bin"])


def test_listed_name_cannot_write_to_the_terminal(make_repo, tmp_path: Path) -> None:
    # A file name on the remote is the remote writer's text: one with escape
    # sequences (here: clear the screen, set the window title) was printed raw.
    laptop = pushed_outs(make_repo, tmp_path, str(tmp_path / "store"))
    name = "packs/\x1b[2J\x1b]0;owned\x07" + "x" * 200 + ".idx"
    (tmp_path / "store" / "packs").mkdir()
    (tmp_path / "store" / name).write_text("{}")
    before = snapshot(tmp_path)
    done = laptop.run("pull")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr
    assert "remote 'store': 'packs/\\x1b[2J\\x1b]0;owned\\x07xxx" in done.stderr
    assert "characters) is not named like a pack index" in done.stderr
    assert len(done.stderr) < 1000
    assert_only_changed(before, snapshot(tmp_path),
                        ["laptop/.gitpipe", "laptop/data", "laptop/big.bin"])
