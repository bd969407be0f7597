"""Attack through a committed symlink reached by a foreach stage's rendered
path: `check_paths_inside` (the check before commit, validate, the dry run
and a repro's start) resolved the stage's paths as written, `${item}/config`
whole, a folder that does not exist and so lies inside. With the item `sub`
and a committed `sub -> .git` (or `sub -> ../outside`), the rendered path
`sub/config` is git's own config (a CI checkout's token) or a file outside
the repository: `gitpipe commit` read it into the cache, and `gitpipe push`
then put it in the team's bucket. Each node's rendered paths are checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import assert_only_changed, snapshot

SECRET = "[http]\n\textraheader = AUTHORIZATION: basic c2VjcmV0LXRva2Vu\n"
STATE = [".gitpipe/state.db", ".gitpipe/state.db-wal", ".gitpipe/state.db-shm",
         ".gitpipe/state.db-journal", ".gitpipe/logs", ".gitpipe/project.lock",
         ".gitpipe/tmp"]


@pytest.mark.parametrize(("target", "field", "said"), [
    (".git", "outs", "resolves into '.git'"),
    ("../outside", "deps", "resolves outside the repository"),
])
def test_a_foreach_path_through_a_committed_symlink_is_refused(
        make_repo: Any, tmp_path: Path, target: str, field: str, said: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "config").write_text(SECRET)
    origin = make_repo("origin")
    (origin.path / "sub").symlink_to(target)
    body: dict[str, Any] = {"cmd": "echo ran", field: ["${item}/config"]}
    if field == "deps":
        body["outs"] = ["made-${item}.txt"]
    origin.spec({"s": {"foreach": ["sub"], "do": body}}, commit="a foreach through sub")
    clone = origin.clone_to(tmp_path / "clone")
    with open(clone.path / ".git" / "config", "a") as handle:
        handle.write(SECRET)  # as actions/checkout leaves the job's token
    if field == "deps":
        (clone.path / "made-sub.txt").write_text("by hand\n")  # commit records it
    clone.run("init", check=True)
    clone.run("remote", "add", "--local", "-d", "store", str(tmp_path / "store"), check=True)
    before = snapshot(tmp_path)
    for args in (["commit"], ["validate"], ["repro", "--dry-run"]):
        done = clone.run(*args)
        shown = done.stdout + done.stderr
        assert done.returncode == 2, (args, shown)
        assert f"'sub/config' {said}" in done.stderr, (args, shown)
        assert "Traceback" not in shown, (args, shown)
    pushed = clone.run("push")
    assert "Traceback" not in pushed.stdout + pushed.stderr
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").rglob("*")), \
        "the bucket holds what the symlink reached"
    assert_only_changed(before, snapshot(tmp_path), [f"clone/{p}" for p in STATE])
