"""Attacks through a past commit's files: text that is not UTF-8 in a
revision that `diff`, `status --rev` and `params diff` read from git, never
from the work tree. Each is refused naming the file, the revision and the
line, as the work tree's reader refuses it, where its bad bytes were replaced
(two different files could read alike)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

REV_READERS = (("status", "--rev", "HEAD~1"), ("params", "diff", "HEAD~1"))


def _committed_pipeline(repo: Repo, name: str) -> bytes:
    """A one-stage pipeline run and committed; the bytes of its file `name`."""
    repo.gen({"params.yaml": "lr: 1\n", "in.txt": "x\n"})
    repo.spec({"make": {"cmd": "cat in.txt > o.txt", "deps": ["in.txt"], "params": ["lr"],
                        "outs": ["o.txt"]}})
    assert repo.run("repro", timeout=60).returncode == 0
    repo.commit("pipeline")
    return (repo.path / name).read_bytes()


# `diff` compares locks: it reads a revision's spec and lock, not its params.
@pytest.mark.parametrize(("name", "commands"), [
    ("params.yaml", REV_READERS),
    ("gitpipe.yaml", (("diff", "HEAD~1"), *REV_READERS)),
    ("gitpipe.lock", (("diff", "HEAD~1"), REV_READERS[0])),
])
def test_a_revision_file_that_is_not_utf8_is_refused_naming_file_and_revision(
        repo: Repo, tmp_path: Path, name: str, commands: tuple[tuple[str, ...], ...]) -> None:
    good = _committed_pipeline(repo, name)
    crafted = good.rstrip(b"\n") + b"\n# caf\xe9\n"
    line = crafted.count(b"\n")
    repo.gen({name: crafted}, commit="crafted")
    repo.gen({name: good}, commit="mended")  # the work tree is good: only the past is not
    before = snapshot(tmp_path)
    for command in commands:
        done = repo.run(*command, timeout=60)
        assert done.returncode == 2, (command, done.stdout + done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        assert f"{name}@HEAD~1:{line}: not UTF-8 text (byte 0xe9" in done.stderr, \
            (command, done.stderr)
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


@pytest.mark.parametrize(("name", "commands"), [
    ("params.yaml", (*REV_READERS, ("params", "diff", "HEAD~1", "HEAD~1"))),
    ("gitpipe.yaml", (("diff", "HEAD~1"), *REV_READERS)),
    ("gitpipe.lock", (("diff", "HEAD~1"), REV_READERS[0])),
])
def test_a_revision_file_that_is_a_symlink_is_refused_naming_file_and_revision(
        repo: Repo, tmp_path: Path, name: str, commands: tuple[tuple[str, ...], ...]) -> None:
    # At a commit a symlink's blob is where it leads, not the file: read as
    # the file it said `must be a mapping`, or parsed the link's target as the
    # spec. Its target is git's text: an escape sequence in it never reaches
    # the terminal.
    good = _committed_pipeline(repo, name)
    (repo.path / f"real-{name}").write_bytes(good)
    (repo.path / name).unlink()
    (repo.path / name).symlink_to(f"real-{name}\x1b[2J")
    repo.commit("linked")
    (repo.path / name).unlink()
    (repo.path / name).write_bytes(good)
    repo.commit("mended")  # the work tree is good: only the past is not
    before = snapshot(tmp_path)
    for command in commands:
        done = repo.run(*command, timeout=60)
        assert done.returncode == 2, (command, done.stdout + done.stderr)
        assert "Traceback" not in done.stderr and "\x1b" not in done.stderr, done.stderr
        assert f"error: {name}@HEAD~1: a symlink (to 'real-{name}\\x1b[2J'), not a file" \
            in done.stderr, (command, done.stderr)
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])
