"""Digests (xxh3, git blob ids), directory manifests, walk_files and the State racy rule."""

from __future__ import annotations

import os
import random
import stat
import subprocess
import time
from array import array
from pathlib import Path

import pytest
import xxhash

from gitpipe.git.repo import raw_blob_id
from gitpipe.hashing.digests import (
    BUFFER,
    CHUNK,
    FIRST_READ,
    Digest,
    ManifestEntry,
    file_digest,
    hash_bytes,
    hash_file,
    hash_manifest,
    hash_many,
)
from gitpipe.hashing.ignore import forget_outer_rules
from gitpipe.hashing.statsig import (
    directory_signature,
    listing_signature,
    pack_numbers,
    signature_of,
    walk_files,
)
from gitpipe.storage.state import RACY_NS, State, StatKey
from gitpipe.storage.workspace import Workspace


def random_bytes(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def test_hash_file_equals_xxh3_of_bytes_across_chunks(tmp_path: Path) -> None:
    data = random_bytes(3 * CHUNK + 12345)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    digest = hash_file(path)
    assert digest == Digest("xxh3", xxhash.xxh3_128_hexdigest(data))
    assert str(digest) == "xxh3:" + xxhash.xxh3_128_hexdigest(data)
    assert hash_bytes(data) == digest


@pytest.mark.parametrize("size", [0, 1, FIRST_READ - 1, FIRST_READ, FIRST_READ + 1,
                                  BUFFER - 1, BUFFER, BUFFER + 1, BUFFER + FIRST_READ,
                                  CHUNK - 1, CHUNK, CHUNK + 1, CHUNK + FIRST_READ])
def test_hash_file_chunk_boundaries(tmp_path: Path, size: int) -> None:
    data = random_bytes(size, seed=size)
    path = tmp_path / "f"
    path.write_bytes(data)
    assert hash_file(path).value == xxhash.xxh3_128_hexdigest(data)


def test_hash_many_parallel_matches_serial(tmp_path: Path) -> None:
    paths = []
    for i in range(4):
        path = tmp_path / f"f{i}"
        path.write_bytes(random_bytes(3 * CHUNK, seed=i))
        paths.append(str(path))
    parallel = hash_many(paths, sizes=[3 * CHUNK] * 4)  # 12 MiB: goes through threads
    assert parallel == [str(hash_file(p)) for p in paths]


def test_digest_parse() -> None:
    assert Digest.parse("git:abc") == Digest("git", "abc")
    assert Digest.parse("xxh3:a:b") == Digest("xxh3", "a:b")
    for bad in ["abc", "xxh3:", ""]:
        with pytest.raises(ValueError):
            Digest.parse(bad)


@pytest.mark.parametrize("attributes", ["", "* text eol=crlf\n", "*.txt -text\n"])
@pytest.mark.parametrize("data", [b"", b"hello\n", b"no newline", b"\x00\xff" * 5000,
                                  b"crlf\r\nline\r\n", b"lf\nline\n"])
def test_blob_id_is_the_id_of_the_bytes_as_they_are_whatever_the_filters(
        tmp_path: Path, data: bytes, attributes: str) -> None:
    # The bytes a command reads, through no filter: under `eol=crlf` the
    # filtered id stays the same when LF becomes CRLF, this one does not.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitattributes").write_text(attributes)
    (tmp_path / "file.txt").write_bytes(data)
    expected = subprocess.run(["git", "hash-object", "--no-filters", "file.txt"],
                              check=True, capture_output=True, text=True,
                              cwd=tmp_path).stdout.strip()
    assert raw_blob_id(str(tmp_path / "file.txt")) == expected


# manifests -------------------------------------------------------------------------

def test_manifest_hash_ignores_entry_order() -> None:
    entries = [ManifestEntry("b/c.txt", "xxh3:1", 3), ManifestEntry("a.txt", "xxh3:2", 4),
               ManifestEntry("b/a.txt", "xxh3:3", 5)]
    assert hash_manifest(entries) == hash_manifest(list(reversed(entries)))
    changed = [*entries[:2], ManifestEntry("b/a.txt", "xxh3:4", 5)]
    assert hash_manifest(changed) != hash_manifest(entries)
    renamed = [*entries[:2], ManifestEntry("b/z.txt", "xxh3:3", 5)]
    assert hash_manifest(renamed) != hash_manifest(entries)


FILES = {"a.txt": b"alpha", "sub/b.txt": b"beta", "sub/deep/c.bin": b"\x00" * 100, "z": b""}


def make_dir(root: Path, names: list[str]) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(FILES[name])


def workspace(root: Path) -> Workspace:
    return Workspace(root, State(root / ".gitpipe" / "state.db"), None)


def test_directory_digest_independent_of_creation_order(tmp_path: Path) -> None:
    make_dir(tmp_path / "one" / "d", list(FILES))
    make_dir(tmp_path / "two" / "d", list(reversed(FILES)))
    first = workspace(tmp_path / "one").info("d")
    second = workspace(tmp_path / "two").info("d")
    assert first.digest is not None and first.digest.startswith("xxh3:")
    assert first.digest == second.digest
    assert (first.is_dir, first.files, first.size) == (True, 4, 5 + 4 + 100)


def test_directory_digest_changes_with_a_file(tmp_path: Path) -> None:
    make_dir(tmp_path / "d", list(FILES))
    before = workspace(tmp_path).info("d").digest
    (tmp_path / "d" / "sub" / "b.txt").write_bytes(b"BETA")  # same size, new content
    assert workspace(tmp_path).info("d").digest != before
    (tmp_path / "d" / "sub" / "b.txt").write_bytes(b"beta")
    assert workspace(tmp_path).info("d").digest == before
    (tmp_path / "d" / "new").write_bytes(b"")
    assert workspace(tmp_path).info("d").digest != before


def test_missing_path_has_no_digest(tmp_path: Path) -> None:
    info = workspace(tmp_path).info("nope")
    assert (info.exists, info.digest) == (False, None)


# walk_files ------------------------------------------------------------------------

def test_walk_files_reports_symlinks_without_following(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("x")
    root = tmp_path / "d"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "f.txt").write_text("f")
    os.symlink(outside, root / "linkdir")
    os.symlink("sub/f.txt", root / "linkfile")
    os.symlink("missing", root / "dangling")
    listing = walk_files(str(root))
    assert [item[0] for item in listing] == ["dangling", "linkdir", "linkfile", "sub/f.txt"]
    found = {item[0]: item[1:] for item in listing}
    for name in ("linkdir", "linkfile", "dangling"):
        assert stat.S_ISLNK(found[name][3])
        info = os.lstat(root / name)
        assert found[name] == (info.st_ino, info.st_mtime_ns, info.st_size, info.st_mode,
                               info.st_ctime_ns)
    assert stat.S_ISREG(found["sub/f.txt"][3])


# Each folder as directory_signature meets it: its one pass (plain files, a
# link, a fifo, a name that is not UTF-8, nothing) or walk_files (a subfolder,
# rules in or above it, a name the defaults may leave out).
FOLDERS = {
    "plain": {"b.csv": "2", "a.csv": "1", "c.csv": "33"},
    "empty": {},
    "linked": {"a.txt": "1", "link": None, "fifo": "fifo"},
    "undecodable": {"caf\udce9.txt": "1", "z.txt": "2"},
    "nested": {"a.txt": "1", "sub/b.txt": "2", "a-b.txt": "3"},
    "ruled": {"a.txt": "1", "b.tmp": "2", ".gitpipeignore": "*.tmp\n"},
    "defaults": {"a.txt": "1", "m.pyc": "2"},
    "ruled_above": {"a.keep": "1", "b.skip": "2"},
}


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_directory_signature_is_the_listing_signature_of_the_walk(tmp_path: Path,
                                                                  name: str) -> None:
    (tmp_path / "gitpipe.yaml").write_text("stages: {}\n")
    (tmp_path / ".gitpipeignore").write_text("/data/ruled_above/*.skip\n")
    folder = tmp_path / "data" / name
    folder.mkdir(parents=True)
    for rel, content in FOLDERS[name].items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            os.symlink("a.txt", path)
        elif content == "fifo":
            os.mkfifo(path)
        else:
            path.write_text(content)
    try:
        forget_outer_rules(str(tmp_path))
        listing = walk_files(str(folder))
        walked = listing_signature(listing)
        forget_outer_rules(str(tmp_path))
        assert directory_signature(str(folder)) == (walked, len(listing))
        (folder / "new.txt").write_text("n")  # and it sees a change as the walk does
        forget_outer_rules(str(tmp_path))
        assert directory_signature(str(folder)) == (listing_signature(walk_files(str(folder))),
                                                    len(listing) + 1)
        assert directory_signature(str(folder))[0] != walked
    finally:
        forget_outer_rules()


def test_directory_digest_records_link_target_not_content(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    (tmp_path / "t1").write_text("one")
    os.symlink("../t1", root / "link")
    before = workspace(tmp_path).info("d").digest
    (tmp_path / "t1").write_text("two")  # the link's target changes, the link does not
    assert workspace(tmp_path).info("d").digest == before


# State: the stat cache and its racy rule -------------------------------------------

def stat_key(path: Path) -> StatKey:
    info = os.stat(path)
    return StatKey(info.st_ino, info.st_mtime_ns, info.st_size, info.st_ctime_ns)


def test_entry_recorded_right_after_mtime_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("data")
    os.utime(path, ns=(time.time_ns(), time.time_ns()))
    state = State(tmp_path / "state.db")
    state.record_digest("f", stat_key(path), "xxh3:1")
    assert state.cached_digest("f", stat_key(path)) is None


def test_entry_older_than_racy_window_is_trusted(tmp_path: Path) -> None:
    old = time.time_ns() - 2 * RACY_NS
    state = State(tmp_path / "state.db")
    key = StatKey(7, old, 4, old + 5)
    state.record_digest("f", key, "xxh3:1")
    assert state.cached_digest("f", key) == "xxh3:1"
    # Any change to the stat key invalidates the entry.
    assert state.cached_digest("f", key._replace(mtime_ns=old + 1)) is None
    assert state.cached_digest("f", key._replace(size=5)) is None
    assert state.cached_digest("f", key._replace(inode=8)) is None
    assert state.cached_digest("f", key._replace(ctime_ns=old + 6)) is None
    assert state.cached_digest("other", key) is None


def test_an_old_mtime_with_a_recent_ctime_is_racy(tmp_path: Path) -> None:
    # An mtime set back (touch -d) right after a write: the ctime tells.
    path = tmp_path / "f"
    path.write_text("data")
    old = time.time_ns() - 5 * RACY_NS
    os.utime(path, ns=(old, old))
    state = State(tmp_path / "state.db")
    state.record_digest("f", stat_key(path), "xxh3:1")
    assert state.cached_digest("f", stat_key(path)) is None


def test_flush_persists_across_state_instances(tmp_path: Path) -> None:
    db = tmp_path / ".gitpipe" / "state.db"
    old = time.time_ns() - 5 * RACY_NS
    key = StatKey(42, old, 7, old)
    racy = StatKey(43, time.time_ns(), 7, time.time_ns())
    first = State(db)
    first.record_digest("a", key, "xxh3:aa")
    first.record_digest("b", racy, "xxh3:bb")
    first.flush()
    first.close()
    second = State(db)
    assert second.cached_digest("a", key) == "xxh3:aa"
    assert second.cached_digest("b", racy) is None  # persisted, but still racy
    second.close()


@pytest.mark.parametrize("asked", [["p1", "nowhere"], [f"p{i}" for i in range(60)] + ["nowhere"]],
                         ids=["a few paths: by the index", "about every row: one scan"])
def test_a_prefetch_knows_what_point_lookups_know(tmp_path: Path, asked: list[str]) -> None:
    db = tmp_path / ".gitpipe" / "state.db"
    old = time.time_ns() - 5 * RACY_NS
    first = State(db)
    for i in range(50):
        first.record_digest(f"p{i}", StatKey(i, old, 7, old), f"xxh3:{i:02x}")
    first.flush()
    first.close()
    prefetched, looked_up = State(db), State(db)
    prefetched.prefetch(asked)
    for path in [*asked, "p3", "p49", "p50"]:
        number = int(path[1:]) if path[1:].isdigit() else 0
        key = StatKey(number, old, 7, old)
        assert prefetched.cached_digest(path, key) == looked_up.cached_digest(path, key), path
    assert prefetched.cached_digest("p1", StatKey(1, old, 7, old)) == "xxh3:01"
    prefetched.close()
    looked_up.close()


def test_after_the_whole_stat_cache_is_read_a_row_written_since_is_found(tmp_path: Path) -> None:
    db = tmp_path / ".gitpipe" / "state.db"
    old = time.time_ns() - 5 * RACY_NS
    nothing_yet = State(db)
    assert nothing_yet.prefetch_all(10) and not db.exists()  # read: no rows; never made
    nothing_yet.close()
    first = State(db)
    for i in range(5):
        first.record_digest(f"p{i}", StatKey(i, old, 7, old), f"xxh3:{i:02x}")
    first.flush()
    first.close()
    state = State(db)
    assert not state.prefetch_all(2)  # a few lookups: by the index
    assert state.prefetch_all(20)
    state.record_digest("new", StatKey(9, old, 7, old), "xxh3:09")
    state.flush()
    assert state.cached_digest("new", StatKey(9, old, 7, old)) == "xxh3:09"
    assert state.cached_digest("p3", (3, old, 7, old)) == "xxh3:03"
    assert state.cached_digest("absent", StatKey(3, old, 7, old)) is None
    assert not state.recorded("absent")
    state.close()


def test_unflushed_entries_are_not_persisted(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    key = StatKey(1, time.time_ns() - 5 * RACY_NS, 1, time.time_ns() - 5 * RACY_NS)
    first = State(db)
    first.record_digest("a", key, "xxh3:aa")
    assert State(db).cached_digest("a", key) is None
    first.close()  # close flushes
    assert State(db).cached_digest("a", key) == "xxh3:aa"


def test_directory_entries_persist_in_one_row_without_racy_files(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    old = time.time_ns() - 5 * RACY_NS
    listing = [("a", 1, old, 10, 0o100644, old), ("new", 3, time.time_ns(), 5, 0o100644, old),
               ("sub/b", 2**62, old - 1, 0, 0o100644, old),
               ("touched", 4, old, 3, 0o100644, time.time_ns())]  # written just now: racy
    first = State(db)
    first.record_directory("d", listing, ["xxh3:a", "xxh3:new", "xxh3:b", "xxh3:t"])
    kept = {"a": ((1, old, 10, old), "xxh3:a"), "sub/b": ((2**62, old - 1, 0, old), "xxh3:b")}
    assert first.directory_entries("d") == kept
    first.close()
    second = State(db)
    assert second.directory_entries("d") == kept
    assert second.directory_entries("d2") == {} and second.directory_entries("d/sub") == {}
    row = second._db().execute("SELECT count(*) FROM dir_entries_ctime").fetchone()
    assert row == (1,) and second._db().execute(
        "SELECT count(*) FROM stat_cache_ctime").fetchone() == (0,)
    second.close()


def test_a_state_db_that_does_not_exist_is_not_created_by_reading(tmp_path: Path) -> None:
    state = State(tmp_path / ".gitpipe" / "state.db")
    assert state.directory_entries("d") == {}
    state.close()
    assert not (tmp_path / ".gitpipe").exists()


def test_one_changed_file_in_a_hashed_directory_is_the_only_one_read(tmp_path: Path,
                                                                       monkeypatch) -> None:
    import gitpipe.hashing.digests as hashing

    directory = tmp_path / "d"
    directory.mkdir()
    old = time.time_ns() - 5 * RACY_NS
    for i in range(50):
        (directory / f"f{i:02}").write_text(f"{i}\n")
        os.utime(directory / f"f{i:02}", ns=(old, old))
    time.sleep(1.1 * RACY_NS / 1e9)  # the ctimes utime set: past the racy window too
    first = workspace(tmp_path)
    before = first.info("d").digest
    first.state.flush()
    first.state.close()
    (directory / "f07").write_text("changed\n")
    read: list[str] = []
    real = hashing.file_digest
    monkeypatch.setattr(hashing.hash_many, "__defaults__",
                        (lambda p: read.append(p) or real(p), None))
    after = workspace(tmp_path).info("d").digest
    assert after != before
    assert [os.path.basename(p) for p in read] == ["f07"]


def test_forked_children_hash_with_buffers_of_their_own(tmp_path: Path) -> None:
    # The per-thread read buffer is a private mapping: after a fork, parent and
    # children each read into their own copy, never into one shared buffer.
    import multiprocessing

    files = []
    for index in range(6):
        data = bytes([index]) * (FIRST_READ + 16 * BUFFER)
        path = tmp_path / f"f{index}"
        path.write_bytes(data)
        files.append((str(path), "xxh3:" + xxhash.xxh3_128_hexdigest(data)))
    file_digest(files[0][0])  # the parent's buffer exists before the fork
    with multiprocessing.get_context("fork").Pool(3) as pool:
        assert all(pool.map(_digests_hold, files * 3))


def _digests_hold(item: tuple[str, str]) -> bool:
    path, expected = item
    return all(file_digest(path) == expected for _ in range(10))


# signatures ------------------------------------------------------------------------

@pytest.mark.parametrize("numbers", [[], [0], [1, -1, 2**63 - 1, -(2**63), 1_733_000_000_123_456],
                                     list(range(-50, 50_000, 7))])
def test_numbers_pack_as_an_int64_array_lays_them_out(numbers: list[int]) -> None:
    assert pack_numbers(numbers) == array("q", numbers).tobytes()


def test_an_inode_past_2_63_packs_as_its_unsigned_array() -> None:
    numbers = [2**63 + 5, 1, -1, 2**64 - 1]
    assert pack_numbers(numbers) == array("Q", [n & (2**64 - 1) for n in numbers]).tobytes()


def test_a_listing_signature_holds_every_number_and_the_regular_files_total() -> None:
    regular, link = stat.S_IFREG | 0o644, stat.S_IFLNK | 0o777
    listing = [("a", 11, 5_000, 3, regular, 7_000), ("b/c", 12, 9_000, 4, link, 6_000),
               ("d", 13, 8_000, 10, regular, 8_500)]
    numbers = [value for item in listing for value in item[1:]]
    expected = signature_of("a\0b/c\0d", [array("q", numbers).tobytes()], 9_000, 13)
    assert listing_signature(listing) == expected
    changed = [listing[0], ("b/c", 12, 9_000, 4, link, 6_001), listing[2]]
    assert listing_signature(changed)[0] != expected[0]


def test_a_broken_seals_walk_is_taken_only_by_the_rules_it_was_walked_by(tmp_path: Path) -> None:
    """walkahead.taken_over: a listing the seal's check made is taken while every
    `.gitpipeignore` above the directory has the signature the check read it
    with; a file that appeared, changed or went since, or one the check did not
    read, sends the directory to be walked again."""
    from gitpipe.hashing.ignore import outer_rules_read
    from gitpipe.hashing.walkahead import taken_over

    (tmp_path / "gitpipe.yaml").write_text("stages: {}\n")
    folder = tmp_path / "data" / "d"
    folder.mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    full = str(folder)
    known = {full: "data/d"}
    try:
        forget_outer_rules(str(tmp_path))
        signed = directory_signature(full)
        walked = [({"data/d": signed}, outer_rules_read())]
        forget_outer_rules(str(tmp_path))
        assert taken_over(walked, known) == {"data/d": signed}
        assert taken_over([({"data/e": signed}, walked[0][1])], known) == {}
        assert taken_over([({"data/d": signed}, {})], known) == {}  # rules it did not read
        (tmp_path / "data" / ".gitpipeignore").write_text("*.tmp\n")
        forget_outer_rules(str(tmp_path))
        assert taken_over(walked, known) == {}
        walked = [({"data/d": directory_signature(full)}, outer_rules_read())]
        (tmp_path / "data" / ".gitpipeignore").write_text("*.txt\n")
        forget_outer_rules(str(tmp_path))
        assert taken_over(walked, known) == {}
    finally:
        forget_outer_rules()
