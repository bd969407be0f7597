"""Messages that say what is true: the hint after a failed run, a stage that
never completed, the hook's reasons, numbers that overflow, counts, backfill
ranges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Repo

PULL_HINT = ("hint: outs that gitpipe.lock records are missing: 'gitpipe pull' fetches "
             "them from the remote (a fresh clone?), 'gitpipe checkout' puts them back from "
             "the local cache (deleted here?)")


def test_a_failed_run_that_lost_an_out_points_at_repro_not_pull(repo: Repo,
                                                                 tmp_path: Path) -> None:
    repo.spec({"make": {"cmd": "echo made > made.txt", "outs": ["made.txt"]}})
    repo.run("init", check=True)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    repo.run("repro", check=True)
    repo.run("push", check=True)
    repo.spec({"make": {"cmd": "rm made.txt && exit 3", "outs": ["made.txt"]}})
    assert repo.run("repro").returncode != 0
    out = repo.run("status").stdout.splitlines()
    assert "    outs: made.txt missing" in out
    assert PULL_HINT not in out
    assert out[-1] == ("hint: 'make' no longer matches gitpipe.lock (changed since, or its "
                       "last run failed): 'gitpipe repro' rebuilds its outs; 'gitpipe pull' "
                       "would restore stale ones")
    # What the pull hint would have led to: the old out back, the stage still stale.
    repo.run("pull", check=True)
    assert ("make:\n    cmd changed: echo made > made.txt -> rm made.txt && exit 3\n"
            in repo.run("status").stdout)


def test_env_changed_names_the_variables_and_hides_a_secret(repo: Repo) -> None:
    stage = {"cmd": "echo $MODE > o.txt", "outs": ["o.txt"],
             "env": {"MODE": "fast", "API_TOKEN": "tok-zero-1"}}
    repo.spec({"s": stage})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.run("hooks", "install", check=True)
    repo.commit("built")
    repo.spec({"s": {**stage, "env": {"MODE": "slow", "API_TOKEN": "hunter2-secret",
                                      "SEED": "7"}}})
    said = "env changed: API_TOKEN changed (a secret); MODE fast -> slow; SEED added (7)"
    status = repo.run("status").stdout
    assert f"    {said}\n" in status, status
    repo.git("add", "-A")  # the hook judges what a commit would hold
    refused = repo.run("hooks", "run", "pre-commit")
    assert refused.returncode != 0
    assert f"  s:\n      {said}" in refused.stderr, refused.stderr
    detail = json.loads(repo.run("status", "--json").stdout)["stages"][0]["reasons_detail"][0]
    assert (detail["subject"], detail["old"], detail["new"]) == (
        "API_TOKEN, MODE, SEED", {"API_TOKEN": None, "MODE": "fast"},
        {"API_TOKEN": None, "MODE": "slow", "SEED": "7"})
    everything = status + refused.stdout + refused.stderr + json.dumps(detail)
    assert "hunter2" not in everything and "tok-zero-1" not in everything


def test_env_changed_without_the_env_before_names_the_env_now(repo: Repo) -> None:
    # The lock entry records a run of a spec no commit holds: the env it ran
    # with is known by its digest alone.
    repo.spec({"s": {"cmd": "echo $MODE > o.txt", "outs": ["o.txt"], "env": {"MODE": "a"}}},
              commit="spec")
    repo.spec({"s": {"cmd": "echo $MODE > o.txt", "outs": ["o.txt"], "env": {"MODE": "b"}}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.spec({"s": {"cmd": "echo $MODE > o.txt", "outs": ["o.txt"],
                     "env": {"MODE": "c", "DB_PASSWORD": "pw-9"}}})
    status = repo.run("status").stdout
    assert "    env changed (now DB_PASSWORD=<secret>, MODE=c)\n" in status, status
    assert "pw-9" not in status


@pytest.mark.parametrize(("name", "text"), [
    ("params.yaml", "train:\n  lr: 1e400\n"),
    ("params.json", '{"train": {"lr": 1e400}}'),
    ("params.toml", "[train]\nlr = 1e400\n"),
])
def test_a_number_that_overflows_is_refused_with_file_and_key(repo: Repo, name: str,
                                                              text: str) -> None:
    repo.gen({name: text})
    repo.spec({"train": {"cmd": "echo x > o.txt", "params": [{name: ["train.lr"]}],
                         "outs": ["o.txt"]}})
    repo.run("init", check=True)
    for command in ("status", "validate", "repro"):
        done = repo.run(command)
        assert done.returncode != 0, (command, done.stdout)
        assert f"error: {name}: key 'train.lr': 1e400 is beyond a number's range" \
            in done.stderr, (command, done.stderr)
        assert "Traceback" not in done.stderr
    assert not (repo.path / "o.txt").exists()


def test_infinity_written_as_such_is_still_a_number(repo: Repo) -> None:
    repo.gen({"params.yaml": "lr: .inf\n"})
    repo.spec({"train": {"cmd": "echo x > o.txt", "params": ["lr"], "outs": ["o.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.gen({"params.yaml": "lr: 1.0e+2\n"})
    assert "    params: lr inf -> 100.0\n" in repo.run("status").stdout


def days(repo: Repo) -> Repo:
    repo.spec({"day": {"partition": {"by": "date", "start": "2024-01-01", "end": "2024-01-10"},
                       "cmd": "mkdir -p d && echo ${date} > d/${date}.txt",
                       "outs": ["d/${date}.txt"]}})
    repo.run("init", check=True)
    return repo


@pytest.mark.parametrize(("start", "end", "outside"), [
    ("2023-12-30", "2024-01-03", "2023-12-30..2023-12-31 is before it"),
    ("2024-01-08", "2024-01-11", "2024-01-11 is after it"),
    ("2023-12-31", "2024-01-12", "2023-12-31 is before it and 2024-01-11..2024-01-12 is after it"),
])
def test_a_backfill_range_partly_outside_says_which_part(repo: Repo, start: str, end: str,
                                                         outside: str) -> None:
    days(repo)
    done = repo.run("backfill", "day", "--start", start, "--end", end)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(
        f"error: backfill 'day': range {start}..{end} reaches outside the stage's declared "
        f"range 2024-01-01..2024-01-10: {outside}\n"), done.stderr
    assert not (repo.path / "d").exists()


def test_a_backfill_range_wholly_outside_is_called_outside(repo: Repo) -> None:
    days(repo)
    done = repo.run("backfill", "day", "--start", "2024-02-01", "--end", "2024-02-03")
    assert done.returncode == 2
    assert done.stderr.startswith("error: backfill 'day': range 2024-02-01..2024-02-03 is "
                                  "outside the stage's declared range 2024-01-01..2024-01-10\n")


def test_backfill_force_says_forced_not_new(repo: Repo) -> None:
    days(repo)
    repo.run("backfill", "day", "--start", "2024-01-01", "--end", "2024-01-02", check=True)
    args = ("backfill", "day", "--start", "2024-01-01", "--end", "2024-01-02", "--force")
    planned = repo.run(*args, "--dry-run", check=True).stdout
    assert "would run day@2024-01-01, 2024-01-02 (2 of 10): forced\n" in planned, planned
    done = repo.run(*args, check=True)
    assert "new partition" not in done.stdout + done.stderr
    assert "forced" in done.stdout.split("\n2 ran\n")[0].splitlines()[-1], done.stdout
    assert "2 ran" in done.stdout


def test_a_stage_whose_only_run_failed_is_not_called_new(repo: Repo) -> None:
    repo.spec({"fit": {"cmd": "exit 4", "outs": ["model.bin"]},
               "other": {"cmd": "echo o > o.txt", "outs": ["o.txt"]}})
    repo.run("init", check=True)
    assert "    new stage\n" in repo.run("status").stdout  # never run: it is new
    assert repo.run("repro", "fit").returncode != 0
    out = repo.run("status").stdout
    assert "fit:\n    never completed: its last run failed\n" in out, out
    assert "other:\n    new stage\n" in out, out
    detail = json.loads(repo.run("status", "--json").stdout)["stages"][0]["reasons_detail"][0]
    assert (detail["kind"], detail["new"]) == ("new", "failed")
    drawn = json.loads(repo.run("dag", "--format", "json", "--status", check=True).stdout)
    assert drawn["states"]["fit"] == {"state": "failed", "reasons": ["its last run failed"]}


def test_status_and_validate_count_stages_alike(repo: Repo) -> None:
    repo.spec({"one": {"cmd": "echo 1 > one.txt", "outs": ["one.txt"]},
               "day": {"partition": {"by": "date", "start": "2024-01-01", "end": "2024-01-03"},
                       "cmd": "mkdir -p d && echo ${date} > d/${date}.txt",
                       "outs": ["d/${date}.txt"]},
               "each": {"foreach": ["a", "b"],
                        "do": {"cmd": "echo ${item} > e-${item}.txt", "outs": ["e-${item}.txt"]}}})
    repo.run("init", check=True)
    valid = repo.run("validate", check=True).stdout
    assert valid == ("gitpipe.yaml is valid: 3 stages (3 partitions, 2 items), "
                     "0 dependency edges\n")
    assert repo.run("status").stdout.endswith("3 of 3 stages stale (3 of 3 partitions, "
                                              "2 of 2 items)\n")
    repo.run("repro", "day@2024-01-01", "each@a", check=True)
    assert repo.run("status").stdout.endswith("3 of 3 stages stale (2 of 3 partitions, "
                                              "1 of 2 items)\n")
    planned = repo.run("repro", "--dry-run").stdout
    assert planned.endswith("3 of 3 stages would run (2 of 3 partitions, 1 of 2 items)\n")


def test_a_missing_script_is_not_offered_the_folder_of_its_name(repo: Repo) -> None:
    """A file's near miss is a file: `prep/` beside a missing `prep.py` is not
    what the user meant, while `prep.sh` may be."""
    repo.gen({"prep/x.csv": "x\n", "src/prep.sh": "true\n"})
    repo.spec({"prep": {"cmd": "python prep.py", "deps": ["prep.py"], "outs": ["p.csv"]},
               "src": {"cmd": "sh src/prep.py", "deps": ["src/prep.py"], "outs": ["q.csv"]}})
    repo.run("init", check=True)
    said = repo.run("validate").stderr
    assert "dependency 'prep.py' does not exist" in said, said
    assert "did you mean 'prep'" not in said, said
    assert "(did you mean 'src/prep.sh'?)" in said, said


def test_validate_says_where_a_dep_nothing_provides_is_and_what_repro_does(repo: Repo) -> None:
    repo.gen({"data/raw.csv": "x\n"})
    repo.spec({"clean": {"cmd": "cat data/rwa.csv > c.csv", "deps": ["data/rwa.csv"],
                         "outs": ["c.csv"]}})
    repo.run("init", check=True)
    done = repo.run("validate")
    assert done.returncode == 0  # data may arrive before a run: a warning, not an error
    assert done.stderr == (
        "warning: gitpipe.yaml:2: stage 'clean': dependency 'data/rwa.csv' does not exist and "
        "no stage declares it as an out: 'gitpipe repro' refuses to run the stage until it "
        "exists (did you mean 'data/raw.csv'?)\n")
    refused = repo.run("repro")
    assert refused.returncode != 0
    assert "stage 'clean': dependency 'data/rwa.csv' does not exist" in refused.stderr
