"""trust/checks.py's rules on their own: which paths, manifests and run entries pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitpipe.core.errors import RecordError
from gitpipe.trust import checks as trust

FILE = "xxh3:" + "a" * 32


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/.",
                                  "a\\..\\x", "a\0b", ".git/hooks/pre-commit", "sub/.GIT/x",
                                  ".gitpipe/cache", "a/", 3, None])
def test_paths_that_are_refused(path: object) -> None:
    assert trust.path_problem(path) is not None


@pytest.mark.parametrize("path", ["out.txt", "data/sub/f.csv", "a..b", ".hidden", "x@2024-01-01"])
def test_paths_that_pass(path: str) -> None:
    assert trust.path_problem(path) is None


@pytest.mark.parametrize(("relpath", "target", "inside"), [
    ("a", "b", True), ("sub/a", "../b", True), ("sub/a", "./x/y", True),
    ("a", "../b", False), ("sub/a", "../../b", False), ("a", "/etc", False),
    ("a", "x/../../b", False), ("a", "x/..", False), ("a", "", False),
])
def test_symlink_entries_point_inside_their_directory(relpath: str, target: str,
                                                      inside: bool) -> None:
    assert (trust.link_problem(relpath, target) is None) is inside


@pytest.mark.parametrize(("rows", "problem"), [
    ({"a": 1}, "is not a list"),
    ([["a", FILE]], "is not [path, digest, size]"),
    ([["a", FILE, "2"]], "is not [path, digest, size]"),
    ([["a", "xxh3:zz", 2]], "is not an object digest"),
    ([["a", FILE + ".dir", 2]], "is not a file digest"),
    ([["a", FILE, 1], ["a", FILE, 1]], "appears twice"),
    ([["a-b", FILE, 1], ["a", "link:b", 0], ["a/c", FILE, 1]], "lies under entry 'a'"),
    ([["a", FILE, 1], ["a/b", FILE, 1]], "lies under entry 'a'"),
])
def test_malformed_manifests_are_refused_naming_record_and_source(rows: object,
                                                                  problem: str) -> None:
    with pytest.raises(RecordError, match="remote 'store': directory manifest X") as caught:
        trust.check_manifest(rows, record="directory manifest X", source="remote 'store'")
    assert problem in caught.value.message


def test_a_well_formed_manifest_passes() -> None:
    rows = [["a", FILE, 1], ["sub/b", FILE, 2], ["sub/link", "link:../a", 0]]
    assert [e.relpath for e in trust.check_manifest(rows, record="m", source="s")] == \
        ["a", "sub/b", "sub/link"]


def test_out_path_refuses_a_symlinked_parent_and_undeclared_outs(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    (tmp_path / "file").write_text("")
    declared = ["real/o", "link/o", "file/o"]
    assert trust.out_path(tmp_path, "real/o", declared, record="r", source="s") == \
        tmp_path / "real/o"
    for path, problem in [("link/o", "symlink 'link'"), ("file/o", "not a directory"),
                          ("other", "not an out")]:
        with pytest.raises(RecordError, match=problem):
            trust.out_path(tmp_path, path, declared, record="lock entry 'x'", source="gitpipe.lock")


def test_run_entries_must_name_exactly_the_declared_outs() -> None:
    rows = [["o", FILE, 1]]
    assert trust.check_run_entry(rows, {"o"}, record="r", source="s") == [("o", FILE, 1, False)]
    assert trust.check_run_entry([["o", FILE, 1, "exec"]], {"o"}, record="r",
                                 source="s") == [("o", FILE, 1, True)]
    for bad in ([["o", FILE, 1], ["p", FILE, 1]], [["../o", FILE, 1]], [["o", FILE]], {},
                [["o", FILE, 1, "setuid"]], [["o", FILE, 1, "exec", "more"]]):
        with pytest.raises(RecordError, match="it is ignored"):
            trust.check_run_entry(bad, {"o"}, record="r", source="s")


def test_tracked_outs_include_directories_holding_tracked_files() -> None:
    tracked = sorted(["a-b", "data/f", "model.bin", "datax"])
    problems = trust.tracked_outs([("t", "data"), ("t", "model.bin"), ("t", "a"),
                                   ("t", "dat")], tracked)
    assert problems == ["stage 't': out 'data' holds 'data/f', which git tracks",
                        "stage 't': out 'model.bin' is tracked by git"]
