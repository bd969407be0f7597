"""A metrics file is cached and, as DVC users keep metrics, committed to git
too. In a clone, `pull` leaves it be (the work tree's copy is the lock's), so
it never enters the clone's cache; `push` there refused (`1 out(s) are not
in the local cache: metrics.json`, exit 1): a CI job's `repro --pull --push`
on a clone failed with nothing to push. The work tree's copy is cached
when it holds the lock's bytes, and pushed as any cached object is."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import Repo

EVALUATE = {"cmd": "echo '{\"acc\": 0.9}' > metrics.json", "metrics": ["metrics.json"]}


def test_push_in_a_clone_skips_an_out_the_remote_already_holds(
        make_repo: Callable[[str], Repo], tmp_path: Path) -> None:
    clone = _clone_of_pushed(make_repo, tmp_path, {
        "model": {"cmd": "echo w > model.txt", "outs": ["model.txt"]},
        "evaluate": {**EVALUATE, "deps": ["model.txt"]}})
    clone.run("pull", check=True)
    assert clone.run("status", check=True).stdout == "everything is up to date\n"
    done = clone.run("push")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "0 object(s)" in done.stdout + done.stderr, done.stdout + done.stderr
    # To an empty remote, the work tree's copy travels: it is the lock's bytes.
    (tmp_path / "other").mkdir()
    clone.run("remote", "add", "other", str(tmp_path / "other" / "store"), check=True)
    assert clone.run("push", "-r", "other").returncode == 0
    assert _remote_bytes(tmp_path / "other" / "store") >= {b'{"acc": 0.9}\n'}


def _remote_bytes(store: Path) -> set[bytes]:
    return {path.read_bytes() for path in (store / "files").rglob("*") if path.is_file()}


def _clone_of_pushed(make_repo: Callable[[str], Repo], tmp_path: Path,
                     stages: dict[str, Any]) -> Repo:
    """A clone of a repository that ran `stages`, pushed their outs to the
    folder remote `store` and committed everything, metrics.json too."""
    origin = make_repo("origin")
    origin.spec(stages)
    origin.run("init", check=True)
    origin.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    origin.run("repro", check=True)
    origin.run("push", check=True)
    origin.git("add", "-A")
    origin.git("commit", "-qm", "results, metrics.json in git")
    return origin.clone_to(tmp_path / "clone")


def _metrics_clone(make_repo: Callable[[str], Repo], tmp_path: Path) -> Repo:
    """A clone whose metrics file comes from git, its cache emptied."""
    clone = _clone_of_pushed(make_repo, tmp_path, {"evaluate": EVALUATE})
    shutil.rmtree(clone.path / ".gitpipe" / "cache" / "files", ignore_errors=True)
    return clone


def test_a_push_never_takes_the_remotes_word_for_an_out_it_lacks(
        make_repo: Callable[[str], Repo], tmp_path: Path) -> None:
    """A writer of the shared remote replaced the object with other bytes: the
    push neither skips it on the remote's say-so nor says it is done; it
    sends the work tree's copy, the lock's bytes, again."""
    clone = _metrics_clone(make_repo, tmp_path)
    objects = [p for p in (tmp_path / "store" / "files").rglob("*") if p.is_file()]
    assert len(objects) == 1
    objects[0].chmod(0o644)
    objects[0].write_bytes(b"forged\n")
    assert clone.run("push").returncode == 0
    assert objects[0].read_bytes() == b'{"acc": 0.9}\n'


def test_an_out_neither_cached_nor_in_the_work_tree_is_refused(
        make_repo: Callable[[str], Repo], tmp_path: Path) -> None:
    """The work tree's copy counts only with the lock's bytes, and only as a
    file itself: other bytes, or a link to the same bytes elsewhere, are
    refused, and nothing reaches the remote."""
    clone = _metrics_clone(make_repo, tmp_path)
    (tmp_path / "elsewhere.json").write_bytes((clone.path / "metrics.json").read_bytes())
    for plant in ("other bytes", "link"):
        (clone.path / "metrics.json").unlink()
        if plant == "link":
            (clone.path / "metrics.json").symlink_to(tmp_path / "elsewhere.json")
        else:
            (clone.path / "metrics.json").write_text('{"acc": 0.1}\n')
        before = _remote_bytes(tmp_path / "store")
        refused = clone.run("push")
        assert refused.returncode == 1, refused.stderr
        assert "metrics.json (stage 'evaluate'" in refused.stderr, refused.stderr
        assert _remote_bytes(tmp_path / "store") == before
