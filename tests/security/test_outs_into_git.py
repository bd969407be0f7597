"""Attack through a committed symlink to the repository's own `.git` (or
`.gitpipe`): gitpipe.yaml refuses a path under `.git/` as written, but a
stage's wdir (or an out's folder) `sub`, committed as `sub -> .git`, put its
out `hooks` at `.git/hooks` by resolution: the folder is inside the
repository, so `check_paths_inside` let it through, and the clone's lock
naming `sub/hooks` as an out made its contents gitpipe's own, so a repro
deleted git's hooks before the command ran (`objects` or `refs` delete the
user's history the same way). A path that resolves into `.git` or
`.gitpipe` is refused as one written there is."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import assert_only_changed, snapshot

STATE = [".gitpipe/state.db", ".gitpipe/state.db-wal", ".gitpipe/state.db-shm",
         ".gitpipe/state.db-journal", ".gitpipe/logs"]


@pytest.mark.parametrize(("link", "target", "out"), [
    ("sub", ".git", "hooks"),
    ("sub", ".gitpipe", "cache"),
])
def test_an_out_through_a_symlink_into_git_s_folders_is_refused(
        make_repo: Any, tmp_path: Path, link: str, target: str, out: str) -> None:
    origin = make_repo("origin")
    origin.gen({f"{link}/keep": ""})
    origin.spec({"s": {"wdir": link, "cmd": f"mkdir -p {out} && echo x > {out}/f",
                       "outs": [out]}}, commit="spec")
    origin.run("repro", check=True)  # the lock names sub/<out> as the stage's out
    origin.git("rm", "-q", "-r", link)
    shutil.rmtree(origin.path / link)  # its out, ignored by git, is left
    (origin.path / link).symlink_to(target)
    origin.git("add", "-A")
    origin.commit("sub is git's own folder now")
    clone = origin.clone_to(tmp_path / "clone")
    clone.run("init")  # a clone's .gitpipe/cache and config exist once gitpipe ran there
    clone.run("fetch")
    own = clone.path / target
    assert any((own / out).iterdir()) if target == ".git" else True
    before_git, before = snapshot(own, skip=("objects", "logs")), snapshot(tmp_path)
    done = clone.run("repro")
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert f"'{link}/{out}' resolves into '{target}'" in done.stderr, said
    assert "Traceback" not in said, said
    assert_only_changed(before_git, snapshot(own, skip=("objects", "logs")),
                        ["index", "state.db", "state.db-wal", "state.db-shm",
                         "state.db-journal", "logs", "project.lock", "tmp"])
    assert_only_changed(before, snapshot(tmp_path), [f"clone/{p}" for p in STATE])
    for args in (["repro", "--dry-run"], ["validate"]):
        refused = clone.run(*args)
        assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
