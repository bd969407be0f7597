"""A frozen stage (`frozen: true`) is neither judged nor run: status and repro
say it is frozen, and that one that never ran has no outs recorded, instead
of calling it up to date (DVC marks frozen stages too). It still never runs."""

from __future__ import annotations

import json

from tests.conftest import Repo

SPEC = {"make": {"cmd": "echo made > made.txt", "outs": ["made.txt"], "frozen": True},
        "other": {"cmd": "echo o > o.txt", "outs": ["o.txt"]}}
NEVER_RAN = "frozen (frozen: true) and never run: no outs recorded"
RAN = "frozen (frozen: true): not checked for changes"


def _why(table: str, stage: str) -> str:
    """The `why` cell of a stage's row of the repro table."""
    row = next(line for line in table.splitlines() if line.startswith(stage + " "))
    return row.split("skipped", 1)[1].strip()


def test_a_frozen_stage_that_never_ran_is_said_so_by_repro_and_status(repo: Repo) -> None:
    repo.spec(SPEC, commit="spec")
    first = repo.run("repro")
    assert first.returncode == 0, first.stderr
    assert _why(first.stdout, "make") == NEVER_RAN, first.stdout
    assert not (repo.path / "made.txt").exists()  # said, never run
    for _ in range(2):  # the second answers from the no-op seal: the same words
        repro_table = repo.run("repro")
        assert repro_table.returncode == 0, repro_table.stderr
        assert _why(repro_table.stdout, "make") == NEVER_RAN, repro_table.stdout
        assert _why(repro_table.stdout, "other") == "up to date", repro_table.stdout
        status = repo.run("status")
        assert status.returncode == 0, status.stderr
        assert status.stdout.splitlines() == [
            "everything is up to date",
            "note: frozen (frozen: true) and never run, so no outs are recorded: make",
            "hint: remove 'frozen: true' to let 'gitpipe repro' run it"], status.stdout
    assert repo.run("status", "--check").returncode == 0  # frozen is not stale
    rows = {row["name"]: row for row in json.loads(repo.run("status", "--json").stdout)["stages"]}
    assert rows["make"]["stale"] is False
    assert rows["make"]["note"]["kind"] == "frozen" and rows["make"]["note"]["text"] == NEVER_RAN
    assert rows["other"]["note"] is None
    tasks = {t["task"]: t for t in json.loads(repo.run("repro", "--json").stdout)["tasks"]}
    assert tasks["make"]["outcome"] == "skipped" and tasks["make"]["reasons"] == [NEVER_RAN]
    assert tasks["make"]["reasons_detail"][0]["kind"] == "frozen"
    planned = json.loads(repo.run("repro", "--dry-run", "--json").stdout)["tasks"]
    dry = {t["task"]: t for t in planned}
    assert dry["make"]["outcome"] == "skipped" and dry["make"]["reasons"] == [NEVER_RAN]
    assert not (repo.path / "made.txt").exists()


def test_a_frozen_stage_that_ran_is_said_frozen_not_up_to_date(repo: Repo) -> None:
    spec = {**SPEC, "make": {**SPEC["make"], "frozen": False}}
    repo.spec(spec, commit="spec")
    assert repo.run("repro").returncode == 0
    repo.spec(SPEC, commit="frozen")
    done = repo.run("repro")
    assert _why(done.stdout, "make") == RAN, done.stdout
    status = repo.run("status")
    assert status.stdout == "everything is up to date\n", status.stdout  # nothing to do here
    rows = {row["name"]: row for row in json.loads(repo.run("status", "--json").stdout)["stages"]}
    assert rows["make"]["note"]["text"] == RAN


def test_a_dry_run_names_a_frozen_stage_that_never_ran_as_status_does(repo: Repo) -> None:
    repo.spec(SPEC, commit="spec")
    note = ["note: frozen (frozen: true) and never run, so no outs are recorded: make",
            "hint: remove 'frozen: true' to let 'gitpipe repro' run it"]
    planned = repo.run("repro", "--dry-run")
    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.splitlines() == [
        "would run other: new stage", "1 of 2 stages would run", *note], planned.stdout
    assert repo.run("repro").returncode == 0
    idle = repo.run("repro", "--dry-run")
    assert idle.stdout.splitlines() == ["everything is up to date: nothing would run", *note]
    assert not (repo.path / "made.txt").exists()
