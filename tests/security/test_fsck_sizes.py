"""fsck --remote --repair and the sizes a committed lock gives: a lock is
whatever a pull request says, and an out's `size` is its word alone. fsck
judges an object by its bytes; a size a record gives bounds a download, never
which good object a repair deletes. Each test compares the whole temp tree
(and an S3 bucket) before and after."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.security.conftest import assert_only_changed, snapshot
from tests.security.test_gc import (
    Store,
    objects_of,
    project_with_remote,
    store,  # noqa: F401 (the fixture)
)


def shrunk_lock(text: str, path: str) -> str:
    """The lock with the out `path`'s size given as 1: a pull request's edit."""
    lock = yaml.safe_load(text)
    for entry in lock["stages"].values():
        for out in entry.get("outs", []):
            if out["path"] == path:
                out["size"] = 1
    return yaml.safe_dump(lock, sort_keys=False)


def test_a_committed_lock_s_size_never_makes_fsck_repair_delete_a_good_object(
        make_repo, tmp_path: Path, store: Store) -> None:  # noqa: F811 (the fixture)
    """A pull request edits one line of gitpipe.lock: main's model.bin out
    given size 1. CI's `fsck --remote store --repair` on the team's remote
    read the good object no further than that size, called it bad and
    deleted it: every clone's pull of main then failed."""
    origin = project_with_remote(make_repo, store.url)
    assert origin.run("fsck", "--remote", "store").returncode == 0
    pr = origin.clone_to(tmp_path / "pr")
    pr.gen({"gitpipe.lock": shrunk_lock(pr.read("gitpipe.lock"), "model.bin")})
    pr.commit("a pull request's lock")
    before, bucket = snapshot(tmp_path), store.contents()
    done = pr.run("fsck", "--remote", "store", "--repair")
    assert "Traceback" not in done.stderr, done.stderr
    assert "removed:" not in done.stdout and "bad" not in done.stdout.replace(" 0 bad", ""), \
        done.stdout + done.stderr
    assert store.contents() == bucket
    assert_only_changed(before, snapshot(tmp_path), ["pr/.gitpipe"])
    # main's outs are all still there: a fresh clone pulls them.
    fresh = origin.clone_to(tmp_path / "fresh")
    pulled = fresh.run("pull")
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert objects_of(fresh) == objects_of(origin)
