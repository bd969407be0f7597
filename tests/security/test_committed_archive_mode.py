"""A clone's committed `.gitpipe/config.yaml` gave a remote the URL
`zip://store::file://~/.bashrc` and `zip: {mode: w}`: fsspec's zip
filesystem opens its archive for writing when the remote is opened, so
`gitpipe pull` (or `push`, `fetch`, the pre-push hook) truncated any file the
user may write, before a byte was moved. A committed `mode`, at any depth of
a remote's options, is refused when the config is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

STATE = [f".gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]


@pytest.mark.parametrize("nested", [True, False], ids=["zip-options", "top-level"])
@pytest.mark.parametrize("command", ["pull", "push"])
def test_a_committed_archive_mode_truncates_nothing(
        make_repo: Any, tmp_path: Path, nested: bool, command: str) -> None:
    victim = tmp_path / "home" / ".bashrc"
    victim.parent.mkdir()
    victim.write_text("export PATH=$HOME/bin:$PATH\n")
    evil = make_repo("evil")
    evil.spec({"make": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}})
    evil.run("init", check=True)
    evil.run("repro", check=True)
    mode = {"zip": {"mode": "w"}} if nested else {"mode": "w"}
    evil.gen({".gitpipe/config.yaml": {"remotes": {"store": mode}}}, commit="a remote")
    ci: Repo = evil.clone_to(tmp_path / "ci")
    # The user's own archive remote (a committed zip:// is refused by its
    # protocol): the clone's options for the remote of that name ride along.
    ci.gen({".gitpipe/config.local.yaml": {"remotes": {"store": {
        "url": f"zip://store::file://{victim}"}}}})
    if command == "push":
        ci.gen({"out.txt": "hi\n"})
    before = snapshot(tmp_path)
    done = ci.run(command)
    said = done.stdout + done.stderr
    assert victim.read_text() == "export PATH=$HOME/bin:$PATH\n", said
    assert done.returncode == 2, said
    assert "Traceback" not in said, said
    where = "store.zip.mode" if nested else "store.mode"
    assert f".gitpipe/config.yaml: remotes.{where}" in done.stderr, said
    assert_only_changed(before, snapshot(tmp_path), [f"ci/{name}" for name in STATE])
