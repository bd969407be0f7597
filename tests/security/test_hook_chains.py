"""A hooks folder in the work tree (core.hooksPath set to a committed
`.githooks`, the user's own choice) holds a branch's files. A branch shipped
a hook that reads as gitpipe's (its marker line) naming any path as the hook
it chains: `hooks install --uninstall` then moved that file (the user's
README, or one outside the repository) over the hook, gone from its place."""

from __future__ import annotations

import os
from pathlib import Path

from gitpipe.usecases.hooks import CHAINS, MARKER
from tests.conftest import Repo
from tests.func.test_git_integration import built
from tests.security.conftest import assert_only_changed, snapshot


def test_a_branchs_chain_line_moves_nothing(repo: Repo, tmp_path: Path) -> None:
    built(repo)
    (tmp_path / "outside.txt").write_text("the user's file outside the repository\n")
    hooks = repo.path / ".githooks"
    hooks.mkdir()
    for name, target in (("pre-commit", "../data.csv"), ("pre-push", "../../outside.txt"),
                         ("post-checkout", "/etc/hostname")):
        (hooks / name).write_text(f"#!/bin/sh\n{MARKER}\n{CHAINS}{target}\nexit 0\n")
        (hooks / name).chmod(0o755)
    repo.commit("a branch's hooks")
    repo.git("config", "core.hooksPath", ".githooks")
    before = snapshot(tmp_path)
    for args in (["hooks", "install"], ["hooks", "install", "--uninstall"]):
        done = repo.run(*args)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.githooks", "repo/.gitpipe"])
    assert (repo.path / "data.csv").read_text() == "1\n2\n"
    assert (tmp_path / "outside.txt").exists()
    assert not any(os.path.lexists(hooks / name) for name in ("pre-commit", "pre-push"))


def test_a_marker_past_a_separator_git_does_not_split_at_is_not_gitpipes(
        repo: Repo, tmp_path: Path) -> None:
    """A branch's hook whose comment holds the marker after `\\x1c` (one line to
    sh, git and a reviewer; two to `str.splitlines`) read as gitpipe's: install
    wrote over it instead of chaining it, and the branch's hook no longer ran."""
    built(repo)
    hooks = repo.path / ".githooks"
    hooks.mkdir()
    theirs = f'#!/bin/sh\necho "the branch\'s check" # notes\x1c{MARKER}\nexit 0\n'.encode()
    (hooks / "pre-commit").write_bytes(theirs)
    (hooks / "pre-commit").chmod(0o755)
    repo.commit("a branch's hook")
    repo.git("config", "core.hooksPath", ".githooks")
    before = snapshot(tmp_path)
    done = repo.run("hooks", "install")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert (hooks / "pre-commit.pre-gitpipe").read_bytes() == theirs
    assert MARKER in (hooks / "pre-commit").read_text()
    done = repo.run("hooks", "install", "--uninstall")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert (hooks / "pre-commit").read_bytes() == theirs
    assert_only_changed(before, snapshot(tmp_path), ["repo/.githooks", "repo/.gitpipe"])
