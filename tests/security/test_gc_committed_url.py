"""A clone's committed config names another project's folder remote, and CI
runs `gitpipe gc --remote store -A --yes` on it: every object there that no
lock of the clone names was deleted, the other project's pushed outs
included. `--yes` now deletes only from a remote whose URL the user's own
config.local.yaml sets; a committed URL is confirmed on a terminal."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot
from tests.security.test_gc import allowed, project_with_remote, refused


def _evil_clone(make_repo: Callable[[str], Repo], tmp_path: Path, other_store: Path) -> Repo:
    """A project whose committed remote `store` is another project's folder."""
    evil = make_repo("evil")
    evil.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    evil.run("remote", "add", "--default", "store", str(other_store), check=True)
    evil.run("repro", check=True)
    evil.commit("a remote that is another project's")
    return evil.clone_to(tmp_path / "ci")


def test_gc_yes_never_deletes_from_a_committed_url(make_repo: Callable[[str], Repo],
                                                   tmp_path: Path) -> None:
    other_store = tmp_path / "store"
    project_with_remote(make_repo, str(other_store))  # the other project, pushed there
    ci = _evil_clone(make_repo, tmp_path, other_store)
    pushed = sorted(str(path) for path in (other_store / "files").rglob("*") if path.is_file())
    assert pushed
    before = snapshot(tmp_path)
    done = ci.run("gc", "--remote", "store", "-A", "--yes")
    refused(done, "remote 'store'", "comes from the committed .gitpipe/config.yaml",
            "nothing was deleted", "gitpipe remote modify --local store url")
    assert done.returncode == 2
    asks = ci.run("gc", "--remote", "store", "-A", stdin=subprocess.DEVNULL)
    refused(asks, "there is no terminal", "config.local.yaml")
    assert_only_changed(before, snapshot(tmp_path), allowed(ci, fetched=True))
    # The user's own config names it: --yes is their answer, as before.
    ci.own_remote()
    gone = ci.run("gc", "--remote", "store", "-A", "--yes", check=True)
    assert "removed" in gone.stdout and not any(Path(p).exists() for p in pushed[:1]), \
        gone.stdout
