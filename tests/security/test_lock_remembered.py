"""A lock that no reader takes (larger than the parser reads) must not read
as up to date where a repro remembered it: the entries the writer seeds
(the parse cache, the signed pickle) answer only what a reader from scratch
answers. A pull request's params can make such a lock: a list param of
a couple of million numbers is written one line each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from gitpipe.core.yamlio import MAX_BYTES
from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

STATE = [f"repo/.gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]


def test_a_lock_too_large_to_read_is_refused_with_or_without_what_was_remembered(
        repo: Repo, tmp_path: Path) -> None:
    count = MAX_BYTES // 9  # `      - 0` and its newline per number: more than MAX_BYTES
    repo.gen({"params.json": json.dumps({"big": [0] * count})})
    repo.spec({"s": {"cmd": "echo hi > out", "params": [{"params.json": ["big"]}],
                     "outs": ["out"]}})
    repo.run("init", check=True)
    repo.commit("a large param")
    repo.run("repro", check=True)
    assert len(repo.read("gitpipe.lock")) > MAX_BYTES
    before = snapshot(tmp_path)
    remembered = repo.run("status")
    unsealed = repo.run("status", env={"GITPIPE_NO_SEAL": "1"})
    assert_only_changed(before, snapshot(tmp_path), STATE)
    shutil.rmtree(repo.parse_cache().parent)
    scratch = repo.run("status")
    assert scratch.returncode == 2 and "larger than 16 MiB" in scratch.stderr, scratch.stderr
    for done in (remembered, unsealed):
        assert "Traceback" not in done.stderr, done.stderr
        assert (done.returncode, done.stdout, done.stderr) == \
            (scratch.returncode, scratch.stdout, scratch.stderr)
