"""git's index read without pygit2 (git/indexnames.py): for every index git
writes, the paths it names are pygit2's, or the reader says it cannot tell;
a build of tracked deps never imports pygit2."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitpipe.git.indexnames import parse_names, tracked_names
from tests.conftest import Repo

NAMES = ["a.txt", "b c.txt", "dir/x.txt", "dir/sub/y.txt", "é/ü.txt", "x" * 250,
         "d/" + "/".join(["long" * 60] * 6)]
SPEC = {"gitpipe.yaml": {"stages": {"s": {"cmd": "cat a.txt > s.out", "deps": ["a.txt"],
                                          "outs": ["s.out"]}}}}
OPS = st.sampled_from(["write", "add", "rm_cached", "skip_worktree", "intent", "commit",
                       "symlink"])


def pygit2_names(path: Path) -> set[str]:
    return {entry.path for entry in pygit2.Repository(str(path)).index}


def apply(repo: Repo, op: str, name: str) -> None:
    target = repo.path / name
    if op == "write":
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        target.write_text(f"{name[:20]}\n")
    elif op == "symlink" and not (target.exists() or target.is_symlink()):
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink("elsewhere", target)
    elif op == "add" and (target.exists() or target.is_symlink()):
        repo.git("add", "--", name)
    elif op == "rm_cached":
        repo.git("rm", "-q", "--cached", "--ignore-unmatch", "--", name)
    elif op == "skip_worktree" and name in pygit2_names(repo.path):
        repo.git("update-index", "--skip-worktree", "--", name)  # version 3 flags
    elif op == "intent" and target.exists() and name not in pygit2_names(repo.path):
        repo.git("add", "-N", "--", name)  # an entry of no content yet
    elif op == "commit":
        repo.git("commit", "-q", "--allow-empty", "-m", "c")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(st.tuples(OPS, st.sampled_from(NAMES)), min_size=1, max_size=12))
def test_plain_index_names_are_pygit2s(ops: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repo(Path(tmp))
        for op, name in ops:
            apply(repo, op, name)
            names = tracked_names(str(repo.path / ".git/index"))
            assert names is not None, op
            assert names == pygit2_names(repo.path), (op, name)


def test_a_merge_conflict_names_the_path_once(repo: Repo) -> None:
    repo.gen({"a.txt": "base\n"}, commit="base")
    repo.git("checkout", "-q", "-b", "other")
    repo.gen({"a.txt": "other\n"}, commit="other")
    repo.git("checkout", "-q", "main")
    repo.gen({"a.txt": "main\n"}, commit="main")
    with pytest.raises(Exception):  # noqa: B017 - git exits 1 on the conflict
        repo.git("merge", "-q", "other")
    assert tracked_names(str(repo.path / ".git/index")) == pygit2_names(repo.path) == {"a.txt"}


@pytest.mark.parametrize("setup", [
    ["update-index", "--index-version", "4"],
    ["update-index", "--split-index"],
])
def test_formats_only_git_reads_are_left_to_it(repo: Repo, setup: list[str]) -> None:
    repo.gen({"a.txt": "a\n", "dir/b.txt": "b\n", **SPEC}, commit="files")
    repo.git(*setup)
    assert tracked_names(str(repo.path / ".git/index")) is None
    workspace = repo.project().workspace
    assert workspace.info("a.txt").digest.startswith("git:")  # asked of git instead


def test_a_sparse_index_is_left_to_git(repo: Repo) -> None:
    repo.gen({"a.txt": "a\n", "far/b.txt": "b\n", "near/c.txt": "c\n"}, commit="files")
    repo.git("sparse-checkout", "init", "--cone", "--sparse-index")
    repo.git("sparse-checkout", "set", "near")
    assert tracked_names(str(repo.path / ".git/index")) is None


def test_a_name_longer_than_its_length_field_holds(repo: Repo) -> None:
    blob = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # the empty blob
    long_name = "d/" + "n" * 5000  # past the 0xFFF of an entry's length field
    repo.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{long_name}")
    repo.git("update-index", "--add", "--cacheinfo", f"100644,{blob},z.txt")
    names = tracked_names(str(repo.path / ".git/index"))
    assert names == pygit2_names(repo.path) == {long_name, "z.txt"}


def test_damaged_or_foreign_bytes_are_left_to_git(repo: Repo) -> None:
    repo.gen({"a.txt": "a\n", "b.txt": "b\n"}, commit="files")
    data = (repo.path / ".git/index").read_bytes()
    assert parse_names(data) == {"a.txt", "b.txt"}
    assert parse_names(data[:-1]) is None                         # truncated
    flipped = bytearray(data)
    flipped[70] ^= 1
    assert parse_names(bytes(flipped)) is None                    # checksum
    assert parse_names(b"") is None
    assert parse_names(b"DIRC" + bytes(28)) is None               # version 0
    assert tracked_names(str(repo.path / "no-index")) == frozenset()


def test_an_index_that_is_a_device_or_a_link_is_left_to_git(repo: Repo,
                                                            tmp_path: Path) -> None:
    """A .git from a tarball or a CI cache may hold anything: `/dev/zero` would
    be read for ever, a symlink may name any file."""
    repo.gen({"a.txt": "a\n"}, commit="files")
    real = tmp_path / "real-index"
    (repo.path / ".git/index").rename(real)
    (repo.path / ".git/index").symlink_to("/dev/zero")
    assert tracked_names(str(repo.path / ".git/index")) is None
    (repo.path / ".git/index").unlink()
    (repo.path / ".git/index").symlink_to(real)
    assert tracked_names(str(repo.path / ".git/index")) is None
    assert parse_names(real.read_bytes()) == {"a.txt"}


def test_a_project_below_the_top_sees_its_own_paths(repo: Repo) -> None:
    repo.gen({"proj/a.txt": "a\n", "proj/gitpipe.yaml": SPEC["gitpipe.yaml"],
              "top.txt": "t\n"}, commit="files")
    from gitpipe.usecases.api import Project

    workspace = Project(repo.path / "proj").workspace
    assert workspace.info("a.txt").digest.startswith("git:")
    (repo.path / "proj/new.txt").write_text("n\n")
    assert workspace.info("new.txt").digest.startswith("xxh3:")


def test_a_build_of_tracked_deps_never_imports_pygit2(repo: Repo) -> None:
    repo.gen({"a.txt": "a\n", "tool.sh": "cat a.txt\n"})
    repo.spec({"s": {"cmd": "sh tool.sh > s.out", "deps": ["tool.sh", "a.txt"],
                     "outs": ["s.out"]}})
    repo.run("init", check=True)
    repo.commit("start")
    done = repo.run("repro", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert done.returncode == 0, done.stderr
    assert "gitpipe.engine.runner" in done.stderr
    assert "pygit2" not in done.stderr
    lock = (repo.path / "gitpipe.lock").read_text()
    assert lock.count("git:") == 2  # both deps tracked, named by their blob ids
