"""`remove_path`, which clears a stage's outs before each run, decides from one
`lstat` what is there: every kind of path is removed, or left, as the three
pathlib questions it answers (is_symlink, is_file, is_dir) would have it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gitpipe.engine.beforerun import _real_folder
from gitpipe.storage.cache import remove_path


def _by_pathlib(path: Path) -> str:
    """What the pathlib questions say should happen to `path`."""
    if path.is_symlink() or path.is_file():
        return "unlinked"
    if path.is_dir():
        return "tree removed"
    return "left"


def _kinds(tmp: Path) -> dict[str, Path]:
    (tmp / "file").write_text("x")
    (tmp / "dir" / "sub").mkdir(parents=True)
    (tmp / "dir" / "sub" / "f").write_text("y")
    os.chmod(tmp / "dir" / "sub" / "f", 0o444)
    os.chmod(tmp / "dir" / "sub", 0o555)  # read-only entries are removed too
    (tmp / "target").mkdir()
    (tmp / "target" / "kept").write_text("z")
    os.symlink(tmp / "file", tmp / "to-file")
    os.symlink(tmp / "target", tmp / "to-dir")
    os.symlink(tmp / "nowhere", tmp / "dangling")
    os.symlink("loop", tmp / "loop")
    os.mkfifo(tmp / "fifo")
    return {name: tmp / name for name in
            ("file", "dir", "to-file", "to-dir", "dangling", "loop", "fifo")} | {
        "missing": tmp / "missing", "under-a-file": tmp / "file" / "x",
        "through-a-loop": tmp / "loop" / "x"}


@pytest.mark.parametrize("kind", ["file", "dir", "to-file", "to-dir", "dangling", "loop",
                                  "fifo", "missing", "under-a-file", "through-a-loop"])
def test_remove_path_does_what_pathlib_says(tmp_path: Path, kind: str) -> None:
    path = _kinds(tmp_path)[kind]
    expected, there = _by_pathlib(path), os.path.lexists(path)
    remove_path(path)
    assert os.path.lexists(path) == (there and expected == "left")
    # a link's target is never touched
    assert (tmp_path / "target" / "kept").read_text() == "z"
    assert (tmp_path / "file").exists() or kind == "file"


@pytest.mark.parametrize("kind", ["file", "dir", "to-file", "to-dir", "dangling", "fifo",
                                  "missing", "under-a-file"])
def test_real_folder_is_a_directory_not_a_link_to_one(tmp_path: Path, kind: str) -> None:
    path = _kinds(tmp_path)[kind]
    assert _real_folder(path) == (not path.is_symlink() and path.is_dir())
    if kind == "dir":
        assert stat.S_ISDIR(os.lstat(path).st_mode)
