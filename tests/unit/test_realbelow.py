"""core/nofollow.py `realpath_below`: the runner's check of a task's paths just
before it runs resolves them as `os.path.realpath` does, whatever the tree
holds (symlinks inside and outside, dangling ones, files on the way, `.`,
`..`, missing parts)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gitpipe.core.nofollow import realpath_below

NAMES = ["a", "b", "c", ".", "..", ""]
KINDS = ["dir", "file", "link-in", "link-out", "link-dangling", "link-up", "absent"]


@st.composite
def trees(draw: st.DrawFn) -> tuple[list[tuple[str, str]], list[str]]:
    """Entries (path, kind) to make below the root, and relative paths to resolve."""
    entries = draw(st.lists(st.tuples(
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3).map("/".join),
        st.sampled_from(KINDS)), max_size=8))
    paths = draw(st.lists(
        st.lists(st.sampled_from(NAMES), min_size=1, max_size=4).map("/".join),
        min_size=1, max_size=6))
    return entries, paths


def build(root: Path, outside: Path, entries: list[tuple[str, str]]) -> None:
    for rel, kind in entries:
        full = root / rel
        if os.path.lexists(full):
            continue
        try:
            full.parent.mkdir(parents=True, exist_ok=True)
            if kind == "dir":
                full.mkdir()
            elif kind == "file":
                full.write_text(rel)
            elif kind == "link-in":
                full.symlink_to(root / "a")
            elif kind == "link-out":
                full.symlink_to(outside)
            elif kind == "link-dangling":
                full.symlink_to(root / "nowhere")
            elif kind == "link-up":
                full.symlink_to("..")
        except OSError:
            continue  # a file or a link on the way: the entry cannot be made


@settings(max_examples=400, deadline=None)
@given(trees())
def testrealpath_below_resolves_as_realpath_does(tmp_path_factory, case) -> None:  # type: ignore[no-untyped-def]
    entries, paths = case
    base = tmp_path_factory.mktemp("real")
    root, outside = base / "root", base / "outside"
    root.mkdir()
    outside.mkdir()
    try:
        build(root, outside, entries)
        real_root = os.path.realpath(root)
        for rel in paths:
            assert realpath_below(real_root, rel) == os.path.realpath(os.path.join(real_root, rel))
    finally:
        shutil.rmtree(base)


def test_a_link_swapped_in_is_resolved(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "out").mkdir(parents=True)
    outside.mkdir()
    real_root = os.path.realpath(root)
    assert realpath_below(real_root, "out") == f"{real_root}/out"
    (root / "out").rmdir()
    (root / "out").symlink_to(outside)
    assert realpath_below(real_root, "out") == os.path.realpath(outside)
