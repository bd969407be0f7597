"""In a log (no terminal, no bar) a run silent for a while says which stages
are running and for how long, so a reader, or a CI service that stops jobs
that print nothing, sees it is alive."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from gitpipe.cli.stillrunning import AFTER_VAR, still_running_line
from tests.conftest import GIT_ENV, Repo


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
    tasks = {f"s{n}": now - 100 - n for n in range(1, 8)} | {"train": now - 3725}
    assert still_running_line(tasks, now) == (
        "still running: train (1 h 2 min), s7 (1 min 47 s), s6 (1 min 46 s), "
        "s5 (1 min 45 s), s4 (1 min 44 s) and 3 more")
    assert still_running_line({"eval": now - 61}, now) == "still running: eval (1 min 1 s)"


def test_the_partitions_of_a_stage_are_one_entry_as_other_output_names_them() -> None:
    """A backfill running many partitions at once named each on the line
    (`p@2024-01-07 (37 s), p@2024-01-06 (36 s), …`, then `and 3 more`): they
    are now one entry, in runs as status and the repro table write them
    (core/ranges.tasks_text), with the longest-running member's time."""
    now = 10_000.0
    days = [f"2024-01-{day:02d}" for day in range(1, 11)]
    order = [f"p@{day}" for day in days] + ["train"]
    running = {f"p@{day}": now - 30 - n for n, day in enumerate(days) if n != 7}
    line = still_running_line(running | {"train": now - 3725}, now, order)
    assert line == ("still running: train (1 h 2 min), "
                    "p@2024-01-01 … 2024-01-07, 2024-01-09, 2024-01-10 (9) (39 s)"), line
    assert still_running_line({"p@2024-01-03": now - 5}, now, order) == \
        "still running: p@2024-01-03 (5 s)"


def test_a_stage_that_only_redraws_a_progress_line_is_said_to_be_running(repo: Repo) -> None:
    """A `\r` frame (tqdm's bar) reaches a log only once its line ends: the
    frames are silence there, and the run says it is alive all the same."""
    frames = "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do " \
             "printf 'step %s\\r' $i; sleep 0.2; done; echo; echo done > o"
    repo.spec({"bar": {"cmd": frames, "outs": ["o"]}}, commit="spec")
    done = repo.run("repro", env={AFTER_VAR: "1"}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^still running: bar \(\d+ s\)$", done.stdout, re.M), done.stdout


def test_a_reader_that_left_gets_no_traceback_from_the_line(repo: Repo) -> None:
    """`gitpipe repro | head -1`: the reader is gone before the silence ends;
    the run ends as a lost reader ends it, without a thread's traceback."""
    repo.spec({"slow": {"cmd": "sleep 4 && echo done > o", "outs": ["o"]}}, commit="spec")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", AFTER_VAR: "1"}
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "gitpipe", "repro"], cwd=repo.path,
                              env=env, stdout=write, stderr=subprocess.PIPE, text=True,
                              timeout=120)
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr and "Exception in thread" not in done.stderr, \
        done.stderr
    assert repo.read("o") == "done\n"  # the run itself went on and was recorded
    assert "slow" in repo.read("gitpipe.lock")


def test_a_setting_that_is_no_number_of_seconds_is_refused(repo: Repo) -> None:
    repo.spec({"s": {"cmd": "echo > o", "outs": ["o"]}}, commit="spec")
    for bad in ("soon", "0.001", "-5", "nan"):
        done = repo.run("repro", env={AFTER_VAR: bad})
        assert done.returncode == 2, (bad, done.stderr)
        assert done.stderr.startswith(f"error: {AFTER_VAR}={bad!r} is not a number of seconds"), \
            done.stderr
        assert "Traceback" not in done.stderr
    assert not (repo.path / "o").exists()


def test_a_bad_setting_is_refused_on_a_no_op_repro_too(repo: Repo) -> None:
    """A CI job whose setting is mistyped fails the same way every time, not
    only on the first day a stage has to run: a sealed no-op repro (the
    answer given before anything is imported) refuses it as a run does."""
    repo.spec({"s": {"cmd": "echo > o", "outs": ["o"]}}, commit="spec")
    for _ in range(2):  # the second no-op is the sealed answer
        assert repo.run("repro").returncode == 0
    for command in (["repro"], ["repro", "-j", "2"], ["repro", "--json"]):
        done = repo.run(*command, env={AFTER_VAR: "5m"})
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert done.stderr.startswith(f"error: {AFTER_VAR}='5m' is not a number of seconds"), \
            (command, done.stderr)
    assert repo.run("status", env={AFTER_VAR: "5m"}).returncode == 0  # runs nothing: not read
    assert repo.run("repro", env={AFTER_VAR: ""}).returncode == 0  # empty: the default


def test_verify_s_silent_rerun_is_said_to_be_running_too(repo: Repo) -> None:
    """`repro --verify` in CI reruns what ran once more, as silent as the run:
    the check says it is alive as the run does."""
    repo.spec({"slow": {"cmd": "sleep 3 && echo done > o", "outs": ["o"]}}, commit="spec")
    done = repo.run("repro", "--verify", env={AFTER_VAR: "1"}, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    checking = lines[lines.index("1 ran") + 1:]  # after the run's table: the check
    assert any(re.fullmatch(r"still running: slow \(\d+ s\)", line) for line in checking), lines
    assert checking[-2:] == ["ok slow", "verify: 1 ok"], lines
    again = repo.run("verify", env={AFTER_VAR: "1"}, timeout=120)
    assert again.returncode == 0, again.stderr
    assert re.match(r"still running: slow \(\d+ s\)\n", again.stdout), again.stdout
    quiet = repo.run("verify", env={AFTER_VAR: "0"}, timeout=120)
    assert "still running" not in quiet.stdout + quiet.stderr
