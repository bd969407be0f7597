"""The `git add` advice where the user's git differs: pathspec modes set in
the environment, no git command at all (gitpipe reads git's data through
libgit2)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import Repo
from tests.func.test_git_advice import ADVICE, _advised, _project


def _no_git(tmp_path: Path) -> Path:
    """A PATH folder with the stages' commands and no git."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("cat", "echo", "mkdir"):
        found = shutil.which(tool)
        assert found is not None
        (folder / tool).symlink_to(found)
    return folder


def test_a_literal_pathspecs_environment_still_gets_the_advice(repo: Repo) -> None:
    done = _project(repo).run("repro", check=True, env={"GIT_LITERAL_PATHSPECS": "1"})
    assert _advised(done) == "    git add gitpipe.lock metrics.json"


def test_without_the_git_command_a_run_says_nothing_of_git(repo: Repo, tmp_path: Path) -> None:
    _project(repo)
    empty = _no_git(tmp_path)
    done = repo.run("repro", check=True, env={"PATH": str(empty)})
    assert ADVICE not in done.stdout
    assert "warning" not in done.stderr and "git" not in done.stderr, done.stderr
    quiet = repo.run("-q", "repro", "-f", env={"PATH": str(empty)})
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr


def test_autostage_without_the_git_command_says_nothing_was_staged(repo: Repo,
                                                                   tmp_path: Path) -> None:
    _project(repo)
    repo.gen({".gitpipe/config.local.yaml": {"core": {"autostage": True}}})
    empty = _no_git(tmp_path)
    done = repo.run("repro", env={"PATH": str(empty)})
    assert done.returncode == 0, done.stderr
    assert "warning: core.autostage: nothing was staged: the git command is not installed" \
        in done.stderr
