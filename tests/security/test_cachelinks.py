"""Attack tests: a symlink planted below `.gitpipe/cache/` (by an archive, a
tool, another local user) never leads a write out of the cache. `.gitpipe/cache`
itself is checked by trust/dotdir.py; every folder below it is checked where
objects and run entries are written (storage/objects.py, core/nofollow.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import xxhash

from tests.conftest import Repo, ran_cmd
from tests.security.conftest import assert_only_changed, snapshot

MADE = b"made\n"


@pytest.mark.parametrize("part", ["files", "files/xxh3", "files/xxh3/{ab}", "runs",
                                  "runs/make", "tmp"])
def test_a_symlink_planted_below_the_cache_is_never_written_through(
        repo: Repo, tmp_path: Path, part: str) -> None:
    repo.spec({"make": {"cmd": ran_cmd("make", "mkdir -p d && echo made > d/out.txt"),
                        "outs": ["d/"]}})
    repo.run("init", check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = repo.path / ".gitpipe/cache" / part.format(ab=xxhash.xxh3_128_hexdigest(MADE)[:2])
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(elsewhere)
    before = snapshot(tmp_path)
    done = repo.run("repro")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    said = f"{str(link)!r} is not a directory (to {str(elsewhere)!r}): gitpipe never writes " \
           "its cache through a symbolic link"
    assert "stage 'make': cannot store its outs in the cache" in done.stderr, done.stderr
    assert said in done.stderr, done.stderr
    assert list(elsewhere.iterdir()) == []
    assert_only_changed(before, snapshot(tmp_path),
                        ("repo/d", "repo/runs.log", "repo/.gitpipe/cache", "repo/.gitpipe/logs",
                         "repo/.gitpipe/state.db", "repo/.gitpipe/tmp",
                         "repo/.gitpipe/project.lock"))
    assert snapshot(tmp_path)[str(link.relative_to(tmp_path))][0] == "link"
