"""Before narrowing an older gitpipe's loose `.gitignore` line for a
partitioned out (`/*/*.env` for `*/${date}.env`), `repro` and `init` look for
files the line hides now. A clone commits both the line and the out, and may
commit links too: followed, `l0 -> .` to `l3 -> .` had each `*` of the line
list the whole tree again through each link, work that grows as the links'
number raised to the line's `*`s (hours for a line of a dozen). And a line
with `**`, which spans folders, was looked for one level at a time."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot
from tests.security.test_gitignore_rewrite import cloned_with_ignore, ignored

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


def test_a_line_that_spans_folders_is_not_narrowed(make_repo, tmp_path: Path) -> None:
    """`/**/*.env` hides a `.env` file at any depth; looked for one level at a
    time, the user's `deep/er/prod.env` was not found, and the line, narrowed
    to the out `**/${date}.env` of the clone's, took it out of .gitignore."""
    daily = {"make": {"partition": {"by": "date", "start": "2024-01-01", "end": "2024-01-01"},
                      "cmd": "echo", "outs": ["**/${date}.env"]}}
    victim = cloned_with_ignore(make_repo, tmp_path, b"/**/*.env\n", daily)
    (victim.path / "deep" / "er").mkdir(parents=True)
    (victim.path / "deep" / "er" / "prod.env").write_text("TOKEN=secret\n")
    init_keeps_ignored(victim, tmp_path, "deep/er/prod.env", "/**/*.env\n")


def test_a_line_with_a_trailing_space_is_not_narrowed(make_repo, tmp_path: Path) -> None:
    """git drops a line's trailing spaces: `/*.env ` hides the user's
    `prod.env`, which a look for names ending in `.env ` did not find; the
    line, narrowed to the out `${date}.env ` of the clone's, took it out of
    .gitignore."""
    daily = {"make": {"partition": {"by": "date", "start": "2024-01-01", "end": "2024-01-01"},
                      "cmd": "echo", "outs": ["${date}.env "]}}
    victim = cloned_with_ignore(make_repo, tmp_path, b"/*.env \n", daily)
    (victim.path / ".env").unlink()
    (victim.path / "prod.env").write_text("TOKEN=secret\n")
    init_keeps_ignored(victim, tmp_path, "prod.env", "/*.env \n")


def init_keeps_ignored(victim: Repo, tmp_path: Path, secret: str, line: str) -> None:
    """`init` leaves the user's `secret` ignored and the clone's `line` first in
    .gitignore, and writes nothing but its own files."""
    assert ignored(victim, secret)
    before = snapshot(tmp_path)
    done = victim.run("init")
    assert done.returncode == 0, done.stdout + done.stderr
    assert ignored(victim, secret), victim.read(".gitignore")
    assert victim.read(".gitignore").startswith(line)
    assert_only_changed(before, snapshot(tmp_path), ["victim/.gitpipe", "victim/.gitignore"])
