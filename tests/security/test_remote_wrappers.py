"""A folder remote reached through fsspec's wrappers. A committed remote
`url: dir://store` with the options `path: .`, `target_protocol: file` (and
`target_options: {auto_mkdir: true}`) is the folder `store/` of the work
tree: the URL names no folder, so the check that refuses a committed folder
remote inside the repository never ran, and `push` wrote the user's outs
there, for the next `git add -A`. And the same folder behind a cache
(`simplecache::/shared/store`) was written as any storage, through the
links a writer of the shared folder planted there. A folder behind the
wrappers is now opened as the plain folder it is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot
from tests.security.test_remote_links import made

STATE = [f".gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]


@pytest.mark.parametrize("remote", [
    {"url": "dir://store", "path": ".", "target_protocol": "file",
     "target_options": {"auto_mkdir": True}},
    {"url": "dir::file:///elsewhere", "dir": {"path": "{root}"}, "file": {"auto_mkdir": True}},
], ids=["dir-path", "dir-chain"])
def test_a_committed_wrapped_folder_inside_the_work_tree_is_refused(
        make_repo: Any, tmp_path: Path, remote: dict[str, Any]) -> None:
    evil = make_repo("evil")
    evil.spec({"make": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}})
    evil.run("init", check=True)
    evil.commit("spec")
    ci: Repo = evil.clone_to(tmp_path / "ci")
    body = {key: ({"path": str(ci.path)} if key == "dir" else value)
            for key, value in remote.items()}
    ci.run("repro", check=True)
    ci.gen({".gitpipe/config.yaml": {"remotes": {"store": body}}})
    before = snapshot(tmp_path)
    done = ci.run("push")
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert "Traceback" not in said, said
    # Refused by its protocol before the folder behind it is opened (the
    # folder check behind: test_remote_checks' dir cases through config.local.yaml).
    assert ".gitpipe/config.yaml: remotes.store.url " in done.stderr, said
    assert "'dir'" in done.stderr, said
    assert_only_changed(before, snapshot(tmp_path), [f"ci/{name}" for name in STATE])
    assert not ci.git("status", "--porcelain", "--untracked-files=all").count("files/xxh3")


def test_a_cached_folder_remote_is_never_written_through_a_link(repo: Repo,
                                                               tmp_path: Path) -> None:
    """The user's own `simplecache::` before a shared folder: a link planted at
    an object's folder is refused as in the plain folder (test_remote_links)."""
    store, outside = tmp_path / "store", tmp_path / "home" / "outside"
    outside.mkdir(parents=True)
    (outside / "kept").write_text("the user's\n")
    made(repo, store)
    repo.gen({".gitpipe/config.local.yaml": {"remotes": {"store": {
        "url": f"simplecache::{store}", "file": {"auto_mkdir": True}}}}})
    digest = repo.read("gitpipe.lock").split("hash: 'xxh3:")[-1][:32]
    link = store / "files" / "xxh3" / digest[:2]
    link.parent.mkdir(parents=True)
    os.symlink(outside, link)
    before = snapshot(tmp_path)
    done = repo.run("push")
    assert done.returncode != 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"{str(link)!r} is not a directory (to {str(outside)!r})" in done.stderr
    assert sorted(os.listdir(outside)) == ["kept"]
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe", "store/files",
                                                     "store/runs", "store/packs"])
