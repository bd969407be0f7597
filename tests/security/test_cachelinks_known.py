"""Attack tests: a symlink planted one level below a cache folder the run has
already made and checked (`runs/` after one stage's entry, `files/xxh3/`
after one object) never leads a write out of the cache: the folder made
there in one step is refused as firmly as one made level by level
(test_cachelinks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import xxhash

from tests.conftest import Repo, ran_cmd
from tests.security.conftest import assert_only_changed, snapshot

FIRST, SECOND = b"first\n", b"second\n"


@pytest.mark.parametrize("part", ["runs/second", "files/xxh3/{ab}"])
def test_a_symlink_beside_a_folder_already_made_is_never_written_through(
        repo: Repo, tmp_path: Path, part: str) -> None:
    ab = xxhash.xxh3_128_hexdigest(SECOND)[:2]
    assert ab != xxhash.xxh3_128_hexdigest(FIRST)[:2]  # two objects, two folders
    repo.spec({
        "first": {"cmd": ran_cmd("first", "echo first > one.txt"), "outs": ["one.txt"]},
        "second": {"cmd": ran_cmd("second", "cat one.txt > /dev/null; echo second > two.txt"),
                   "deps": ["one.txt"], "outs": ["two.txt"]}})
    repo.run("init", check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = repo.path / ".gitpipe/cache" / part.format(ab=ab)
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(elsewhere)
    before = snapshot(tmp_path)
    done = repo.run("repro", "-j", "1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    said = f"{str(link)!r} is not a directory (to {str(elsewhere)!r}): gitpipe never writes " \
           "its cache through a symbolic link"
    assert "stage 'second': cannot store its outs in the cache" in done.stderr, done.stderr
    assert "stage 'first'" not in done.stderr, done.stderr  # its folders were made first
    assert said in done.stderr, done.stderr
    assert list(elsewhere.iterdir()) == []
    assert_only_changed(before, snapshot(tmp_path),
                        ("repo/one.txt", "repo/two.txt", "repo/runs.log", "repo/gitpipe.lock",
                         "repo/.gitpipe/cache", "repo/.gitpipe/logs", "repo/.gitpipe/state.db",
                         "repo/.gitpipe/tmp", "repo/.gitpipe/project.lock"))
    assert snapshot(tmp_path)[str(link.relative_to(tmp_path))][0] == "link"
