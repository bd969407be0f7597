"""core/nofollow.py: what gc and fsck delete is a regular file found and removed
without following a symlink, even one swapped in after the walk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitpipe.core.nofollow import SymlinkRefusedError, real_dir, regular_files, unlink_beneath


def tree(root: Path, *files: str) -> Path:
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    return root


def test_the_walk_yields_regular_files_only_and_never_enters_a_link(tmp_path: Path) -> None:
    victim = tree(tmp_path / "victim", "a/b/secret")
    base = tree(tmp_path / "base", "x/y/object")
    (base / "x/linked").symlink_to(victim)
    (base / "x/y/file-link").symlink_to(victim / "a/b/secret")
    assert [rel for rel, _ in regular_files(base)] == ["x/y/object"]


def test_a_link_swapped_in_after_the_walk_stops_the_removal(tmp_path: Path) -> None:
    victim = tree(tmp_path / "victim", "b/object")
    base = tree(tmp_path / "base", "a/b/object")
    assert [rel for rel, _ in regular_files(base)] == ["a/b/object"]
    os.rename(base / "a", base / "a.old")
    (base / "a").symlink_to(victim)
    with pytest.raises(SymlinkRefusedError, match="'a' on its way"):
        unlink_beneath(base, "a/b/object")
    assert (victim / "b/object").exists()


def test_only_a_regular_file_is_removed(tmp_path: Path) -> None:
    victim = tree(tmp_path / "victim", "secret")
    base = tree(tmp_path / "base", "object")
    (base / "link").symlink_to(victim / "secret")
    assert unlink_beneath(base, "object") and not (base / "object").exists()
    assert not unlink_beneath(base, "object")
    with pytest.raises(SymlinkRefusedError, match="not a regular file"):
        unlink_beneath(base, "link")
    for bad in ("../victim/secret", "/etc/passwd", ""):
        with pytest.raises(SymlinkRefusedError):
            unlink_beneath(base, bad)
    assert (victim / "secret").exists()


def test_a_base_that_is_a_link_is_refused(tmp_path: Path) -> None:
    victim = tree(tmp_path / "victim", "a/b/c")
    (tmp_path / "base").symlink_to(victim)
    with pytest.raises(SymlinkRefusedError):
        real_dir(tmp_path / "base")
    with pytest.raises(SymlinkRefusedError):
        list(regular_files(tmp_path / "base"))
    with pytest.raises(SymlinkRefusedError):
        unlink_beneath(tmp_path / "base", "a/b/c")
    assert (victim / "a/b/c").exists() and not real_dir(tmp_path / "absent")
