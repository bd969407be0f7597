"""trust/monitorlink.vouchable on real files: which seal paths a file-system
monitor sees every change to."""

from __future__ import annotations

import os
from pathlib import Path

from gitpipe.trust.monitorlink import vouchable


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "data" / "sub").mkdir(parents=True)
    (root / "data" / "a.txt").write_text("a\n")
    (root / "data" / "sub" / "b.txt").write_text("b\n")
    (root / "params.yaml").write_text("n: 1\n")
    return root


def test_plain_paths_are_vouchable(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    assert vouchable(str(root), ["params.yaml", "data", "data/a.txt", "missing/x"])


def test_a_file_with_a_second_name_is_not(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.link(root / "params.yaml", tmp_path / "other")
    assert not vouchable(str(root), ["params.yaml"])


def test_a_folder_holding_such_a_file_deep_down_is_not(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.link(root / "data" / "sub" / "b.txt", tmp_path / "other")
    assert vouchable(str(root), ["data/a.txt"])
    # the folder seen first as the parent of another path is still looked into
    assert not vouchable(str(root), ["data/a.txt", "data"])
    assert not vouchable(str(root), ["data"])


def test_a_symbolic_link_is_not_followed_into_the_folder(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (tmp_path / "elsewhere").write_text("x\n")
    os.link(tmp_path / "elsewhere", tmp_path / "elsewhere2")
    (root / "data" / "link").symlink_to(tmp_path / "elsewhere")
    assert vouchable(str(root), ["data"])  # the link's own name is watched; its target is not read
    assert not vouchable(str(root), ["data/link"])
