"""Attacks on what gitpipe believes a dep holds: bytes that differ from the
blob id git keeps for them (eol conversion, index flags), and rewrites that
hide behind restored timestamps. Each repository is built for real, gitpipe
runs as a user runs it, and the whole temp tree is compared before and after."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot


def published(repo: Repo) -> Repo:
    """A project whose stage reads a tracked data file, built and committed with
    its out (a metric, kept in git): what a victim clones."""
    repo.gen({"data.txt": "alpha\nbeta\n"})
    repo.spec({"S": {"cmd": "cat data.txt > report.txt", "deps": ["data.txt"],
                     "metrics": ["report.txt"]}})
    repo.run("init", check=True)
    repo.commit("sources")
    repo.run("repro", check=True)
    repo.commit("built")
    assert repo.project().lock_entries["S"].dep("data.txt").digest.startswith("git:")
    return repo


def check_status(repo: Repo) -> tuple[int, str]:
    done = repo.run("status", "--check")
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout


def test_an_eol_attribute_cannot_make_other_bytes_pass_for_the_locked_ones(
        make_repo, tmp_path: Path) -> None:
    # The attacker commits `data.txt text eol=crlf` after building: every clone
    # checks out CRLF bytes whose (filtered) blob id is still the locked one,
    # so the committed report.txt would pass for what those bytes produce.
    upstream = published(make_repo("upstream"))
    upstream.gen({".gitattributes": "data.txt text eol=crlf\n"}, commit="attributes")
    victim = upstream.clone_to(tmp_path / "victim")
    assert (victim.path / "data.txt").read_bytes() == b"alpha\r\nbeta\r\n"
    before = snapshot(tmp_path)
    code, out = check_status(victim)
    assert code == 1 and "deps: data.txt modified" in out and out.startswith("S"), out
    assert_only_changed(before, snapshot(tmp_path), ["victim/.gitpipe"])


def test_an_index_flag_in_a_shipped_repository_does_not_hide_an_edit(
        make_repo, tmp_path: Path) -> None:
    # A repository handed over as a folder (a tarball, a shared drive) with
    # data.txt edited and flagged skip-worktree in its index: `git status` is
    # clean, and the index's blob id is the locked one.
    shipped = published(make_repo("shipped"))
    (shipped.path / "data.txt").write_text("alpha\nforged\n")
    shipped.git("update-index", "--skip-worktree", "data.txt")
    shipped.age()
    victim = tmp_path / "victim"
    shutil.copytree(shipped.path, victim, symlinks=True, ignore=shutil.ignore_patterns(".gitpipe"))
    victim_repo = Repo(victim, init=False)
    victim_repo.run("init", check=True)
    victim_repo.age()
    assert victim_repo.git("status", "--porcelain") == ""
    before = snapshot(tmp_path)
    code, out = check_status(victim_repo)
    assert code == 1 and "deps: data.txt modified" in out, out
    assert_only_changed(before, snapshot(tmp_path), ["victim/.gitpipe"])


def test_a_rewrite_that_restores_the_mtime_is_seen_by_the_stat_cache_and_the_seal(
        repo: Repo, tmp_path: Path) -> None:
    # A tool rewrites a dep in place, same size, and puts its mtime back (as
    # `touch -d`, rsync --times or an extractor do): inode, size and mtime are
    # those the stat cache and the no-op seal recorded.
    published(repo).age()
    for _ in range(2):  # the full path seals; the second answers from the seal
        assert check_status(repo) == (0, "everything is up to date\n")
    path = repo.path / "data.txt"
    old = os.stat(path)
    path.write_text("alpha\nBETA\n")
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert (os.stat(path).st_ino, os.stat(path).st_size) == (old.st_ino, old.st_size)
    before = snapshot(tmp_path)
    for _ in range(2):
        code, out = check_status(repo)
        assert code == 1 and "deps: data.txt modified" in out, out
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])
