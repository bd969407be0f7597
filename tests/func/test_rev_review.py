"""`status --rev REV` agrees with `git checkout REV` then `status` where a review
found it did not: a file name that is not UTF-8 in a directory dep, a symlink
to a directory, a chain of symlinks, and files `.gitpipeignore` leaves out."""

from __future__ import annotations

import os

import pytest

from tests.conftest import Repo
from tests.func.test_staleness_holes import stale_after_checkout, stale_at


def built(repo: Repo, deps: list[str], files: dict[str, str | bytes]) -> Repo:
    """A stage listing its deps, run and committed with `files`."""
    repo.gen(files)
    repo.spec({"s": {"cmd": "ls -LR " + " ".join(deps) + " > out.txt", "deps": deps,
                     "outs": ["out.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("built")
    return repo


def assert_agrees(repo: Repo, expected: dict[str, dict[str, list[str]]]) -> None:
    for rev, stale in expected.items():
        assert stale_at(repo, rev) == stale, rev
        assert stale_after_checkout(repo, rev) == stale, rev


@pytest.mark.parametrize("attributes", ["", "*.txt text eol=crlf\n"])
def test_a_file_name_that_is_not_utf8_in_a_directory_dep(repo: Repo, attributes: str) -> None:
    # With eol conversion the name goes through the filters as well (git's
    # warning about it would name the file in bytes the harness cannot decode).
    repo.git("config", "core.safecrlf", "false")
    eol = b"\r\n" if attributes else b"\n"  # what a checkout writes
    odd = (repo.path / "data").joinpath(os.fsdecode(b"caf\xe9.txt"))
    odd.parent.mkdir()
    odd.write_bytes(b"z" + eol)
    built(repo, ["data"], {"data/a.txt": b"a" + eol, ".gitattributes": attributes})
    odd.write_bytes(b"y" + eol)
    repo.commit("renamed file changed")
    assert_agrees(repo, {"HEAD~1": {}, "HEAD": {"s": ["deps: data/ modified"]}})


def test_a_symlink_to_a_directory_is_read_from_the_commit(repo: Repo) -> None:
    repo.gen({"d1/x.txt": "one\n"})
    os.symlink("d1", repo.path / "cur")
    built(repo, ["cur"], {})
    repo.gen({"d1/x.txt": "two\n"}, commit="d1 changed")
    assert_agrees(repo, {"HEAD~1": {}, "HEAD": {"s": ["deps: cur/ modified"]}})


def test_a_chain_of_symlinks_is_followed_in_the_commit(repo: Repo) -> None:
    repo.gen({"c.txt": "one\n"})
    os.symlink("c.txt", repo.path / "b")
    os.symlink("b", repo.path / "lnk")
    built(repo, ["lnk"], {})
    repo.gen({"c.txt": "two\n"}, commit="c changed")
    assert_agrees(repo, {"HEAD~1": {}, "HEAD": {"s": ["deps: lnk modified"]}})


def test_files_gitpipeignore_leaves_out_are_not_counted(repo: Repo) -> None:
    built(repo, ["data"], {"data/a.txt": "a\n", "data/notes.tmp": "n\n",
                           "data/sub/.gitpipeignore": "/keep/\n", "data/sub/keep/k.txt": "k\n",
                           "data/__pycache__/m.pyc": "p", "data/x.pyc": "p",
                           ".gitpipeignore": "*.tmp\n"})
    assert_agrees(repo, {"HEAD": {}})
    repo.gen({"data/notes.tmp": "changed\n", "data/sub/keep/k.txt": "changed\n"},
             commit="ignored files changed")
    assert_agrees(repo, {"HEAD": {}})
    repo.gen({".gitpipeignore": "*.nothing\n"}, commit="rules changed")
    assert_agrees(repo, {"HEAD~1": {}, "HEAD": {"s": ["deps: data/ modified"]}})
