"""Attack on the key that signs this user's pickles (trust/signedcache.py):
where `XDG_CACHE_HOME` is a folder other users write too (a CI runner's
shared `/tmp`), another user who made `gitpipe/pickle-signing-key` there
first chose the key gitpipe signed and checked this user's pickles with.
The key is now used only where it is a regular file of this user's, never
through a link, that no one else may write; else nothing is remembered."""

from __future__ import annotations

import hashlib
import hmac
import os
import pwd
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

CHOSEN = b"k" * 32  # the other user's key
STAGE = {"make": {"cmd": "cat in.txt > out.txt", "deps": ["in.txt"], "outs": ["out.txt"]}}

pytestmark = pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another user")


def planted_key(shared: Path, how: str) -> None:
    """The other user's folder and key under the shared cache home."""
    nobody = pwd.getpwnam("nobody").pw_uid
    folder = shared / "gitpipe"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    os.chown(folder, nobody, nobody)
    key = folder / "pickle-signing-key"
    if how == "a link to the other user's file":
        chosen = shared / "chosen"
        chosen.write_bytes(CHOSEN)
        os.chown(chosen, nobody, nobody)
        key.symlink_to(chosen)
        os.lchown(key, nobody, nobody)
    else:
        key.write_bytes(CHOSEN)
        key.chmod(0o644)
        if how == "the other user's file":
            os.chown(key, nobody, nobody)
        else:  # this user's, but anyone may write it
            key.chmod(0o666)


def signed_with_chosen_key(shared: Path) -> list[str]:
    """The pickles under the cache home that the other user's key signs."""
    found = []
    for path in (shared / "gitpipe" / "repos").rglob("*.pickle"):
        blob = path.read_bytes()
        signature, payload = blob[:32], blob[32:]
        if hmac.compare_digest(signature, hmac.new(CHOSEN, payload, hashlib.sha256).digest()):
            found.append(path.name)
    return found


@pytest.mark.parametrize("how", ["the other user's file", "a link to the other user's file",
                                 "a file anyone may write"])
def test_a_signing_key_another_user_could_choose_is_never_used(
        repo: Repo, tmp_path: Path, how: str) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    planted_key(shared, how)
    env = {"XDG_CACHE_HOME": str(shared)}
    repo.spec(STAGE).gen({"in.txt": "in\n"}, commit="spec")
    assert repo.run("repro", env=env).returncode == 0
    before = snapshot(tmp_path, skip=(".git", "repos"))
    done = repo.run("status", env=env)
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout, done.stdout
    assert signed_with_chosen_key(shared) == []
    assert_only_changed(before, snapshot(tmp_path, skip=(".git", "repos")),
                        [f"repo/.gitpipe/state.db{s}" for s in ("", "-wal", "-shm")])
