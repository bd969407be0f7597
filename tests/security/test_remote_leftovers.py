"""A push killed half-way leaves its temp file (`<object>.tmp-<16 hex>`,
core/nofollow.write_beneath) in a folder remote, which listings skip: gc
--remote removes such a file once it has been untouched for a day, and
nothing else: not a fresh one (a push under way), not one of another name
or outside the folders pushes write, never a link's target."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gitpipe.storage.remote import object_key
from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot
from tests.security.test_gc import allowed, objects_of, project_with_remote

TWO_DAYS = 2 * 24 * 3600


def aged(path: Path, data: bytes | None = b"half an upload") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if data is not None:
        path.write_bytes(data)
    then = time.time() - TWO_DAYS
    os.utime(path, (then, then), follow_symlinks=False)
    return path


def killed_pushes(origin: Repo, store: Path, victim: Path) -> tuple[Path, list[Path]]:
    """A stale temp file beside a pushed object; and what gc must leave: a fresh
    one, a stale link of that name to a file outside, stale files of other names
    or outside the pushed folders."""
    pushed = store / object_key(sorted(objects_of(origin))[0])
    stale = aged(pushed.with_name(pushed.name + ".tmp-0123456789abcdef"))
    fresh = pushed.with_name(pushed.name + ".tmp-fedcba9876543210")
    fresh.write_bytes(b"a push under way")
    link = pushed.with_name(pushed.name + ".tmp-aaaaaaaaaaaaaaaa")
    link.symlink_to(victim)
    aged(link, None)
    others = [aged(pushed.with_name(pushed.name + ".tmp-NOTHEX0123456789")),
              aged(store / "files" / "notes.tmp-0123456789abcdef0"),
              aged(store / "photos" / "cat.jpg.tmp-0123456789abcdef")]
    return stale, [fresh, link, *others]


def test_gc_remote_removes_what_a_killed_push_left_and_nothing_else(
        make_repo, tmp_path: Path) -> None:
    origin = project_with_remote(make_repo, str(tmp_path / "store"))
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    stale, kept = killed_pushes(origin, tmp_path / "store", victim)
    before = snapshot(tmp_path)
    dry = origin.run("gc", "-r", "store", "-A", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"would remove {stale.relative_to(tmp_path / 'store')}" in dry.stdout, dry.stdout
    assert "1 half-done upload(s)" in dry.stdout, dry.stdout
    assert_only_changed(before, snapshot(tmp_path), allowed(origin, fetched=True))
    done = origin.run("gc", "-r", "store", "-A", "--yes")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert not stale.exists()
    assert all(os.path.lexists(path) for path in kept)
    assert victim.read_text() == "precious\n"
    assert_only_changed(before, snapshot(tmp_path),
                        [*allowed(origin, fetched=True), str(stale.relative_to(tmp_path))])


@pytest.mark.parametrize("name", [
    "{object}.tmp-0123456789abcdef\n",  # `$` also matches before a final newline
    "\udcff\x1b[2J\u202eNotes.tmp-0123456789abcdef",  # no object's name, odd bytes
    "report final.tmp-0123456789abcdef",
])
def test_gc_remote_leaves_a_file_named_like_a_temp_file_of_another_name(
        make_repo, tmp_path: Path, name: str) -> None:
    """A shared remote's file `<anything>.tmp-<16 hex>` is not a push's temp
    file: a push names its temp file after the object it writes."""
    origin = project_with_remote(make_repo, str(tmp_path / "store"))
    pushed = tmp_path / "store" / object_key(sorted(objects_of(origin))[0])
    planted = aged(pushed.with_name(name.format(object=pushed.name)))
    before = snapshot(tmp_path)
    dry = origin.run("gc", "-r", "store", "-A", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "half-done upload" not in dry.stdout, dry.stdout
    done = origin.run("gc", "-r", "store", "-A", "--yes")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert os.path.lexists(planted)
    assert "half-done upload" not in done.stdout + done.stderr
    assert_only_changed(before, snapshot(tmp_path), allowed(origin, fetched=True))


@pytest.mark.parametrize("rel", [
    "files/photos/2024/cat.jpg.tmp-0123456789abcdef",  # a user's file in a folder of theirs
    "files/xxh3/ab/notes.tmp-0123456789abcdef",
    "packs/readme.tmp-0123456789abcdef",
    "runs/notes.tmp-0123456789abcdef",
    "scopes/pr-1/notes.tmp-0123456789abcdef",
])
def test_gc_remote_leaves_a_temp_name_beside_no_name_a_push_writes(
        make_repo, tmp_path: Path, rel: str) -> None:
    """A push's temp file is named after what it writes there: an object
    (`files/xxh3/ab/<30 hex>`), a pack or its index, a run entry. A folder
    remote that is a folder of the user's holds other files under `files/`
    (which gc never takes for objects): `cat.jpg.tmp-<16 hex>` beside them
    was deleted as a killed push's upload."""
    origin = project_with_remote(make_repo, str(tmp_path / "store"))
    planted = aged(tmp_path / "store" / rel)
    before = snapshot(tmp_path)
    done = origin.run("gc", "-r", "store", "-A", "--yes")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert planted.read_bytes() == b"half an upload"
    assert "half-done upload" not in done.stdout + done.stderr
    assert_only_changed(before, snapshot(tmp_path), allowed(origin, fetched=True))
