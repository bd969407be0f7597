"""A metrics file is cached and, as DVC users keep metrics, committed to git
too. In a clone, `pull` leaves it be (the work tree's copy is the lock's), so
it never enters the clone's cache; `push` there then refused (`1 out(s) are
not in the local cache: metrics.json`, exit 1) although the remote holds
it: a CI job's `repro --pull --push` on a clone failed with nothing to push."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import Repo


def test_push_in_a_clone_skips_an_out_the_remote_already_holds(
        make_repo: Callable[[str], Repo], tmp_path: Path) -> None:
    origin = make_repo("origin")
    origin.spec({"model": {"cmd": "echo w > model.txt", "outs": ["model.txt"]},
                 "evaluate": {"cmd": "echo '{\"acc\": 0.9}' > metrics.json",
                              "deps": ["model.txt"], "metrics": ["metrics.json"]}})
    origin.run("init", check=True)
    origin.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    origin.run("repro", check=True)
    origin.run("push", check=True)
    origin.git("add", "-A")
    origin.git("commit", "-qm", "results, metrics.json in git")
    clone = origin.clone_to(tmp_path / "clone")
    clone.run("pull", check=True)
    assert clone.run("status", check=True).stdout == "everything is up to date\n"
    done = clone.run("push")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "0 object(s)" in done.stdout + done.stderr, done.stdout + done.stderr
    # An out neither the cache nor the remote holds is still refused.
    (tmp_path / "other").mkdir()
    clone.run("remote", "add", "other", str(tmp_path / "other" / "store"), check=True)
    refused = clone.run("push", "-r", "other")
    assert refused.returncode == 1, refused.stderr
    assert "metrics.json (stage 'evaluate'" in refused.stderr, refused.stderr
