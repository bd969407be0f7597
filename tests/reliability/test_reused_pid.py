"""`status` beside the stages of a gitpipe killed outright whose pid the kernel
has since given to another process: the record's holder is not taken for a
live gitpipe because something with its pid runs."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

from gitpipe.executors.local import RECORD_DELAY_VAR
from tests.conftest import GIT_ENV, Repo
from tests.reliability.test_killed_gitpipe import SLOW, _group_gone, _kill_group, killed_run_status
from tests.reliability.test_processes import read_pid


def test_a_killed_gitpipe_whose_pid_runs_again_is_known_killed(repo: Repo) -> None:
    """gitpipe is killed after it started a stage and before it recorded it;
    another process of the user's now has the pid the record names (the
    record's first line is set to a live `sleep`'s pid, as the kernel's reuse
    of the pid would leave it). `status` still finds the stage, says its
    gitpipe was killed and gives the kill advice, as where the pid is free."""
    repo.spec({"slow": {"cmd": SLOW, "outs": ["o"]}}, commit="spec")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", RECORD_DELAY_VAR: "600"}
    first = subprocess.Popen([sys.executable, "-m", "gitpipe", "repro"], cwd=repo.path,
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    other = subprocess.Popen(["sleep", "60"])
    try:
        pgid = read_pid(repo.path / "started")
        first.kill()
        first.wait(timeout=10)
        record = repo.path / ".gitpipe" / "project.lock"
        assert record.read_text() == f"{first.pid}\n"  # killed before its `start` line
        record.write_text(f"{other.pid}\n")
        said = repo.run("status", check=True, timeout=30).stdout
        assert said == killed_run_status(said, pgid), said
    finally:
        other.kill()
        other.wait(timeout=10)
        first.kill()
        first.wait(timeout=10)
        with contextlib.suppress(FileNotFoundError, ValueError):
            _kill_group(int(repo.read("started")))
    _group_gone(pgid)
