"""A branch's Python files never run as gitpipe's own modules.

git runs hooks from the top of the work tree, and `python -m gitpipe` (what
an installed hook ran, and what the docs offer when `gitpipe` is not on the
PATH) puts the current folder first on Python's import path: a branch
holding `click.py`, `yaml.py` or a `gitpipe/` folder had its code run by
`git checkout` or `git commit` alone, with nothing declared and no `repro`.
Each test builds the branch for real and compares the whole temp tree."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import GIT_ENV, Repo
from tests.security.conftest import assert_only_changed, snapshot
from tests.security.test_places import built, gitpipe

# Modules gitpipe imports on every command, and gitpipe itself: each, imported
# from the work tree, leaves a mark outside the repository.
THIRD_PARTY = ("click", "yaml", "xxhash", "pygit2")


def planted(tmp_path: Path, names: tuple[str, ...], package: bool) -> dict[str, str]:
    """The stranger's files: a module per name (and a `gitpipe` package) that
    marks `tmp_path/pwned-NAME` when imported."""
    def mark(name: str) -> str:
        return f"open({str(tmp_path / f'pwned-{name}')!r}, 'w').write('ran')\n"

    files = {f"{name}.py": mark(name) for name in names}
    if package:
        files["gitpipe/__init__.py"] = mark("gitpipe")
        files["gitpipe/__main__.py"] = mark("gitpipe-main")
    return files


def marks(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.glob("pwned-*"))


def git(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    """git as the user types it: hooks run (HOME is the repository, as Repo.git has it)."""
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.path), "NO_COLOR": "1"}
    return subprocess.run(["git", *args], cwd=repo.path, env=env, capture_output=True,
                          text=True)


def test_hooks_never_import_the_branchs_modules(repo: Repo, tmp_path: Path) -> None:
    built(repo)
    assert gitpipe(repo.path, "hooks", "install").returncode == 0
    assert git(repo, "checkout", "-q", "-b", "pr").returncode == 0
    repo.gen(planted(tmp_path, THIRD_PARTY, package=True))
    assert git(repo, "add", "-A").returncode == 0
    assert git(repo, "commit", "-q", "--no-verify", "-m", "a stranger's branch").returncode == 0
    assert git(repo, "checkout", "-q", "main").returncode == 0
    assert marks(tmp_path) == []
    before = snapshot(tmp_path)
    switched = git(repo, "checkout", "-q", "pr")   # post-checkout
    repo.spec({"make": {"cmd": "echo made again > made.txt", "outs": ["made.txt"]}})
    assert git(repo, "add", "-A").returncode == 0
    committed = git(repo, "commit", "-q", "-m", "more")   # pre-commit
    assert marks(tmp_path) == []
    for done in (switched, committed):
        assert "Traceback" not in done.stderr, done.stderr
    assert switched.returncode == 0, switched.stderr
    # The spec changed without a repro: the pre-commit hook refuses, as gitpipe.
    assert committed.returncode != 0 and "gitpipe.lock does not match" in committed.stderr
    paths = [*planted(tmp_path, THIRD_PARTY, package=True), "gitpipe.yaml"]
    assert_only_changed(before, snapshot(tmp_path), [*(f"repo/{p}" for p in paths),
                                                     "repo/gitpipe", "repo/.gitpipe"])


def test_python_m_gitpipe_never_imports_the_work_trees_modules(
        repo: Repo, tmp_path: Path) -> None:
    """`python -m gitpipe` (the docs' fallback) in a clone: its own package is
    the one found, but nothing else it imports comes from the work tree."""
    built(repo)
    repo.gen(planted(tmp_path, THIRD_PARTY, package=False), commit="a stranger's modules")
    before = snapshot(tmp_path)
    done = gitpipe(repo.path, "status")
    assert marks(tmp_path) == []
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


def test_a_hook_of_an_older_gitpipe_says_to_install_it_again(repo: Repo) -> None:
    """A hook an older gitpipe installed still starts it with `python -m`: it
    works, and says to install the hooks again; a hook installed now does not."""
    from gitpipe.cli.gitcmds import OLD_HOOK_WARNING
    from gitpipe.usecases.hooks import HOOK_ENTRY

    built(repo)
    assert gitpipe(repo.path, "hooks", "install").returncode == 0
    hook = repo.path / ".git/hooks/post-checkout"
    assert git(repo, "checkout", "-q", "-b", "now").stderr.count(OLD_HOOK_WARNING) == 0
    old_line = hook.read_text().replace(f"-c '{HOOK_ENTRY}'", "-m gitpipe")
    assert "-m gitpipe hooks run post-checkout" in old_line, old_line
    hook.write_text(old_line)
    switched = git(repo, "checkout", "-q", "main")
    assert switched.returncode == 0 and "Traceback" not in switched.stderr, switched.stderr
    assert OLD_HOOK_WARNING in switched.stderr.replace("\n", " ")
