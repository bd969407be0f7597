"""A lock that no reader takes (larger than the parser reads) is never
written, so never read as up to date where a repro remembered it: the
entries the writer seeds (the parse cache, the signed pickle) answer only
what a reader from scratch answers. A pull request's params can make such a
lock: a list param of a couple of million numbers is written one line each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from gitpipe.core.yamlio import MAX_BYTES
from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

STATE = [f"repo/.gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]


def test_a_lock_too_large_to_read_is_never_written(repo: Repo, tmp_path: Path) -> None:
    """The entry that would make the lock larger than a reader takes fails its
    stage, naming it; the lock is left as it was (repro wrote it, and every
    command after said 'larger than 16 MiB'), and reads alike with or without
    what was remembered."""
    count = MAX_BYTES // 9  # `      - 0` and its newline per number: more than MAX_BYTES
    repo.gen({"params.json": json.dumps({"big": [0] * count})})
    repo.spec({"small": {"cmd": "echo hi > small.txt", "outs": ["small.txt"]},
               "s": {"cmd": "echo hi > out", "params": [{"params.json": ["big"]}],
                     "outs": ["out"]}})
    repo.run("init", check=True)
    repo.commit("a large param")
    done = repo.run("repro", "-k")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "error: stage 's': its gitpipe.lock entry (" in done.stderr, done.stderr
    assert "would make the lock larger than 16 MiB" in done.stderr, done.stderr
    assert len(repo.read("gitpipe.lock")) < MAX_BYTES
    assert "small:" in repo.read("gitpipe.lock") and (repo.path / "out").exists()
    before = snapshot(tmp_path)
    remembered = repo.run("status")
    unsealed = repo.run("status", env={"GITPIPE_NO_SEAL": "1"})
    assert_only_changed(before, snapshot(tmp_path), STATE)
    shutil.rmtree(repo.parse_cache().parent)
    scratch = repo.run("status")
    assert scratch.returncode == 0 and scratch.stdout.startswith("s:\n"), scratch.stdout
    for said in (remembered, unsealed):
        assert (said.returncode, said.stdout, said.stderr) == \
            (scratch.returncode, scratch.stdout, scratch.stderr)
