"""Timeouts and Ctrl-C kill the stage's whole process tree; the lock stays consistent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitpipe.engine.scheduler import Outcome
from tests.conftest import GIT_ENV, Repo


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as dead.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def wait_for(path: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def read_pid(path: Path, timeout: float = 10) -> int:
    """The pid a command wrote with `echo`, once its whole line is there: the
    shell makes the file before it writes to it."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text() if path.exists() else ""
        if text.endswith("\n"):
            return int(text)
        assert time.monotonic() < deadline, f"{path} never held a whole line"
        time.sleep(0.02)


def _default_stop_signals() -> None:
    for stop in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, signal.SIG_DFL)


# The stage starts a grandchild (backgrounded sleep) and records its pid.
TREE = "sleep 300 & echo $! > grandchild.pid; sleep 300"


def test_timeout_kills_the_process_tree(repo: Repo) -> None:
    repo.spec({"slow": {"cmd": TREE, "outs": ["o"], "timeout": "1s"}}, commit="spec")
    report = repo.project().repro()
    result = report.results[0]
    assert result.outcome is Outcome.FAILED
    assert "timed out after 1s" in result.message
    pid = read_pid(repo.path / "grandchild.pid")
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)
    assert repo.project().lock_entries == {}


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                          (signal.SIGHUP, 129)])
def test_ctrl_c_kills_stage_tree_and_keeps_finished_work(repo: Repo, stop: int,
                                                         code: int) -> None:
    repo.spec({
        "done": {"cmd": "echo ok > done.txt", "outs": ["done.txt"]},
        "slow": {"cmd": TREE, "deps": ["done.txt"], "outs": ["o"]},
    }, commit="spec")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    # As from a terminal: the stop signals at their defaults, even where the test
    # runner inherited them ignored (nohup), which gitpipe keeps.
    proc = subprocess.Popen([sys.executable, "-m", "gitpipe", "repro"], cwd=repo.path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_stop_signals)
    pid = read_pid(repo.path / "grandchild.pid")
    time.sleep(0.2)
    proc.send_signal(stop)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == code
    assert "interrupted" in err and "Traceback" not in err
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)
    entries = repo.project().lock_entries
    assert set(entries) == {"done"}


def test_second_repro_waits_then_names_the_holder(repo: Repo) -> None:
    repo.spec({"slow": {"cmd": "touch started && sleep 3 && echo > o", "outs": ["o"]}},
              commit="spec")
    repo.gen({".gitpipe/config.yaml": {"core": {"lock_wait": 0.3}}})
    env = {**os.environ, **GIT_ENV}
    first = subprocess.Popen([sys.executable, "-m", "gitpipe", "repro"], cwd=repo.path,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(repo.path / "started")  # the first holds the lock while its stage runs
    second = repo.run("repro")
    assert second.returncode == 1
    assert f"another gitpipe process (pid {first.pid})" in second.stderr
    assert first.wait(timeout=30) == 0


def test_lock_of_a_dead_process_is_reclaimed(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "echo > o", "outs": ["o"]}}, commit="spec")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; sys.path.insert(0, '.');"
        "from gitpipe.project.projectlock import ProjectLock;"
        f"ProjectLock(Path({str(repo.path / '.gitpipe')!r})).acquire(); print('held', flush=True);"
        "time.sleep(60)")], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    repo.gen({".gitpipe/config.yaml": {"core": {"lock_wait": 0.2}}})
    blocked = repo.run("repro")
    assert blocked.returncode == 1 and f"(pid {holder.pid})" in blocked.stderr
    holder.kill()
    holder.wait()
    assert repo.run("repro").returncode == 0
    assert repo.read(".gitpipe/project.lock") == ""


def test_cancelling_several_stages_gives_them_one_grace_period(monkeypatch) -> None:
    # Ctrl-C with 6 stages running took 11 s: each group was given its grace
    # period in turn. Every group is now told first, and what is left after
    # one shared grace period is killed.
    from gitpipe.executors import local

    groups = [subprocess.Popen(["/bin/sh", "-c", "trap '' TERM; sleep 30 & wait"],
                               start_new_session=True) for _ in range(3)]
    signals: list[tuple[int, int]] = []
    real = os.killpg

    def recording(pid: int, sig: int) -> None:
        if sig:
            signals.append((pid, sig))
        real(pid, sig)

    monkeypatch.setattr(local.os, "killpg", recording)
    try:
        time.sleep(0.2)  # the traps are set
        local._kill_groups([p.pid for p in groups], grace=0.3)
    finally:
        for process in groups:
            process.wait(timeout=10)
    kinds = [sig for _, sig in signals]
    assert kinds == [signal.SIGTERM] * 3 + [signal.SIGKILL] * 3, signals
    assert all(process.returncode == -signal.SIGKILL for process in groups)


def test_ctrl_c_during_verify_stops_the_rerun_and_removes_the_copy(repo: Repo,
                                                                   tmp_path: Path) -> None:
    # The first run (in the work tree, where .git is) is quick; the rerun in the
    # copy starts a tree and notes its pid at an absolute path.
    note = tmp_path / "grandchild.pid"
    cmd = (f'[ -d "$GITPIPE_ROOT/.git" ] || {{ sleep 300 & echo $! > {note}; sleep 300; }}; '
           "echo x > o")
    repo.spec({"slow": {"cmd": cmd, "outs": ["o"]}}, commit="spec")
    assert repo.project().repro().ok
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", "TMPDIR": str(scratch)}
    proc = subprocess.Popen([sys.executable, "-m", "gitpipe", "verify"], cwd=repo.path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pid = read_pid(note)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("stop", [signal.SIGHUP, signal.SIGTERM])
def test_a_stop_signal_the_caller_ignores_stays_ignored(repo: Repo, stop: int) -> None:
    # `nohup gitpipe repro` (SIGHUP ignored) from an ssh session that then drops:
    # the stage goes on to the end, as nohup promises, and its lock entry is written.
    repo.spec({"slow": {"cmd": "touch started; while [ ! -e go ]; do sleep 0.05; done; "
                                "echo ok > o", "outs": ["o"]}}, commit="spec")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gitpipe", "repro"], cwd=repo.path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(stop, signal.SIG_IGN))
    wait_for(repo.path / "started")
    proc.send_signal(stop)
    time.sleep(0.3)
    (repo.path / "go").touch()
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "interrupted" not in err
    assert set(repo.project().lock_entries) == {"slow"}
