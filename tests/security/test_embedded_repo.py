"""A clone that commits a git repository's own folder (`sub/HEAD`,
`sub/config`, `sub/objects/…`: a bare repository whose config names
`core.worktree = .`). git's discovery takes `sub/` for the repository there,
config and all, and gitpipe ran git in it: `gitpipe status --rev HEAD~1` in
`sub/` ran the smudge filter the clone's config names on a command that
only reads. gitpipe now takes a repository only through its work tree's
`.git` (or GIT_DIR), and its git calls say `safe.bareRepository=explicit`."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.conftest import GIT_ENV, Repo
from tests.security.conftest import assert_only_changed, snapshot


def _inner_git(sub: Path, *args: str) -> None:
    subprocess.run(["git", "--git-dir", str(sub), "--work-tree", str(sub),
                    "-c", "user.email=e@x", "-c", "user.name=e", *args],
                   check=True, capture_output=True, env={"PATH": "/usr/bin:/bin", **GIT_ENV})


def _repository_folder(sub: Path) -> Path:
    """`sub/` made a git repository's own folder whose work tree is itself
    (`core.worktree = .`), as a clone can commit it."""
    subprocess.run(["git", "init", "-q", "--bare", str(sub)], check=True)
    _inner_git(sub, "config", "core.bare", "false")
    _inner_git(sub, "config", "core.worktree", ".")
    return sub


def test_a_committed_repository_folder_is_never_taken_for_the_repository(
        make_repo: Callable[[str], Repo], tmp_path: Path) -> None:
    mark = tmp_path / "ran-the-clones-filter"
    evil = make_repo("evil")
    sub = _repository_folder(evil.path / "sub")
    evil.gen({"sub/gitpipe.yaml": {"stages": {"s": {"cmd": "cat p.txt > o.txt",
                                                    "deps": ["p.txt"], "outs": ["o.txt"]}}},
              "sub/.gitattributes": "p.txt filter=evil\n", "sub/p.txt": "v1\n"})
    _inner_git(sub, "add", "gitpipe.yaml", ".gitattributes", "p.txt")
    _inner_git(sub, "commit", "-q", "-m", "one")
    evil.gen({"sub/p.txt": "v2\n"})
    _inner_git(sub, "commit", "-q", "-am", "two")
    _inner_git(sub, "config", "filter.evil.smudge", f"sh -c 'touch {mark}; cat'")
    evil.commit("a repository's own folder, committed")
    ci = evil.clone_to(tmp_path / "ci")
    assert (ci.path / "sub/config").is_file() and not (ci.path / "sub/.git").exists()
    before = snapshot(tmp_path)
    for args in (["status", "--rev", "HEAD~1"], ["params", "diff", "HEAD~1"]):
        done = ci.run(*args, cwd=ci.path / "sub")
        assert not mark.exists(), (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
    done = ci.run("status", "--rev", "HEAD~1", cwd=ci.path / "sub")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "found as a git repository's own folder" in done.stderr, done.stderr
    # A git hook's environment names the outer repository in GIT_DIR, and the
    # hook runs gitpipe in `sub/`: GIT_DIR is not the folder found there.
    done = ci.run("status", "--rev", "HEAD~1", cwd=ci.path / "sub",
                  env={"GIT_DIR": str(ci.path / ".git")})
    assert not mark.exists(), (done.stdout, done.stderr)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "found as a git repository's own folder" in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["ci/sub/.gitpipe"])


def test_the_tracked_state_check_runs_no_command_of_a_committed_repository(
        make_repo: Callable[[str], Repo], tmp_path: Path) -> None:
    """The check that no private state of `.gitpipe/` is tracked asks git
    before the repository is discovered; in `sub/` (a repository's own folder
    a clone committed, with a `core.fsmonitor` command in its config, and a
    `sub/.gitpipe/state.db` committed so that git's index names one) that
    git took `sub/` for the repository and ran the clone's command."""
    mark = tmp_path / "ran-the-clones-fsmonitor"
    evil = make_repo("evil")
    sub = _repository_folder(evil.path / "sub")
    evil.gen({"sub/gitpipe.yaml": {"stages": {"s": {"cmd": "echo > o.txt",
                                                    "outs": ["o.txt"]}}}})
    _inner_git(sub, "add", "gitpipe.yaml")
    _inner_git(sub, "commit", "-q", "-m", "one")
    _inner_git(sub, "config", "core.fsmonitor", f"touch {mark}; true")
    evil.gen({"sub/.gitpipe/state.db": "planted"})
    evil.commit("a repository's own folder and a state file, committed")
    ci = evil.clone_to(tmp_path / "ci")
    before = snapshot(tmp_path)
    done = ci.run("status", cwd=ci.path / "sub")
    assert not mark.exists(), (done.stdout, done.stderr)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("error: ") and "unexpected" not in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["ci/sub/.gitpipe"])
