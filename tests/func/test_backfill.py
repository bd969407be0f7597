"""Partitioned stages and backfill on real repositories with real subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from gitpipe.engine.backfill import BackfillOptions
from gitpipe.engine.reports import ReproOptions
from gitpipe.engine.scheduler import Outcome
from tests.conftest import GIT_ENV, Repo, ran_cmd
from tests.func.test_parallel import max_concurrent

RAW_DAYS = [f"2024-01-{d:02d}" for d in range(1, 11)]


TRANSFORM = "mkdir -p feat && tr a-z A-Z < raw/${date}.txt > feat/${date}.txt"
STRICT = ("mkdir -p feat && if test -s raw/${date}.txt; then tr a-z A-Z < raw/${date}.txt "
          "> feat/${date}.txt; else echo empty input ${date}; exit 1; fi")


def features_stage(body: str = TRANSFORM, **extra: object) -> dict:
    stage = {
        "partition": {"by": "date", "start": "2024-01-01", "end": "2024-01-10"},
        "cmd": ran_cmd("features@${date}", body),
        "deps": ["raw/${date}.txt"],
        "outs": ["feat/${date}.txt"],
    }
    stage.update(extra)
    return stage


def daily(repo: Repo, body: str = TRANSFORM, **extra: object) -> Repo:
    repo.gen({f"raw/{day}.txt": f"day {day}\n" for day in RAW_DAYS})
    repo.spec({
        "features": features_stage(body, **extra),
        "agg": {"partition": {"by": "date", "start": "2024-01-01", "end": "2024-01-10"},
                "cmd": ran_cmd("agg@${date}", "mkdir -p agg && wc -c < feat/${date}.txt > "
                                              "agg/${date}.txt"),
                "deps": ["feat/${date}.txt"], "outs": ["agg/${date}.txt"]},
        "report": {"cmd": ran_cmd("report", "cat agg/* > report.txt"), "deps": ["agg/"],
                   "outs": ["report.txt"]},
    }, commit="pipeline")
    return repo


def test_repro_runs_every_partition_then_nothing(repo: Repo) -> None:
    daily(repo)
    report = repo.project().repro()
    assert report.ok and len(report.results) == 21
    ran = repo.ran()
    assert sorted(r for r in ran if r.startswith("features@")) == \
        [f"features@{d}" for d in RAW_DAYS]
    assert ran[-1] == "report"
    assert repo.read("feat/2024-01-03.txt") == "DAY 2024-01-03\n"
    assert "features@2024-01-03" in repo.project().lock_entries
    repo.project().repro()
    assert repo.ran() == []


def test_status_lists_stale_partitions_compactly(repo: Repo) -> None:
    daily(repo)
    repo.project().repro()
    for day in ("2024-01-03", "2024-01-04", "2024-01-08"):
        repo.gen({f"raw/{day}.txt": "changed\n"})
    out = repo.run("status").stdout
    assert "features@2024-01-03, 2024-01-04, 2024-01-08 (3 of 10):" in out
    assert "deps: raw/${date}.txt modified" in out
    assert "agg@2024-01-03, 2024-01-04, 2024-01-08 (3 of 10):" in out
    data = json.loads(repo.run("status", "--json").stdout)
    stale = [(s["name"], s["partition"]) for s in data["stages"] if s["stale"]]
    assert ("features", "2024-01-08") in stale and ("report", None) in stale


def test_backfill_runs_only_stale_partitions_and_downstream(repo: Repo) -> None:
    daily(repo)
    repo.project().repro()
    repo.ran()
    repo.gen({"raw/2024-01-05.txt": "new\n"})
    done = repo.run("backfill", "features", "--start", "2024-01-01", "--end", "2024-01-10")
    assert done.returncode == 0, done.stderr
    assert sorted(repo.ran()) == ["agg@2024-01-05", "features@2024-01-05", "report"]


def test_backfill_no_downstream(repo: Repo) -> None:
    daily(repo)
    repo.project().repro()
    repo.ran()
    repo.gen({"raw/2024-01-05.txt": "new\n"})
    repo.run("backfill", "features", "--no-downstream", check=True)
    assert repo.ran() == ["features@2024-01-05"]


def test_force_on_a_sub_range_reruns_exactly_it(repo: Repo) -> None:
    daily(repo)
    repo.project().repro()
    repo.ran()
    report = repo.project().backfill(
        BackfillOptions("features", "2024-01-02", "2024-01-04", force=True, downstream=False))
    assert report.ok
    assert sorted(repo.ran()) == ["features@2024-01-02", "features@2024-01-03",
                                  "features@2024-01-04"]
    assert {r.outcome for r in report.results} == {Outcome.RAN}


def test_concurrency_limit_is_never_exceeded_and_is_used(repo: Repo) -> None:
    stamp = 'python3 -c "import time; print(time.time())" >> times/${date}'
    cmd = f"mkdir -p times out && {stamp} && sleep 0.4 && {stamp} && echo > out/${{date}}"
    repo.spec({"slow": {"partition": {"by": "date", "start": "2024-01-01",
                                      "end": "2024-01-08"},
                        "cmd": cmd, "outs": ["out/${date}"]}}, commit="spec")
    report = repo.project().backfill(BackfillOptions("slow", concurrency=3),
                                     ReproOptions(jobs=8))
    assert report.ok
    spans = [tuple(float(x) for x in (repo.path / "times" / f"2024-01-0{d}").read_text()
                   .split()) for d in range(1, 9)]
    assert max_concurrent(spans) == 3


def test_stage_concurrency_and_pools(repo: Repo) -> None:
    stamp = 'python3 -c "import time; print(time.time())" >> times/$GITPIPE_STAGE-${date}'
    cmd = (f"mkdir -p times out && {stamp} && sleep 0.3 && {stamp} && "
           "echo > out/$GITPIPE_STAGE-${date}")
    part = {"by": "date", "start": "2024-01-01", "end": "2024-01-04"}
    repo.spec({
        "a": {"partition": part, "cmd": cmd, "outs": ["out/a-${date}"], "pool": "db"},
        "b": {"partition": part, "cmd": cmd, "outs": ["out/b-${date}"], "pool": "db"},
    })
    repo.gen({".gitpipe/config.yaml": {"pools": {"db": 2}}}, commit="spec")
    assert repo.project().repro(options=ReproOptions(jobs=8)).ok
    spans = [tuple(float(x) for x in p.read_text().split())
             for p in (repo.path / "times").iterdir()]
    assert len(spans) == 8 and max_concurrent(spans) == 2


def test_failing_partition_leaves_others_done_and_is_the_only_rerun(repo: Repo) -> None:
    daily(repo, STRICT)
    repo.gen({"raw/2024-01-06.txt": ""}, commit="empty day")
    done = repo.run("backfill", "features")
    assert done.returncode == 1
    assert "stage 'features@2024-01-06': command exited with code 1" in done.stderr
    assert "| empty input 2024-01-06" in done.stderr
    entries = repo.project().lock_entries
    assert "features@2024-01-05" in entries and "features@2024-01-06" not in entries
    assert "agg@2024-01-07" in entries and "report" not in entries
    repo.ran()
    repo.gen({"raw/2024-01-06.txt": "fixed\n"})
    repo.run("backfill", "features", check=True)
    assert sorted(repo.ran()) == ["agg@2024-01-06", "features@2024-01-06", "report"]


def test_sensor_waits_without_a_slot_then_runs(repo: Repo) -> None:
    daily(repo, wait_for={"path": "landing/${date}/_SUCCESS", "timeout": "20s",
                          "poke": "0.1s"})
    for day in RAW_DAYS:
        if day != "2024-01-04":
            (repo.path / "landing" / day).mkdir(parents=True)
            (repo.path / "landing" / day / "_SUCCESS").write_text("")

    def land_late() -> None:
        time.sleep(1.0)
        (repo.path / "landing/2024-01-04").mkdir(parents=True)
        (repo.path / "landing/2024-01-04/_SUCCESS").write_text("")

    thread = threading.Thread(target=land_late)
    thread.start()
    report = repo.project().backfill(BackfillOptions("features", downstream=False),
                                     ReproOptions(jobs=1))
    thread.join()
    assert report.ok
    ran = repo.ran()
    # With one job, nine partitions ran while 2024-01-04's sensor waited: it held no slot.
    assert ran[-1] == "features@2024-01-04" and len(ran) == 10


def test_sensor_timeout_names_the_path(repo: Repo) -> None:
    daily(repo, wait_for={"path": "landing/${date}/_SUCCESS", "timeout": "0.5s",
                          "poke": "0.1s"})
    report = repo.project().backfill(BackfillOptions("features", "2024-01-02", "2024-01-02",
                                                     downstream=False))
    result = report.results[0]
    assert result.outcome is Outcome.FAILED
    assert "waiting for 'landing/2024-01-02/_SUCCESS'" in result.message
    assert repo.ran() == []


@pytest.mark.parametrize(("freq", "end", "count", "last"), [
    ("hourly", "2024-01-02", 48, "2024-01-02T23"),
    ("monthly", "2024-12-31", 12, "2024-12-01"),
    ("weekly", "2024-01-31", 5, "2024-01-29"),
])
def test_granularities(repo: Repo, freq: str, end: str, count: int, last: str) -> None:
    var = "${date}"
    repo.spec({"p": {"partition": {"by": "date", "start": "2024-01-01", "end": end,
                                   "freq": freq},
                     "cmd": f"mkdir -p o && echo {var} > o/{var}", "outs": [f"o/{var}"]}},
              commit="spec")
    report = repo.project().repro(options=ReproOptions(jobs=4))
    assert report.ok and len(report.results) == count
    assert report.results[-1].task == f"p@{last}"
    assert repo.read(f"o/{last}") == f"{last}\n"


def test_hour_variable(repo: Repo) -> None:
    repo.spec({"p": {"partition": {"by": "date", "start": "2024-01-01T22", "end": "2024-01-01T23",
                                   "freq": "hourly"},
                     "cmd": "echo ${hour} > h${hour}", "outs": ["h${hour}"]}}, commit="spec")
    assert repo.project().repro().ok
    assert repo.read("h23") == "23\n"


@pytest.mark.parametrize(("args", "message"), [
    (["--start", "2024-01-05", "--end", "2024-01-02"], "start 2024-01-05 is after end"),
    (["--start", "2024-13-01"], "'2024-13-01' is not a date"),
    (["--start", "2023-12-01"], "outside the stage's declared range 2024-01-01..2024-01-10"),
])
def test_bad_backfill_ranges_exit_2(repo: Repo, args: list, message: str) -> None:
    daily(repo)
    done = repo.run("backfill", "features", *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert ("hint: the partitions of 'features' run from 2024-01-01 to 2024-01-10 (daily, 10 "
            "partitions); --start and --end take YYYY-MM-DD") in done.stderr
    # Airflow's backfill past start_date is refused there too; what to change is said.
    assert "'start:'/'end:' under the stage's 'partition:' in gitpipe.yaml" in done.stderr


@pytest.mark.parametrize(("partition", "cmd", "message"), [
    ({"by": "date", "start": "2024-01-01", "end": "2024-01-02", "freq": "yearly"}, "x",
     "unknown freq 'yearly'"),
    ({"by": "date", "start": "2024-02-01", "end": "2024-01-02"}, "x",
     "start 2024-02-01 is after end 2024-01-02"),
    ({"by": "date", "start": "2024-01-01", "end": "2024-01-02"}, "echo ${dtae}",
     "unknown variable ${dtae} (did you mean 'date'?)"),
    (None, "echo ${date}", "cmd uses ${date}, which is not defined"),
])
def test_bad_partition_specs_exit_2(repo: Repo, partition, cmd: str, message: str) -> None:
    stage = {"cmd": cmd, "outs": ["o"]}
    if partition:
        stage["partition"] = partition
    repo.spec({"s": stage})
    done = repo.run("validate")
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_unpartitioned_stage_cannot_be_backfilled(repo: Repo) -> None:
    repo.spec({"plain": {"cmd": "echo > o", "outs": ["o"]}})
    done = repo.run("backfill", "plain")
    assert done.returncode == 2 and "stage 'plain' is not partitioned" in done.stderr


@pytest.mark.slow
def test_a_year_of_hourly_partitions(repo: Repo) -> None:
    repo.spec({"h": {"partition": {"by": "date", "start": "2024-01-01", "end": "2024-12-31",
                                   "freq": "hourly"},
                     "cmd": "echo ${date} > out/${date}", "deps": ["in/${date}.csv"],
                     "outs": ["out/${date}"]}}, commit="spec")
    report = repo.project().status()
    assert len(report.tasks) == 8784
    assert all(str(v.reasons[0]) == "new partition" for v in report.tasks)
    done = repo.run("status")
    assert "h@2024-01-01T00 … 2024-12-31T23 (8784 of 8784):\n    new partition\n" in done.stdout


def test_progress_line_counts_and_estimates() -> None:
    from gitpipe.cli.console import Ui
    from gitpipe.cli.progress import RunProgress
    from gitpipe.engine.reports import Event

    seen: list[Event] = []
    progress = RunProgress(Ui(), "backfill", total=4)
    listener = progress.wrap(seen.append)
    for task, kind in (("p@1", "start"), ("p@2", "start"), ("p@1", "done"), ("p@2", "fail")):
        listener(Event(task, kind))
    line = progress.line()
    assert line.startswith("2/4  ran 1  running 0  waiting 2  failed 1  elapsed ")
    assert " eta " in line and len(seen) == 4


def test_each_partition_sees_its_own_values_and_the_callers_environment(repo: Repo) -> None:
    # The executor copies the caller's environment once per run; every command
    # still gets its own GITPIPE_* values on top of it.
    repo.spec({"p": {"partition": {"by": "date", "start": "2024-01-01", "end": "2024-01-06"},
                     "cmd": 'mkdir -p out && echo "$GITPIPE_PARTITION $FROM_CALLER" > '
                            "out/${date}.txt",
                     "outs": ["out/${date}.txt"]}}, commit="spec")
    done = repo.run("backfill", "p", "-c", "3", env={"FROM_CALLER": "hello"})
    assert done.returncode == 0, done.stderr
    for day in range(1, 7):
        assert repo.read(f"out/2024-01-0{day}.txt") == f"2024-01-0{day} hello\n"


def test_force_dry_run_names_what_the_forced_partitions_may_rerun_downstream(
        repo: Repo) -> None:
    """backfill --force --dry-run says the downstream tasks, as the run judges
    them after the forced partitions: they `may run`, only if the forced
    outs change; --no-downstream leaves them out."""
    daily(repo)
    repo.project().repro()
    said = repo.run("backfill", "features", "--start", "2024-01-03", "--end", "2024-01-03",
                    "--force", "--dry-run", check=True).stdout
    assert said == ("would run features@2024-01-03: forced\n"
                    "may run agg@2024-01-03: upstream: features@2024-01-03\n"
                    "may run report: upstream: agg@2024-01-03\n"
                    "1 of 3 stages would run (1 of 10 partitions), 2 tasks may run "
                    "(if the outs above them change)\n"), said
    alone = repo.run("backfill", "features", "--start", "2024-01-03", "--end", "2024-01-03",
                     "--force", "--dry-run", "--no-downstream", check=True).stdout
    assert alone == ("would run features@2024-01-03: forced\n"
                     "1 of 1 stage would run (1 of 10 partitions)\n"), alone


def test_force_dry_run_says_what_runs_below_a_non_deterministic_stage(repo: Repo) -> None:
    """Right below a forced `deterministic: false` partition a task reruns
    whatever its outs hold: the dry run says it will run (it said `may
    run`), as the run then does; below that one, only if its outs change."""
    daily(repo, deterministic=False)
    repo.project().repro()
    repo.ran()  # read: what ran from here on is the backfill's
    range_ = ("features", "--start", "2024-01-03", "--end", "2024-01-03", "--force")
    said = repo.run("backfill", *range_, "--dry-run", check=True).stdout
    assert said == ("would run features@2024-01-03: forced; non-deterministic: downstream "
                    "reruns whenever it runs\n"
                    "would run agg@2024-01-03: upstream: features@2024-01-03\n"
                    "may run report: upstream: agg@2024-01-03\n"
                    "2 of 3 stages would run (features: 1 of 10 partitions, agg: 1 of 10 "
                    "partitions), 1 task may run (if the outs above them change)\n"), said
    repo.run("backfill", *range_, check=True)
    assert sorted(repo.ran()) == ["agg@2024-01-03", "features@2024-01-03"]


def test_counts_of_partitions_are_per_stage(repo: Repo) -> None:
    """Two partitioned stages of 10 days each: a count of `1 of 20
    partitions` reads as one stage's 20; each stage's partitions are counted
    apart, and named where more than one stage has some."""
    daily(repo)
    repo.project().repro()
    (repo.path / "raw" / "2024-01-03.txt").write_text("changed\n")
    dry = repo.run("backfill", "features", "--start", "2024-01-03", "--end", "2024-01-03",
                   "--dry-run", check=True).stdout
    assert dry.endswith("3 of 3 stages would run (features: 1 of 10 partitions, "
                        "agg: 1 of 10 partitions)\n"), dry
    said = repo.run("status").stdout
    assert "3 of 3 stages stale (features: 1 of 10 partitions, agg: 1 of 10 partitions)" \
        in said, said


def test_a_forced_backfill_that_stops_keeps_what_it_never_started(repo: Repo) -> None:
    """`backfill --force` clears each partition's lock entry ("clear state");
    a run stopped by Ctrl-C cleared those it never reached too, and status
    then called partitions computed and recorded `new partition`."""
    days = ("2024-01-01", "2024-01-02", "2024-01-03")
    repo.spec({"day": {"partition": {"by": "date", "start": days[0], "end": days[-1]},
                       "cmd": "if test -f slow-${date}; then touch started; sleep 60; fi; "
                              "mkdir -p out && echo ${date} > out/${date}.txt",
                       "outs": ["out/${date}.txt"]}}, commit="spec")
    assert repo.run("repro").returncode == 0
    repo.gen({f"slow-{days[0]}": "x"})
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gitpipe", "backfill", "day", "--start",
                             days[0], "--end", days[-1], "--force", "-j", "1"],
                            cwd=repo.path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (repo.path / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "cancelled" in out, out
    status = repo.run("status", "--json")
    stale = {task["task"]: task["reasons"] for task in json.loads(status.stdout)["stages"]
             if task["stale"]}
    assert set(stale) == {f"day@{days[0]}"}, stale  # the interrupted one alone
    assert all(f"day@{day}:" in repo.read("gitpipe.lock") for day in days[1:])
