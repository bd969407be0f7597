"""A file of a commit larger than Revision's IN_MEMORY is hashed as git
streams its checkout, not from the bytes read whole: both ways must name the
same bytes, whatever conversion the checkout's attributes ask for (none, an
eol conversion the work tree's rules name, rules only the commit has, a
filter driver). Here every file takes the streamed way and is compared with
the bytes git's own checkout writes, as is the digest of the bytes read
whole."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import xxhash

from gitpipe.git import revision as revision_module
from gitpipe.git.repo import GitRepo
from gitpipe.git.revision import Revision
from tests.conftest import GIT_ENV

FILES = {"plain.bin": b"a\r\nb\nc\x00\xff", "notes.txt": b"one\ntwo\r\nthree\n",
         "sub/rows.csv": b"x,y\n1,2\n", "sub/upper.up": b"shout\n"}


def _git(where: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=where, check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV, "HOME": str(where)})


RULES = ["", "*.txt text eol=crlf\n", "* text=auto eol=crlf\n", "*.up filter=upper\n"]


def _committed(where: Path, rules: str, work_tree_rules: bool) -> Path:
    """FILES committed under `rules`; git's own checkout of the commit, in a
    fresh clone: what both ways must name."""
    _git(where, "init", "-q")
    _git(where, "config", "filter.upper.smudge", "tr a-z A-Z")
    _git(where, "config", "filter.upper.clean", "cat")
    for name, data in FILES.items():
        (where / name).parent.mkdir(exist_ok=True)
        (where / name).write_bytes(data)
    (where / ".gitattributes").write_text(rules)
    _git(where, "add", "-A")
    _git(where, "commit", "-qm", "files")
    if not work_tree_rules:  # the commit's rules are not the work tree's: git smudges
        (where / ".gitattributes").write_text("")
    fresh = where / "fresh"
    _git(where, "-c", "filter.upper.smudge=tr a-z A-Z", "clone", "-q", ".", str(fresh))
    return fresh


@pytest.mark.parametrize("rules", RULES)
@pytest.mark.parametrize("work_tree_rules", [True, False])
def test_a_streamed_digest_is_the_checkouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            rules: str, work_tree_rules: bool) -> None:
    fresh = _committed(tmp_path, rules, work_tree_rules)
    expected = {name: (xxhash.xxh3_128_hexdigest(data := (fresh / name).read_bytes()),
                       len(data)) for name in FILES}
    revision = Revision.resolve(GitRepo.discover(tmp_path), "HEAD")
    assert {name: revision.checkout_digest(name) for name in FILES} == expected
    monkeypatch.setattr(revision_module, "IN_MEMORY", -1)
    revision = Revision.resolve(GitRepo.discover(tmp_path), "HEAD")
    assert {name: revision.checkout_digest(name) for name in FILES} == expected


@pytest.mark.parametrize("rules", RULES)
@pytest.mark.parametrize("work_tree_rules", [True, False])
def test_a_streamed_blob_id_is_the_checkouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             rules: str, work_tree_rules: bool) -> None:
    """The git blob id of a checkout's bytes (a `git:` dep's digest), the
    bytes read whole and spooled as git streams them: both are what
    `git hash-object --no-filters` names for the file git's checkout wrote."""
    fresh = _committed(tmp_path, rules, work_tree_rules)
    names = list(FILES)
    listed = subprocess.run(["git", "hash-object", "--no-filters", *names], cwd=fresh,
                            check=True, capture_output=True, text=True).stdout.split()
    expected = dict(zip(names, listed, strict=True))
    revision = Revision.resolve(GitRepo.discover(tmp_path), "HEAD")
    assert {name: revision.checkout_blob_id(name) for name in FILES} == expected
    monkeypatch.setattr(revision_module, "IN_MEMORY", -1)
    monkeypatch.setattr(Revision, "checkout_bytes", _read_whole)
    revision = Revision.resolve(GitRepo.discover(tmp_path), "HEAD")
    assert {name: revision.checkout_blob_id(name) for name in FILES} == expected


def _read_whole(revision: Revision, path: str) -> bytes:
    """Past IN_MEMORY nothing is read whole: here, the streamed way is the one
    compared, or the test fails."""
    raise AssertionError(f"{path} read whole")
