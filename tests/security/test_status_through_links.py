"""Attack: a committed symlinked folder leads a dep outside the repository (or
into `.git`). `repro`, `commit` and `validate` refuse such a path before they
read it (`check_paths_inside`); `status` hashed the file first and compared it
with the lock: with a lock entry committed beside the link, its verdict says
whether a file outside the project (or git's config, where a CI checkout
keeps its token) has the bytes the attacker guessed. Every judgement refuses
the path before anything is opened through it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GIT_ENV, Repo
from tests.security.conftest import assert_only_changed, snapshot

SECRET = "[http]\n\textraheader = AUTHORIZATION: basic c2VjcmV0LXRva2Vu\n"
STATE = [".gitpipe/state.db", ".gitpipe/state.db-wal", ".gitpipe/state.db-shm",
         ".gitpipe/state.db-journal", ".gitpipe/logs", ".gitpipe/project.lock",
         ".gitpipe/tmp"]

AUDITED = """
import json, os, sys
opened = []
def hook(event, args):
    if event in ("open", "os.scandir", "os.listdir") and args and isinstance(args[0], (str, bytes)):
        opened.append(os.path.realpath(os.fsdecode(args[0])))
sys.addaudithook(hook)
from gitpipe.cli.launch import main
try:
    main(leave_at_once=False)
finally:
    with open(os.environ["AUDIT_LOG"], "w") as log:
        json.dump(opened, log)
"""


def audited(repo: Repo, log: Path, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    env = {**os.environ, **GIT_ENV, "AUDIT_LOG": str(log), "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", AUDITED, *args], cwd=repo.path, env=env,
                          capture_output=True, text=True)
    return done, json.loads(log.read_text())


@pytest.mark.parametrize(("target", "said"), [
    ("../outside", "resolves outside the repository"),
    (".git", "resolves into '.git'"),
])
def test_status_refuses_a_dep_through_a_linked_folder_before_reading_it(
        repo: Repo, tmp_path: Path, target: str, said: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "config").write_text(SECRET)
    # The lock entry is made with the folder inside and the attacker's guess
    # of the bytes; the committed link then leads elsewhere.
    repo.gen({"inside/config": SECRET})
    (repo.path / "sub").symlink_to("inside")
    repo.spec({"s": {"cmd": "cat sub/config > made.txt", "deps": ["sub/config"],
                     "outs": ["made.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    with open(repo.path / ".git" / "config", "a") as handle:
        handle.write(SECRET)  # as actions/checkout leaves the job's token
    (repo.path / "sub").unlink()
    (repo.path / "sub").symlink_to(target)
    read = os.path.realpath(repo.path / "sub" / "config")
    before = snapshot(tmp_path)
    for at, args in enumerate((["status"], ["status", "--check"], ["status", "--json"],
                               ["repro", "--dry-run"], ["repro"])):
        done, opened = audited(repo, tmp_path / f"audit-{at}.json", *args)
        shown = done.stdout + done.stderr
        assert done.returncode == 2, (args, shown)
        assert f"'sub/config' {said}" in done.stderr, (args, shown)
        assert "Traceback" not in shown, (args, shown)
        assert read not in opened, (args, "read through the link before refusing it")
    assert_only_changed(before, snapshot(tmp_path),
                        [f"repo/{p}" for p in STATE] + [f"audit-{n}.json" for n in range(5)])


def test_status_at_a_revision_refuses_a_work_tree_read_through_a_linked_folder(
        repo: Repo, tmp_path: Path) -> None:
    # A commit's link that leaves the project is read from the work tree
    # (docs/explanation/staleness.md, status --rev): there too, never through it.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "config").write_text(SECRET)
    repo.gen({"inside/config": SECRET})
    (repo.path / "sub").symlink_to("inside")
    repo.spec({"s": {"cmd": "cat sub/config > made.txt", "deps": ["sub/config"],
                     "outs": ["made.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    (repo.path / "sub").unlink()
    (repo.path / "sub").symlink_to("../outside")
    repo.commit("the link leads out")
    read = os.path.realpath(repo.path / "sub" / "config")
    before = snapshot(tmp_path)
    done, opened = audited(repo, tmp_path / "audit.json", "status", "--rev", "HEAD")
    shown = done.stdout + done.stderr
    assert done.returncode == 2, shown
    assert "'sub/config' resolves outside the repository" in done.stderr, shown
    assert "Traceback" not in shown
    assert read not in opened, "read through the link before refusing it"
    assert_only_changed(before, snapshot(tmp_path), [f"repo/{p}" for p in STATE] + ["audit.json"])
