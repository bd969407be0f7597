"""In a log (no terminal, no bar) a run silent for a while says which stages
are running and for how long, so a reader, or a CI service that stops jobs
that print nothing, sees it is alive."""

from __future__ import annotations

import re

from gitpipe.cli.stillrunning import AFTER_VAR, still_running_line
from tests.conftest import Repo


def test_a_silent_stage_is_said_to_be_running_in_a_log(repo: Repo) -> None:
    repo.spec({"slow": {"cmd": "sleep 4 && echo done > o", "outs": ["o"]}}, commit="spec")
    done = repo.run("repro", env={AFTER_VAR: "1"}, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    said = [i for i, line in enumerate(lines) if line.startswith("still running:")]
    assert said, done.stdout
    assert all(re.fullmatch(r"still running: slow \(\d+ s\)", lines[i]) for i in said), lines
    assert lines.index("running slow: new stage") < said[0]
    assert said[-1] < next(i for i, line in enumerate(lines) if line.startswith("stage "))


def test_the_line_is_off_at_zero(repo: Repo) -> None:
    repo.spec({"slow": {"cmd": "sleep 2 && echo done > o", "outs": ["o"]}}, commit="spec")
    done = repo.run("repro", env={AFTER_VAR: "0"}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "still running" not in done.stdout + done.stderr


def test_the_line_names_the_longest_running_first_and_counts_the_rest() -> None:
    now = 10_000.0
    tasks = {f"p@{day:02d}": now - 30 - day for day in range(1, 8)} | {"train": now - 3725}
    assert still_running_line(tasks, now) == (
        "still running: train (1 h 2 min), p@07 (37 s), p@06 (36 s), p@05 (35 s), "
        "p@04 (34 s) and 3 more")
    assert still_running_line({"eval": now - 61}, now) == "still running: eval (1 min 1 s)"
