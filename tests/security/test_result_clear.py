"""Before a Kubernetes attempt gitpipe clears the stage's old result and
heartbeat from the remote. A folder remote is written by others: a link
planted on the way (`results/<task> -> ~/notes`) led that clean-up to delete
the file of the same name in the folder the link named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitpipe.core.nofollow import SymlinkRefusedError
from gitpipe.executors.remotejob import clear_result, heartbeat_rel, result_rel
from gitpipe.storage.remote import Remote
from tests.security.conftest import assert_only_changed, snapshot

FINGERPRINT = "sha256:" + "ab" * 32


def test_a_planted_link_leads_the_clean_up_nowhere(tmp_path: Path) -> None:
    store, outside = tmp_path / "store", tmp_path / "notes"
    remote = Remote("shared", str(store))
    for rel in (result_rel("train", FINGERPRINT), heartbeat_rel("train", FINGERPRINT)):
        folder, name = rel.rsplit("/", 1)
        (outside / folder).mkdir(parents=True, exist_ok=True)
        (outside / folder / name).write_text("the user's own file\n")
        planted = store / folder.split("/")[0]
        planted.parent.mkdir(parents=True, exist_ok=True)
        if not os.path.lexists(planted):
            planted.symlink_to(outside / folder.split("/")[0])
    before = snapshot(tmp_path)
    with pytest.raises(SymlinkRefusedError):
        clear_result(remote, "train", FINGERPRINT)
    assert_only_changed(before, snapshot(tmp_path))


def test_old_records_are_cleared(tmp_path: Path) -> None:
    remote = Remote("shared", str(tmp_path / "store"))
    clear_result(remote, "train", FINGERPRINT)  # a remote not made yet: nothing to do
    rels = [result_rel("train", FINGERPRINT), heartbeat_rel("train", FINGERPRINT)]
    for rel in rels:
        (tmp_path / "store" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "store" / rel).write_text("{}")
    clear_result(remote, "train", FINGERPRINT)
    assert not any((tmp_path / "store" / rel).exists() for rel in rels)
    clear_result(remote, "train", FINGERPRINT)  # nothing there: nothing to do
