"""The processes a gitpipe names as left running by a killed gitpipe are
found by the kernel's word (lockholders.py), and only the user's own stages
are: a planted record whose holder is gone, another user's process holding
the project lock's flock whose taker is gone, and the user's own process
that merely has the file open make gitpipe name, signal or wait on nothing
of theirs; the lock another user holds still refuses, as it always did."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.reliability.test_processes import alive
from tests.security.conftest import assert_only_changed, snapshot

# Another user's: takes the flock on the descriptor it is given, then leaves
# it to a child in a session of its own (the taker gone, as a killed
# gitpipe's stages hold its lock), and says the child's pid.
TAKER = """\
import fcntl, os, sys, time
fd = int(sys.argv[1])
fcntl.flock(fd, fcntl.LOCK_EX)
if os.fork():
    os._exit(0)
os.setsid()
print(os.getpid(), flush=True)
time.sleep(120)
"""


def _gone_pid() -> int:
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


# Another user's interpreter: the test's own may lie where that user cannot go.
PYTHON = shutil.which("python3", path="/usr/bin:/bin") or sys.executable


@pytest.mark.skipif(os.getuid() != 0 or not os.path.isdir("/proc/self/fdinfo"),
                    reason="another user's process needs root to start; /proc")
def test_another_users_holder_and_a_planted_record_name_nothing(repo: Repo,
                                                                tmp_path: Path) -> None:
    repo.spec({"a": {"cmd": "echo run > o", "outs": ["o"]}}, commit="spec")
    repo.run("repro", check=True)  # .gitpipe/ made
    os.remove(repo.path / "o")
    lock = repo.path / ".gitpipe/project.lock"
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    lock.write_text(f"{_gone_pid()}\nstart {os.getpgid(0)} 0 {boot} a\n")  # planted
    given, opened = os.open(lock, os.O_RDONLY), os.open(lock, os.O_RDONLY)
    try:  # the other user is given what a world-readable file lets anyone open
        taker = subprocess.Popen([PYTHON, "-c", TAKER, str(given)], user=65534, group=65534,
                                 cwd="/", pass_fds=(given,), stdout=subprocess.PIPE)
        reader = subprocess.Popen(["sleep", "120"], pass_fds=(opened,), start_new_session=True)
    finally:
        os.close(given)
        os.close(opened)
    assert taker.stdout is not None
    holder = int(taker.stdout.readline())
    taker.wait(timeout=10)
    try:
        before = snapshot(tmp_path)
        said = repo.run("status", check=True, timeout=60).stdout
        assert said.startswith("a:\n    outs: o missing\n1 of 1 stage stale\n"), said
        assert "running" not in said and "kill" not in said, said
        refused = repo.run("repro", timeout=60)
        assert refused.returncode == 1, refused.stderr
        assert refused.stderr.startswith("error: another gitpipe process"), refused.stderr
        assert "kill" not in refused.stderr and str(holder) not in refused.stderr
        assert_only_changed(before, snapshot(tmp_path))
        assert alive(holder) and alive(reader.pid)  # nothing signalled
    finally:
        os.kill(holder, 9)
        reader.kill()
        reader.wait()
    done = repo.run("repro", timeout=60)
    assert done.returncode == 0, done.stderr
    assert repo.read("o") == "run\n"
