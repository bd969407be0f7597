"""Output that scales: a year of daily partitions upstream reads as a few lines in
status, repro --dry-run and dag; long lists are cut with a count that --all lifts."""

from __future__ import annotations

import datetime as dt
import json

from tests.conftest import Repo

YEAR = [str(dt.date(2024, 1, 1) + dt.timedelta(days=n)) for n in range(366)]


def a_year(repo: Repo) -> Repo:
    """`raw` over every day of 2024 (nothing run yet), `features` over all of
    it, `train` after `features`."""
    repo.gen({f"in/{day}.csv": f"{day}\n" for day in YEAR})
    repo.spec({
        "raw": {"partition": {"by": "date", "start": "2024-01-01", "end": "2024-12-31"},
                "cmd": "mkdir -p data/raw && cp in/${date}.csv data/raw/${date}.csv",
                "deps": ["in/${date}.csv"], "outs": ["data/raw/${date}.csv"]},
        "features": {"cmd": "cat data/raw/*.csv > features.csv", "deps": ["data/raw/"],
                     "outs": ["features.csv"]},
        "train": {"cmd": "wc -l < features.csv > model.txt", "deps": ["features.csv"],
                  "outs": ["model.txt"]},
    }, commit="a year of partitions")
    return repo


def test_status_groups_a_year_of_partitions_and_their_upstream_reasons(repo: Repo) -> None:
    a_year(repo)
    out = repo.run("status", check=True).stdout
    assert out == (
        "raw@2024-01-01 … 2024-12-31 (366 of 366):\n"
        "    new partition\n"
        "features:\n"
        "    new stage\n"
        "    upstream: raw@2024-01-01 … 2024-12-31 (366)\n"
        "train:\n"
        "    new stage\n"
        "    upstream: features\n"
        "3 of 3 stages stale (366 of 366 partitions)\n")
    # JSON gives every partition and every reason.
    data = json.loads(repo.run("status", "--json", check=True).stdout)
    features = next(s for s in data["stages"] if s["name"] == "features")
    assert len(features["reasons"]) == 367


def test_gaps_split_the_runs_and_many_runs_are_cut_until_all(repo: Repo) -> None:
    a_year(repo)
    assert repo.run("repro", "-j", "4", check=True).returncode == 0
    # Every other day of the first twenty changes: ten runs of one day, and a
    # three-day run in March.
    changed = [*YEAR[0:20:2], "2024-03-01", "2024-03-02", "2024-03-03"]
    repo.gen({f"in/{day}.csv": "changed\n" for day in changed})
    out = repo.run("status").stdout
    assert ("raw@2024-01-01, 2024-01-03, 2024-01-05, 2024-01-07, 2024-01-09, 2024-01-11, "
            "2024-01-13, 2024-01-15, and 3 more runs (13 of 366):\n"
            "    deps: in/${date}.csv modified\n") in out
    assert "    upstream: raw@2024-01-01, 2024-01-03" in out and "(13)\n" in out
    everything = repo.run("status", "--all").stdout
    assert "2024-01-19, 2024-03-01 … 2024-03-03 (13 of 366):" in everything
    assert "more runs" not in everything


def test_dry_run_lines_stay_short(repo: Repo) -> None:
    a_year(repo)
    out = repo.run("repro", "--dry-run", check=True).stdout
    assert out.splitlines() == [
        "would run raw@2024-01-01 … 2024-12-31 (366 of 366): new partition",
        "would run features: new stage; upstream: raw@2024-01-01 … 2024-12-31 (366)",
        "would run train: new stage; upstream: features",
        "3 of 3 stages would run (366 of 366 partitions)"]


def test_dag_draws_a_partitioned_stage_as_one_line_until_all(repo: Repo) -> None:
    a_year(repo)
    lines = repo.run("dag", "--format", "list", check=True).stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["raw@2024-01-01", "features", "train"]
    assert lines[1].endswith("<- raw@2024-01-01 … 2024-12-31 (366)")
    every = repo.run("dag", "--all", "--format", "list", check=True).stdout.splitlines()
    assert len(every) == 368 and every[-2].startswith("features ")
    assert every[-2].count("raw@") == 366


def test_dag_says_a_partition_waits_for_the_same_date_upstream(repo: Repo) -> None:
    days = {"start": "2024-01-01", "end": "2024-01-31"}
    repo.spec({
        "a": {"partition": {"by": "date", **days}, "cmd": "mkdir -p a && echo > a/${date}",
              "outs": ["a/${date}"]},
        "b": {"partition": {"by": "date", **days}, "cmd": "mkdir -p b && cp a/${date} b/",
              "deps": ["a/${date}"], "outs": ["b/${date}"]},
    }, commit="chain")
    lines = repo.run("dag", "--format", "list", check=True).stdout.splitlines()
    assert lines == ["a@2024-01-01 … 2024-01-31 (31)",
                     "b@2024-01-01 … 2024-01-31 (31)  <- a@${date}"]



