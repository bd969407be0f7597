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


@pytest.mark.parametrize("rules", ["", "*.txt text eol=crlf\n", "* text=auto eol=crlf\n",
                                   "*.up filter=upper\n"])
@pytest.mark.parametrize("work_tree_rules", [True, False])
def test_a_streamed_digest_is_the_checkouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            rules: str, work_tree_rules: bool) -> None:
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "config", "filter.upper.smudge", "tr a-z A-Z")
    _git(tmp_path, "config", "filter.upper.clean", "cat")
    for name, data in FILES.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(data)
    (tmp_path / ".gitattributes").write_text(rules)
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "files")
    if not work_tree_rules:  # the commit's rules are not the work tree's: git smudges
        (tmp_path / ".gitattributes").write_text("")
    fresh = tmp_path / "fresh"  # git's own checkout of the commit: what both must name
    _git(tmp_path, "-c", "filter.upper.smudge=tr a-z A-Z", "clone", "-q", ".", str(fresh))
    expected = {name: (xxhash.xxh3_128_hexdigest(data := (fresh / name).read_bytes()),
                       len(data)) for name in FILES}
    revision = Revision.resolve(GitRepo.discover(tmp_path), "HEAD")
    assert {name: revision.checkout_digest(name) for name in FILES} == expected
    monkeypatch.setattr(revision_module, "IN_MEMORY", -1)
    revision = Revision.resolve(GitRepo.discover(tmp_path), "HEAD")
    assert {name: revision.checkout_digest(name) for name in FILES} == expected
