"""A gitpipe killed outright leaves its stages running: the next command that
takes the project lock refuses while they live, rather than running the same
stage again beside the one still writing its outs."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitpipe.core.errors import ProjectLockedError
from gitpipe.executors.local import RECORD_DELAY_VAR
from gitpipe.fastpath.seal import seal_path
from gitpipe.project.projectlock import LOCK_NAME, refuse_left_running
from tests.conftest import GIT_ENV, Repo
from tests.reliability.test_processes import alive, read_pid, wait_for

# Slow unless the test has made `fast`: the first run is the one left behind.
SLOW = "test -e fast || { echo $$ > started; sleep 60; }; echo run > o"


def _group_gone(pgid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process group {pgid} still lives")


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def _slow_repro(repo: Repo, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    """A `gitpipe repro` started apart, and the process group of its slow
    stage once the stage has begun."""
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    process = subprocess.Popen([sys.executable, "-m", "gitpipe", "repro", *args],
                               cwd=repo.path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pgid = read_pid(repo.path / "started")
    _recorded(repo.path / ".gitpipe" / LOCK_NAME, pgid)
    return process, pgid


def _recorded(record: Path, pgid: int, timeout: float = 10) -> None:
    """Wait until the project lock's record names the group: gitpipe appends
    it just after the command has started, so these tests see the record's
    path; a kill before that is test_a_stage_gitpipe_was_killed_before_recording_is_found's."""
    deadline = time.monotonic() + timeout
    while f"start {pgid} " not in record.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"{record} never named group {pgid}"
        time.sleep(0.02)


def test_a_stage_left_by_a_killed_gitpipe_stops_the_next_repro(repo: Repo) -> None:
    repo.spec({"slow": {"cmd": SLOW, "outs": ["o"]}}, commit="spec")
    first, pgid = _slow_repro(repo)
    try:
        first.kill()
        first.wait(timeout=10)
        assert alive(pgid)
        blocked = repo.run("repro", timeout=30)
        assert blocked.returncode == 1, blocked.stderr
        assert blocked.stderr.startswith(
            "error: a stage started by a gitpipe that was killed is still running: "
            f"'slow' (process group {pgid}); running it again beside it would mix two runs' "
            "outs\n"), blocked.stderr
        assert f"kill -- -{pgid}" in blocked.stderr
        assert "Traceback" not in blocked.stderr
        assert not (repo.path / "o").exists()  # nothing ran beside it
        assert alive(pgid)  # and nothing stopped it behind the user's back
    finally:
        _kill_group(pgid)
    _group_gone(pgid)
    _runs_once_free(repo)


