"""The default remote where it cannot be used: `core.remote` naming no
configured remote (a teammate renamed the remote the user's
config.local.yaml names) is said by `validate`, `remote default` and a push
without -r, each naming the file; a pre-push hook with several remotes and
no default says the outs were not pushed."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import Repo


def _renamed_under_the_user(repo: Repo, tmp_path: Path) -> None:
    """The committed file's remote is renamed; config.local.yaml still names the old one."""
    repo.spec({"a": {"cmd": "echo x > out.txt", "outs": ["out.txt"]}})
    repo.run("init", check=True)
    repo.run("remote", "add", "store", str(tmp_path / "store"), check=True)
    repo.run("remote", "default", "--local", "store", check=True)
    repo.gen({".gitpipe/config.yaml": {"remotes": {"shared": {"url": str(tmp_path / "shared")}}}})
    repo.run("repro", check=True)


def test_a_default_naming_no_remote_is_said_with_its_file(repo: Repo, tmp_path: Path) -> None:
    _renamed_under_the_user(repo, tmp_path)
    validated = repo.run("validate")
    status = repo.run("status")
    shown = repo.run("remote", "default")
    pushed = repo.run("push")
    said = ".gitpipe/config.local.yaml: core.remote names 'store', which is no configured remote"
    assert validated.returncode == 0 and f"warning: {said}" in validated.stderr, validated.stderr
    assert status.returncode == 0 and said not in status.stderr, status.stderr
    for done in (shown, pushed):
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.splitlines()[-2:] == [
            f"error: {said}",
            "hint: known remotes: shared; 'gitpipe remote default --local NAME' names one "
            "(or -r NAME)"], done.stderr
    assert not (tmp_path / "store").exists() and not (tmp_path / "shared").exists()
    assert repo.run("push", "-r", "shared").returncode == 0
    assert (tmp_path / "shared").is_dir()


def test_pre_push_with_several_remotes_and_no_default_says_so(repo: Repo,
                                                            tmp_path: Path) -> None:
    done = _git_push_with_hooks(repo, tmp_path, remotes=("one", "two"))
    assert done.returncode == 0, done.stderr
    assert "gitpipe: outs not pushed: several remotes and no default" in done.stderr, \
        done.stderr
    assert not (tmp_path / "one").exists() and not (tmp_path / "two").exists()


def test_pre_push_without_remotes_stays_quiet(repo: Repo, tmp_path: Path) -> None:
    done = _git_push_with_hooks(repo, tmp_path, remotes=())
    assert done.returncode == 0 and "gitpipe" not in done.stderr, done.stderr


def _git_push_with_hooks(repo: Repo, tmp_path: Path,
                         remotes: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    """A built stage, gitpipe's hooks and these remotes (none the default), then a git push."""
    repo.spec({"a": {"cmd": "echo x > out.txt", "outs": ["out.txt"]}})
    repo.run("init", check=True)
    for name in remotes:
        repo.run("remote", "add", name, str(tmp_path / name), check=True)
    repo.run("repro", check=True)
    repo.commit("built")
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "origin.git")], check=True)
    repo.git("remote", "add", "origin", str(tmp_path / "origin.git"))
    repo.run("hooks", "install", check=True)
    return subprocess.run(["git", "push", "origin", "main"], cwd=repo.path, text=True,
                          capture_output=True)
