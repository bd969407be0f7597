"""Before narrowing an older gitpipe's loose `.gitignore` line for a
partitioned out (`/*/*.env` for `*/${date}.env`), `repro` and `init` look for
files the line hides now. A clone commits both the line and the out, and may
commit links too: followed, `l0 -> .` to `l3 -> .` had each `*` of the line
list the whole tree again through each link, work that grows as the links'
number raised to the line's `*`s (hours for a line of a dozen)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.security.conftest import assert_only_changed, snapshot

DEPTH = 16


def test_links_a_clone_commits_are_not_walked_through(make_repo, tmp_path: Path) -> None:
    out = "*/" * DEPTH + "${date}.env"
    daily = {"make": {"partition": {"by": "date", "start": "2024-01-01", "end": "2024-01-01"},
                      "cmd": "echo", "outs": [out]}}
    origin = make_repo("origin")
    origin.gen({".gitignore": "/" + "*/" * DEPTH + "*.env\n"})
    origin.spec(daily)
    for number in range(4):
        os.symlink(".", origin.path / f"l{number}")
    origin.commit("pipeline, and links to its own folder")
    victim = origin.clone_to(tmp_path / "victim")
    assert os.path.islink(victim.path / "l0")
    before = snapshot(tmp_path)
    done = victim.run("init", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "initialized gitpipe" in done.stdout
    assert_only_changed(before, snapshot(tmp_path), ["victim/.gitpipe", "victim/.gitignore"])
