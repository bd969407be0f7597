"""Attacks on `gitpipe commit`, which reads each out into the cache without
running anything (and `push` then uploads the cache to a shared remote): a
cloned repository commits its out as a symlink to a file outside it (the
user's secret next to the clone), or reaches the out through a committed
symlinked folder, or simply tracks the out. commit refuses each as repro
does, naming the stage and the path, and caches nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

SECRET = "the user's private key\n"


def _hostile(repo: Repo, tmp_path: Path, attack: str) -> Repo:
    (tmp_path / "secret").write_text(SECRET)
    if attack == "symlinked out":
        repo.spec({"a": {"cmd": "true", "outs": ["out.txt"]}})
        os.symlink("../secret", repo.path / "out.txt")
    elif attack == "symlinked folder":
        repo.spec({"a": {"cmd": "true", "outs": ["up/secret"]}})
        os.symlink("..", repo.path / "up")
    else:
        repo.spec({"a": {"cmd": "true", "outs": ["out.txt"]}})
        repo.gen({"out.txt": "tracked by git\n"})
    repo.commit("a hostile clone")
    assert repo.git("ls-files").split()[-1] in ("out.txt", "up")  # git carries the link
    clone = repo.clone_to(tmp_path / "clone")
    clone.run("init", check=True)
    return clone


@pytest.mark.parametrize("attack", ["symlinked out", "symlinked folder", "tracked out"])
def test_commit_never_caches_what_a_clone_points_at(repo: Repo, tmp_path: Path,
                                                    attack: str) -> None:
    clone = _hostile(repo, tmp_path, attack)
    store = tmp_path / "store"
    clone.run("remote", "add", "-d", "--local", "store", str(store), check=True)
    before = snapshot(tmp_path)
    done = clone.run("commit")
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "stage 'a'" in done.stderr, done.stderr
    if attack == "tracked out":
        assert "'out.txt' is tracked by git" in done.stderr, done.stderr
    else:
        assert "resolves outside the repository (through a symlink)" in done.stderr
    pushed = clone.run("push")
    assert SECRET not in pushed.stdout + pushed.stderr
    assert not store.exists()
    assert_only_changed(before, snapshot(tmp_path), ["clone/.gitpipe/state.db",
                                                     "clone/.gitpipe/project.lock"])