def test_a_planted_record_names_no_process_of_the_user(repo: Repo) -> None:
    """Lines naming a live process group of the user's with a wrong start time
    or another boot's id are not believed: gitpipe runs, and tells the user to
    kill nothing."""
    repo.spec({"a": {"cmd": "echo run > o", "outs": ["o"]}}, commit="spec")
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        since = Path(f"/proc/{bystander.pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[19]
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        repo.run("repro", check=True)  # .gitpipe/ made
        os.remove(repo.path / "o")
        (repo.path / ".gitpipe/project.lock").write_text(
            "1\n"
            f"start {bystander.pid} {int(since) + 1} {boot} a\n"
            f"start {bystander.pid} {int(since)} 00000000-0000-0000-0000-000000000000 a\n"
            f"start {os.getpgid(0)} 0 {boot} a\n")
        result = repo.run("repro", "-f", timeout=60)
        assert result.returncode == 0, result.stderr
        assert "kill" not in result.stderr
        assert repo.read("o") == "run\n"
        assert alive(bystander.pid)
        # The same line with the true start time and boot is believed.
        (repo.path / ".gitpipe/project.lock").write_text(
            f"1\nstart {bystander.pid} {int(since)} {boot} a\n")
        believed = repo.run("repro", "-f", timeout=60)
        assert believed.returncode == 1 and f"kill -- -{bystander.pid}" in believed.stderr
    finally:
        bystander.kill()
        bystander.wait()


def test_several_stages_left_running_are_named_together() -> None:
    sleepers = [subprocess.Popen(["sleep", "60"], start_new_session=True) for _ in range(2)]
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        lines = [f"start {p.pid} {_start_time(p.pid)} {boot} stage{n}"
                 for n, p in enumerate(sleepers)]
        with pytest.raises(ProjectLockedError) as raised:
            refuse_left_running("\n".join(["1", *lines, ""]))
        first, second = (p.pid for p in sleepers)
        assert str(raised.value).startswith(
            "2 stages started by a gitpipe that was killed are still running: "
            f"'stage0' (process group {first}), 'stage1' (process group {second})")
        assert raised.value.hint == \
            f"wait for them to end, or stop them: kill -- -{first} -{second}"
    finally:
        for sleeper in sleepers:
            sleeper.kill()
            sleeper.wait()


def _start_time(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[19])


def test_a_stage_left_a_zombie_blocks_nothing() -> None:
    """Where nothing reaps a killed gitpipe's stages (a container whose first
    process is no init), they stay zombies: no longer running, never killable."""
    zombie = subprocess.Popen(["true"], start_new_session=True)
    try:
        since = _start_time(zombie.pid)
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{zombie.pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] \
                != b"Z":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        refuse_left_running(f"1\nstart {zombie.pid} {since} {boot} train\n")
    finally:
        zombie.wait()


def test_a_stage_started_late_in_a_long_record_is_found(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "echo run > o", "outs": ["o"]}}, commit="spec")
    repo.run("repro", check=True)
    sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        ended = "".join(f"start {n} 1 {boot} p@{n:07d}\nend {n}\n" for n in range(2, 250_002))
        (repo.path / ".gitpipe/project.lock").write_text(
            f"1\n{ended}start {sleeper.pid} {_start_time(sleeper.pid)} {boot} late\n")
        blocked = repo.run("repro", "-f", timeout=60)
        assert blocked.returncode == 1 and f"'late' (process group {sleeper.pid})" \
            in blocked.stderr, blocked.stderr
    finally:
        sleeper.kill()
        sleeper.wait()


def test_status_says_a_stage_a_killed_gitpipe_left_running(repo: Repo) -> None:
    """`status` takes no lock, yet says what the lock's record knows: the
    stage a killed gitpipe left running, and its process group to stop; in
    --json too. A sealed `everything is up to date` (the stage is forced, its
    persisted out untouched so far) is not replayed while it runs."""
    repo.spec({"slow": {"cmd": SLOW, "outs": ["o"], "persist": True}}, commit="spec")
    (repo.path / "fast").write_text("")
    assert repo.run("repro", timeout=60).returncode == 0
    (repo.path / "fast").unlink()
    repo.age()
    assert repo.run("status", check=True).stdout == "everything is up to date\n"
    assert os.path.exists(seal_path(str(repo.path), "status")), "the no-op was not sealed"
    began = time.monotonic() - 1  # /proc's start times are in whole clock ticks
    first, pgid = _slow_repro(repo, "--force")
    try:
        first.kill()  # not reaped until the end: a killed gitpipe left a zombie is as dead
        said = repo.run("status", check=True, timeout=30).stdout
        seconds = _running_for(said)
        assert said == (
            f"slow: running for {seconds} s (started by a gitpipe that was killed; "
            f"process group {pgid})\n"
            "nothing is stale in the work tree as it is now\n"
            "hint: 'gitpipe repro' refuses to run beside 1 stage a killed gitpipe left "
            f"running: wait for it to end, or stop it: kill -- -{pgid}\n"), said
        document = json.loads(repo.run("status", "--json", check=True).stdout)
        assert document["running"] == [
            {"task": "slow", "process_group": pgid, "gitpipe_killed": True,
             "seconds": document["running"][0]["seconds"]}]
        assert seconds <= document["running"][0]["seconds"] <= time.monotonic() - began
        assert alive(pgid)  # status only looked
    finally:
        first.wait(timeout=10)
        _kill_group(pgid)
    _group_gone(pgid)
    said = repo.run("status", check=True).stdout
    assert said == "everything is up to date\n", said  # ended: nothing running is said


def _running_for(said: str) -> int:
    """The seconds `status` says the stage has run (`slow: running for N s`),
    as the user reads how long it has gone on."""
    found = re.match(r"slow: running for (\d+) s \(", said)
    assert found, said
    return int(found.group(1))


WAIT_HINT = ("hint: another gitpipe is running 1 stage now: ask 'gitpipe status' again "
             "once it ends\n")


