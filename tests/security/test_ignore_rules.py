"""Attack through a clone's committed `.gitpipe/.gitignore`: a pull request
that drops its rules (or re-includes a part with `!`) left this machine's
state to the next `git add -A`: `remote modify --local` wrote the remote's
secret into config.local.yaml, `repro` its cache, logs and state database,
and a `git add -A` staged them all for the next commit and push. gitpipe
now refuses before it writes any part git would not ignore; `init` writes
its rules again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.func.test_seal import built, launch, sealed
from tests.security.conftest import assert_only_changed, snapshot

SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"
# Each a clone's .gitpipe/.gitignore, committed over gitpipe's own.
HOSTILE_RULES = {
    "emptied": "# per-machine state lives in the user cache now\n",
    "re-included": "/config.local.yaml\n/cache/\n/state.db*\n/logs/\n/project.lock\n/tmp/\n"
                   "!/config.local.yaml\n",
    "files-only": "/config.local.yaml.bak\n/cache/*\n/state.db*\n/logs/\n/project.lock\n"
                  "/tmp/\n",
    # git takes `/logs/*` for a rule on the folder while it is not made yet
    "logs-re-included": "/config.local.yaml\n/cache/\n/state.db*\n/logs/*\n!/logs/*.log\n"
                        "/project.lock\n/tmp/\n",
    # git drops one CR before a newline: each line is then its rule and a CR,
    # which names no part (gitpipe read them as its own rules, and believed them)
    "two-CRs": "/config.local.yaml\r\r\n/cache/\r\r\n/state.db*\r\r\n/logs/\r\r\n"
               "/project.lock\r\r\n/tmp/\r\r\n",
}


def _clone_with_rules(make_repo: Any, tmp_path: Path, rules: str) -> Any:
    origin = make_repo("origin")
    origin.spec({"a": {"cmd": "echo x > out.txt", "outs": ["out.txt"]}})
    origin.run("init", check=True)
    origin.commit("spec")
    origin.gen({".gitpipe/.gitignore": rules}, commit="tidy the ignore rules")
    return origin.clone_to(tmp_path / "clone")


def _staged(clone: Any) -> list[str]:
    clone.git("add", "-A")
    return clone.git("diff", "--cached", "--name-only").split()


@pytest.mark.parametrize("kind", sorted(HOSTILE_RULES))
def test_no_state_is_written_where_git_would_commit_it(make_repo: Any, tmp_path: Path,
                                                        kind: str) -> None:
    clone = _clone_with_rules(make_repo, tmp_path, HOSTILE_RULES[kind])
    before = snapshot(tmp_path)
    added = clone.run("remote", "add", "--local", "store", "s3://bucket/p")
    secret = clone.run("remote", "modify", "--local", "store", "secret_access_key", SECRET)
    ran = clone.run("repro")
    said = "".join(done.stdout + done.stderr for done in (added, secret, ran))
    for done in (added, secret, ran):
        assert done.returncode == 2, said
        assert "git does not ignore" in done.stderr and "gitpipe init" in done.stderr, said
    assert "Traceback" not in said, said
    assert_only_changed(before, snapshot(tmp_path))
    assert not [path for path in _staged(clone) if path.startswith(".gitpipe/")], said


def test_init_writes_the_rules_again_and_the_secret_stays_out_of_git(
        make_repo: Any, tmp_path: Path) -> None:
    clone = _clone_with_rules(make_repo, tmp_path, HOSTILE_RULES["emptied"])
    clone.run("init", check=True)
    clone.run("remote", "add", "--local", "store", "s3://bucket/p", check=True)
    clone.run("remote", "modify", "--local", "store", "secret_access_key", SECRET, check=True)
    clone.run("repro", check=True)
    staged = _staged(clone)
    assert ".gitpipe/.gitignore" in staged, staged
    assert not [path for path in staged if path != ".gitpipe/.gitignore"
                and path.startswith(".gitpipe/")], staged


@pytest.mark.parametrize("rules", list(HOSTILE_RULES))
def test_init_keeps_the_teams_own_lines_and_its_rules_win(make_repo: Any, tmp_path: Path,
                                                          rules: str) -> None:
    """The refusal's remedy is `gitpipe init`: it keeps the lines that are
    not gitpipe's (a team's own) and puts gitpipe's rules after them, so that
    no earlier `!` line re-includes a part; it dropped every line before."""
    clone = _clone_with_rules(make_repo, tmp_path, "/notes.txt\n" + HOSTILE_RULES[rules])
    assert clone.run("status").returncode == 2
    clone.run("init", check=True)
    written = (clone.path / ".gitpipe" / ".gitignore").read_text()
    assert written.startswith("/notes.txt\n"), written
    clone.run("remote", "add", "--local", "store", "s3://bucket/p", check=True)
    clone.run("repro", check=True)
    assert not [path for path in _staged(clone) if path != ".gitpipe/.gitignore"
                and path.startswith(".gitpipe/")]


def test_a_missing_ignore_file_is_written_before_the_secret(make_repo: Any,
                                                             tmp_path: Path) -> None:
    """A clone whose commit removed `.gitpipe/.gitignore`: `remote modify
    --local` wrote config.local.yaml with no rule for it (only the cache's
    first write put the rules back)."""
    origin = make_repo("origin")
    origin.spec({"a": {"cmd": "echo x > out.txt", "outs": ["out.txt"]}})
    origin.run("init", check=True)
    origin.commit("spec")
    origin.git("rm", "-q", ".gitpipe/.gitignore")
    origin.git("commit", "-qm", "no ignore rules")
    clone = origin.clone_to(tmp_path / "clone")
    clone.run("remote", "add", "--local", "store", "s3://bucket/p", check=True)
    clone.run("remote", "modify", "--local", "store", "secret_access_key", SECRET, check=True)
    assert SECRET in clone.read(".gitpipe/config.local.yaml")
    staged = _staged(clone)
    assert ".gitpipe/config.local.yaml" not in staged, staged


def test_a_project_with_gitpipes_rules_and_its_own_lines_runs(make_repo: Any) -> None:
    """Lines of the user's own beside gitpipe's (no `!`): believed as read."""
    repo = make_repo("own")
    repo.spec({"a": {"cmd": "echo x > out.txt", "outs": ["out.txt"]}})
    repo.run("init", check=True)
    repo.commit("spec")
    rules = repo.read(".gitpipe/.gitignore")
    repo.gen({".gitpipe/.gitignore": rules + "/scratch/\n"}, commit="mine")
    done = repo.run("repro")
    assert done.returncode == 0, done.stderr
    assert not [path for path in _staged(repo) if path.startswith(".gitpipe/")]


def _clone_holding_a_secret(make_repo: Any, tmp_path: Path) -> tuple[Any, Any]:
    """(origin, a clone whose config.local.yaml holds a remote's secret and
    whose cache, logs and state a repro made)."""
    origin = make_repo("origin")
    origin.spec({"a": {"cmd": "echo x > out.txt", "outs": ["out.txt"]}})
    origin.run("init", check=True)
    origin.commit("spec")
    clone = origin.clone_to(tmp_path / "clone")
    clone.run("remote", "add", "--local", "store", "s3://bucket/p", check=True)
    clone.run("remote", "modify", "--local", "store", "secret_access_key", SECRET, check=True)
    clone.run("repro", check=True)
    return origin, clone


def test_a_pulled_commit_that_deletes_the_rules_leaves_no_secret_to_git_add(
        make_repo: Any, tmp_path: Path) -> None:
    """The user's config.local.yaml already holds a secret; a pulled commit
    deletes `.gitpipe/.gitignore`. The next command (a status, which writes
    no new part) puts gitpipe's rules back
    before anything else, so that `git add -A` leaves the secret, the cache
    and the state out."""
    origin, clone = _clone_holding_a_secret(make_repo, tmp_path)
    origin.git("rm", "-q", ".gitpipe/.gitignore")
    origin.git("commit", "-qm", "no ignore rules")
    clone.git("pull", "-q", "--no-rebase", "origin", "HEAD")
    assert not (clone.path / ".gitpipe" / ".gitignore").exists()
    done = clone.run("status")
    assert done.returncode == 0, done.stderr
    staged = _staged(clone)
    assert [path for path in staged if path.startswith(".gitpipe/")] == [], staged
    # the restored rules ignore themselves: a commit that brings the file
    # back (the teammate's revert) comes in over them
    origin.git("revert", "--no-edit", "HEAD")
    pulled = clone.git("pull", "-q", "--no-rebase", "origin", "HEAD")
    assert (clone.path / ".gitpipe" / ".gitignore").read_text() == (
        origin.path / ".gitpipe" / ".gitignore").read_text(), pulled


def test_rules_above_that_ignore_the_state_leave_nothing_written(make_repo: Any,
                                                                 tmp_path: Path) -> None:
    """A team that keeps `.gitpipe/`'s rules in the top `.gitignore` deletes
    gitpipe's own file: git ignores every part still, so nothing is written
    back and the command runs."""
    origin, clone = _clone_holding_a_secret(make_repo, tmp_path)
    origin.gen({".gitignore": "/.gitpipe/*\n!/.gitpipe/config.yaml\n"})
    origin.git("add", ".gitignore")
    origin.git("rm", "-q", ".gitpipe/.gitignore")
    origin.git("commit", "-qm", "the rules move up")
    clone.git("pull", "-q", "--no-rebase", "origin", "HEAD")
    before = snapshot(tmp_path)
    done = clone.run("status")
    assert done.returncode == 0, done.stderr
    assert_only_changed(before, snapshot(tmp_path), allowed=["clone/.gitpipe/state.db"])
    assert [path for path in _staged(clone) if path.startswith(".gitpipe/")] == []


def test_a_sealed_status_puts_deleted_rules_back(repo: Any) -> None:
    """A seal answers a no-op status without judging the pipeline; a commit
    that deleted the rules is no input of that answer, yet the secret and the
    cache must not be left to `git add -A`: the seal's door sends the command
    the whole way, which writes them again."""
    sealed(built(repo))
    repo.run("remote", "add", "--local", "store", "s3://bucket/p", check=True)
    repo.run("remote", "modify", "--local", "store", "secret_access_key", SECRET, check=True)
    sealed(repo.age())
    repo.git("rm", "-q", ".gitpipe/.gitignore")
    repo.git("commit", "-qm", "no ignore rules")
    done, _ = launch(repo, "status")
    assert (done.returncode, done.stdout) == (0, "everything is up to date\n"), done.stderr
    assert [path for path in _staged(repo) if path.startswith(".gitpipe/")] == []
    assert (repo.path / ".gitpipe" / ".gitignore").exists()


@pytest.mark.parametrize("rules", list(HOSTILE_RULES))
def test_a_sealed_status_refuses_rules_a_commit_emptied(repo: Any, rules: str) -> None:
    """The seal does not cover `.gitpipe/.gitignore`: a commit that empties or
    re-includes them must stop a sealed status as it stops an unsealed one."""
    sealed(built(repo))
    repo.gen({".gitpipe/.gitignore": HOSTILE_RULES[rules]})
    repo.git("commit", "-qm", "tidy the rules", "--", ".gitpipe/.gitignore")
    done, _ = launch(repo, "status")
    assert done.returncode == 2 and "git does not ignore .gitpipe/" in done.stderr, (
        done.stdout + done.stderr)
