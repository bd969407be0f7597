"""kill -9 at random points of a repro, many times: the lock never lies and nothing is redone."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
import yaml

from gitpipe.engine.scheduler import Outcome
from gitpipe.project.projectlock import left_running
from tests.conftest import GIT_ENV, Repo, ran_cmd

STAGES = {
    "a": ("raw.txt", "a.txt"), "b": ("a.txt", "b.txt"), "c": ("a.txt", "c.txt"),
    "d": ("b.txt", "d.txt"), "e": ("c.txt", "e.txt"), "f": ("d.txt", "f.txt"),
}


def pipeline(repo: Repo, salt: str) -> None:
    stages = {}
    for name, (dep, out) in STAGES.items():
        body = f"sleep 0.1 && (cat {dep}; echo {name}-{salt}) > {out}.tmp && mv {out}.tmp {out}"
        stages[name] = {"cmd": ran_cmd(name, body), "deps": [dep], "outs": [out]}
    repo.spec(stages)


def expected_outputs(salt: str) -> dict[str, str]:
    text = {"raw.txt": "raw\n"}
    for name, (dep, out) in STAGES.items():
        text[out] = text[dep] + f"{name}-{salt}\n"
    return text


@pytest.mark.slow
def test_kill_9_loop_keeps_lock_truthful(repo: Repo) -> None:
    rng = random.Random(1234)
    repo.gen({"raw.txt": "raw\n"}, commit="data")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    for round_number in range(12):
        salt = str(round_number % 3)  # cycles, so some rounds find work already done
        pipeline(repo, salt)
        proc = subprocess.Popen([sys.executable, "-m", "gitpipe", "repro", "-j", "2"],
                                cwd=repo.path, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 0.9))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _wait_for_orphans(repo)  # stage commands orphaned by the kill finish on their own
        repo.ran()
        _check_truthful(repo, salt)


def _wait_for_orphans(repo: Repo) -> None:
    """Until no stage the killed gitpipe recorded runs (the next repro would
    refuse while one does: test_killed_gitpipe.py)."""
    deadline = time.monotonic() + 30
    record = repo.path / ".gitpipe/project.lock"
    while record.exists() and left_running(record.read_text(errors="replace")):
        assert time.monotonic() < deadline, "orphaned stages never finished"
        time.sleep(0.05)


def _check_truthful(repo: Repo, salt: str) -> None:
    lock_text = repo.read("gitpipe.lock") if (repo.path / "gitpipe.lock").exists() else ""
    yaml.safe_load(lock_text)  # always valid YAML
    want = expected_outputs(salt)
    verdicts = {v.task: v for v in repo.project().status().tasks}
    for name, verdict in verdicts.items():
        if not verdict.stale:  # up to date must mean the right bytes are there
            out = STAGES[name][1]
            assert repo.read(out) == want[out], (name, salt)
    own_reasons = {n for n, v in verdicts.items()
                   if any(not str(r).startswith("upstream:") for r in v.reasons)}
    report = repo.project().repro()
    assert report.ok
    redone = {r.task for r in report.results if r.outcome in (Outcome.RAN, Outcome.RESTORED)}
    assert own_reasons <= redone <= {n for n, v in verdicts.items() if v.stale}
    assert set(repo.ran()) <= redone
    for out in (o for _, o in STAGES.values()):
        assert repo.read(out) == want[out]
    assert not any(v.stale for v in repo.project().status().tasks)