def test_status_says_a_stage_a_live_gitpipe_is_running(repo: Repo) -> None:
    """While another gitpipe runs a stage, `status` says it runs (no kill
    hint: that gitpipe ends it), above why it is stale."""
    repo.spec({"slow": {"cmd": SLOW, "outs": ["o"]}}, commit="spec")
    began = time.monotonic() - 1  # /proc's start times are in whole clock ticks
    live, pgid = _slow_repro(repo)
    try:
        said = repo.run("status", check=True, timeout=30).stdout
        seconds = _running_for(said)
        assert said == (f"slow: running for {seconds} s (process group {pgid})\n"
                        "slow:\n    new stage\n1 of 1 stage stale\n" + WAIT_HINT), said
        document = json.loads(repo.run("status", "--json", check=True).stdout)
        assert document["running"] == [
            {"task": "slow", "process_group": pgid, "gitpipe_killed": False,
             "seconds": document["running"][0]["seconds"]}]
        assert seconds <= document["running"][0]["seconds"] <= time.monotonic() - began
    finally:
        _kill_group(pgid)
        live.wait(timeout=30)


def test_status_beside_a_live_run_names_no_command_that_would_refuse(repo: Repo) -> None:
    """A stage a live gitpipe reruns has its out missing for a while: the
    hint is to wait, not `repro` (which refuses beside that gitpipe) nor
    `pull`."""
    repo.spec({"slow": {"cmd": SLOW, "outs": ["o"]}}, commit="spec")
    (repo.path / "fast").write_text("")
    assert repo.run("repro", timeout=60).returncode == 0
    (repo.path / "fast").unlink()
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    live = subprocess.Popen([sys.executable, "-m", "gitpipe", "repro", "--force"],
                            cwd=repo.path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pgid = read_pid(repo.path / "started")
    _recorded(repo.path / ".gitpipe" / LOCK_NAME, pgid)
    try:
        said = repo.run("status", check=True, timeout=30).stdout
        assert said == (f"slow: running for {_running_for(said)} s (process group {pgid})\n"
                        "slow:\n    outs: o missing\n1 of 1 stage stale\n" + WAIT_HINT), said
    finally:
        _kill_group(pgid)
        live.wait(timeout=30)


def test_a_stage_gitpipe_was_killed_before_recording_is_found(repo: Repo) -> None:
    """gitpipe killed after it started a stage's command and before it
    appended the stage's process group to the record (the testing seam holds
    it in that window): the command, which may write from its first
    instruction, is found all the same. `status` names it, `repro` refuses
    beside it rather than running the stage twice, and once it ends the
    next `repro` runs."""
    repo.spec({"slow": {"cmd": SLOW, "outs": ["o"]}}, commit="spec")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", RECORD_DELAY_VAR: "600"}
    first = subprocess.Popen([sys.executable, "-m", "gitpipe", "repro"], cwd=repo.path,
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pgid = read_pid(repo.path / "started")
        first.kill()  # not reaped yet: a zombie gitpipe, then a gone one
        assert "start" not in repo.read(".gitpipe/project.lock")  # killed in the window
        said = repo.run("status", check=True, timeout=30).stdout
        assert said == killed_run_status(said, pgid), said
        first.wait(timeout=10)
        blocked = repo.run("repro", timeout=60)
        assert blocked.returncode == 1, blocked.stderr
        assert blocked.stderr == (
            "error: a stage started by a gitpipe that was killed is still running: "
            f"'slow' (process group {pgid}); running it again beside it would mix two runs' "
            f"outs\nhint: wait for it to end, or stop it: kill -- -{pgid}\n"), blocked.stderr
        assert not (repo.path / "o").exists()  # nothing ran beside it
        assert alive(pgid)  # and nothing stopped it behind the user's back
    finally:
        first.kill()
        first.wait(timeout=10)
        with contextlib.suppress(FileNotFoundError, ValueError):
            _kill_group(int(repo.read("started")))
    _group_gone(pgid)
    said = repo.run("status", check=True).stdout
    assert said == "slow:\n    new stage\n1 of 1 stage stale\n", said  # nothing runs
    _runs_once_free(repo)


def test_what_a_stage_leaves_behind_holds_no_lock_after_a_finished_run(repo: Repo) -> None:
    """A stage's command keeps the project lock's descriptor, and so does a
    process it leaves in a session of its own; once gitpipe ends as it
    should, the lock is given back all the same: the next repro runs."""
    repo.spec({"a": {"cmd": "setsid sh -c 'echo $$ > daemon; exec sleep 60' >/dev/null 2>&1 & "
                            "until test -s daemon; do sleep 0.05; done; echo run > o",
                     "outs": ["o"]}}, commit="spec")
    assert repo.run("repro", timeout=60).returncode == 0
    left = read_pid(repo.path / "daemon")
    try:
        assert alive(left)
        os.remove(repo.path / "daemon")
        again = repo.run("repro", "-f", timeout=60)
        assert again.returncode == 0, again.stderr
        assert "running" not in repo.run("status", check=True).stdout
    finally:
        _kill_group(left)
        with contextlib.suppress(FileNotFoundError, ValueError):
            _kill_group(int(repo.read("daemon")))


def test_what_a_stage_leaves_behind_holds_no_lock_after_a_second_ctrl_c(repo: Repo) -> None:
    """A second Ctrl-C (or SIGTERM) kills the stages' groups and exits at once,
    with no cleanup: a process a stage left in a session of its own (a build
    server) kept the project lock's descriptor, and with it the lock, so the
    next repro was refused for as long as it ran."""
    # The stage outlives the first SIGTERM (its grace begun once `term.seen`
    # exists), so the second finds it running.
    repo.spec({"a": {"cmd": "setsid sh -c 'echo $$ > daemon; exec sleep 60' >/dev/null 2>&1 & "
                            "trap 'touch term.seen' TERM; test -e fast || { echo $$ > started; "
                            "while :; do sleep 0.1; done; }; echo run > o",
                     "outs": ["o"]}}, commit="spec")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    first = subprocess.Popen([sys.executable, "-m", "gitpipe", "repro"], cwd=repo.path, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    left = 0
    try:
        wait_for(repo.path / "started")
        left = read_pid(repo.path / "daemon")
        first.send_signal(signal.SIGTERM)
        wait_for(repo.path / "term.seen")
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 143
        assert alive(left)
        _group_gone(int(repo.read("started")))
        _runs_once_free(repo)
    finally:
        first.kill()
        first.wait(timeout=10)
        with contextlib.suppress(FileNotFoundError, ValueError):
            _kill_group(int(repo.read("daemon")))  # the second run's
        if left:
            _kill_group(left)


@pytest.mark.parametrize("closed", [0, 1, 2])
def test_a_stage_holds_the_lock_when_gitpipe_started_with_a_standard_descriptor_closed(
        repo: Repo, closed: int) -> None:
    """With stdin (or an output) closed, the lock's descriptor took its number
    and the stage's stdin or output replaced it in the child: the stage held
    no lock, and a gitpipe killed before recording it left the lock free;
    without stdout or stderr, gitpipe failed with a traceback."""
    repo.spec({"a": {"cmd": "ls -l /proc/$$/fd/ | grep -c 'project.lock$' > held; echo run > o",
                     "outs": ["o"]}}, commit="spec")
    done = repo.run("repro", preexec_fn=lambda: os.close(closed), timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert repo.read("held") == "1\n", done.stderr


def killed_run_status(said: str, pgid: int) -> str:
    """What `status` says of the `slow` stage a killed gitpipe left running
    as process group `pgid` (its seconds taken from `said`)."""
    return (f"slow: running for {_running_for(said)} s (started by a gitpipe that was "
            f"killed; process group {pgid})\n"
            "slow:\n    new stage\n1 of 1 stage stale\n"
            "hint: 'gitpipe repro' refuses to run beside 1 stage a killed gitpipe left "
            f"running: wait for it to end, or stop it: kill -- -{pgid}\n")


def _runs_once_free(repo: Repo) -> None:
    """Once the killed run's stage is gone, the stage runs through (its `fast`
    file lets it end at once) and leaves the lock's record empty."""
    (repo.path / "fast").write_text("")
    done = repo.run("repro", timeout=60)
    assert done.returncode == 0, done.stderr
    assert repo.read("o") == "run\n"
    assert repo.read(".gitpipe/project.lock") == ""