def test_dag_names_an_item_waiting_for_the_same_item_as_status_does(repo: Repo) -> None:
    """foreach nodes that each wait for the item of the same name upstream
    read `train@${item}` (a mapping's `train@${key}`), as status's
    `upstream:` line says it: not `${date}`, which no item is."""
    repo.gen({"params.yaml": "models: [a, b]\nsizes: {s: 1, m: 2}\n"})
    repo.spec({
        "train": {"foreach": "${models}", "do": {"cmd": "echo ${item} > ${item}.m",
                                                  "outs": ["${item}.m"]}},
        "evaluate": {"foreach": "${models}", "do": {"cmd": "cp ${item}.m ${item}.e",
                                                     "deps": ["${item}.m"],
                                                     "outs": ["${item}.e"]}},
        "fit": {"foreach": "${sizes}", "do": {"cmd": "echo ${item} > ${key}.f",
                                              "outs": ["${key}.f"]}},
        "score": {"foreach": "${sizes}", "do": {"cmd": "cp ${key}.f ${key}.s",
                                                "deps": ["${key}.f"], "outs": ["${key}.s"]}},
    }, commit="items")
    lines = repo.run("dag", "--format", "list", check=True).stdout.splitlines()
    assert "evaluate@a, evaluate@b (2)  <- train@${item}" in lines, lines
    assert "score@s, score@m (2)        <- fit@${key}" in lines, lines
    assert "    upstream: train@${item}" in repo.run("status").stdout.splitlines()

def test_many_stale_stages_are_cut_with_a_count(repo: Repo) -> None:
    repo.spec({f"s{n:02d}": {"cmd": f"echo {n} > o{n}", "outs": [f"o{n}"]} for n in range(45)},
              commit="many")
    out = repo.run("status").stdout.splitlines()
    assert out[-2:] == ["… and 15 more; --all shows every one", "45 of 45 stages stale"]
    assert sum(line.endswith(":") for line in out) == 30
    every = repo.run("status", "--all").stdout.splitlines()
    assert sum(line.endswith(":") for line in every) == 45 and "more" not in every[-2]
    dry = repo.run("repro", "--dry-run").stdout.splitlines()
    assert len(dry) == 32 and dry[-2] == "… and 15 more; --all shows every one"
    assert len(repo.run("repro", "--dry-run", "--all").stdout.splitlines()) == 46
    table = repo.run("repro", check=True).stdout.split("\nto track the changes")[0].splitlines()
    assert table[-2:] == ["… and 5 more rows; --all shows every one", "45 ran"]
    assert sum(line.split()[:2] == [line.split()[0], "ran"] and line.startswith("s")
               for line in table) == 40


def test_a_no_op_repro_of_a_large_pipeline_prints_no_empty_table(repo: Repo) -> None:
    a_year(repo)
    repo.run("repro", "-j", "4", check=True)
    out = repo.run("repro", check=True).stdout
    assert out == "everything is up to date: 368 skipped\n"


def test_a_large_repro_table_groups_partitions_that_ran_alike(repo: Repo) -> None:
    a_year(repo)
    lines = repo.run("repro", "-j", "4", check=True).stdout.split("\nto track")[0].splitlines()
    table = lines[lines.index(next(x for x in lines if x.startswith("stage "))):]
    assert [row.split()[0] for row in table] == ["stage", "raw@2024-01-01", "features",
                                                 "train", "368"]
    assert "(366 of 366)  ran" in table[1] and table[1].endswith("new partition")
    assert table[-1] == "368 ran"


def test_partitions_picked_by_name_are_runs_of_the_whole_range(repo: Repo) -> None:
    a_year(repo)
    picked = ["raw@2024-05-01", "raw@2024-05-02", "raw@2024-05-03", "raw@2024-05-07"]
    out = repo.run("status", *picked).stdout
    assert out.startswith("raw@2024-05-01 … 2024-05-03, 2024-05-07 (4 of 366):\n")
    dry = repo.run("repro", "--dry-run", *picked).stdout
    assert dry.startswith("would run raw@2024-05-01 … 2024-05-03, 2024-05-07 (4 of 366): ")
    # the count says what the entry's title says: of the stage's partitions
    backfill_dry = repo.run("backfill", "raw", "--start", "2024-05-01", "--end", "2024-05-02",
                            "--dry-run").stdout
    assert "1 of 1 stage would run (4 of 366 partitions)" in dry, dry
    assert "3 of 3 stages would run (2 of 366 partitions)" in backfill_dry, backfill_dry
    repo.run("repro", *picked, check=True)
    # The other days' outs made by hand: commit records 362 partitions.
    repo.gen({f"data/raw/{day}.csv": "by hand\n" for day in YEAR
              if f"raw@{day}" not in picked})
    done = repo.run("commit", "raw")
    assert done.stdout.startswith("committed 362 partitions: raw@2024-01-01 … 2024-04-30, "
                                  "2024-05-04 … 2024-05-06, 2024-05-08 … 2024-12-31 (362)")
