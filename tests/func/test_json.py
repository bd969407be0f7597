"""`--json` on every command a script reads: one document on stdout, valid
against docs/reference/schemas/gitpipe.schema.json, with the values the run had."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import Repo, ran_cmd

SCHEMA_FILE = Path(__file__).parents[2] / "docs" / "reference" / "schemas" / "gitpipe.schema.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text())


def document(done: subprocess.CompletedProcess, kind: str) -> dict[str, Any]:
    """The one JSON document on stdout, checked against the schema and its kind."""
    lines = done.stdout.splitlines()
    assert len(lines) == 1, (done.stdout, done.stderr)
    doc = json.loads(lines[0])
    jsonschema.validate(doc, SCHEMA)
    assert doc["schema"] == 1 and doc["kind"] == kind, doc
    return doc


def two_stages(repo: Repo, fail: bool = False) -> Repo:
    second = "cat o > p && echo broken && exit 3" if fail else "cat o > p"
    repo.gen({"params.yaml": "lr: 0.1\n"})
    repo.spec({"a": {"cmd": ran_cmd("a", "echo hello && echo x > o"), "params": ["lr"],
                     "outs": ["o"]},
               "b": {"cmd": ran_cmd("b", second), "deps": ["o"], "outs": ["p"]}})
    repo.run("init", check=True)
    repo.commit("pipeline")
    return repo


def test_repro_with_a_failing_stage_prints_the_failure_then_exits_1(repo: Repo) -> None:
    two_stages(repo, fail=True)
    done = repo.run("repro", "--json")
    assert done.returncode == 1
    doc = document(done, "repro")
    assert doc["ok"] is False and doc["dry_run"] is False
    a, b = doc["tasks"]
    assert (a["task"], a["outcome"], a["ok"], a["attempts"]) == ("a", "ran", True, 1)
    assert a["reasons_detail"] == [{"kind": "new", "subject": None, "path": None, "old": None,
                                    "new": None, "text": "new stage"}]
    assert b["outcome"] == "failed" and "exited with code 3" in b["message"]
    assert Path(b["log"]).read_text() == "broken\n" and a["duration"] >= 0
    assert doc["totals"]["tasks"] == 2 and doc["totals"]["ran"] == 1
    assert doc["totals"]["failed"] == 1 and doc["totals"]["skipped"] == 0
    # The stage's output, the live lines and the table went to stderr, not into the document.
    assert "[a] hello" in done.stderr and "hello" not in done.stdout
    assert "failed b" in done.stderr and "hint: the log is" in done.stderr


def test_repro_reasons_carry_old_and_new_values(repo: Repo) -> None:
    two_stages(repo)
    repo.run("repro", check=True)
    repo.gen({"params.yaml": "lr: 0.5\n"})
    doc = document(repo.run("repro", "--json", check=True), "repro")
    a, b = doc["tasks"]
    assert a["reasons"] == ["params: lr 0.1 -> 0.5"]
    assert a["reasons_detail"] == [{"kind": "param", "subject": "lr", "path": None,
                                    "old": 0.1, "new": 0.5, "text": "params: lr 0.1 -> 0.5"}]
    # `o` came out the same: b is judged after a and is not stale (early cutoff).
    assert (a["outcome"], b["outcome"]) == ("ran", "skipped") and doc["ok"] is True
    noop = document(repo.run("repro", "--json", check=True), "repro")
    assert noop["totals"]["skipped"] == noop["totals"]["tasks"] == 2
    assert [t["reasons_detail"] for t in noop["tasks"]] == [[], []]


def test_dry_run_says_what_would_happen_and_which_digests_differ(repo: Repo) -> None:
    two_stages(repo)
    repo.run("repro", check=True)
    repo.ran()
    (repo.path / "o").write_text("changed by hand\n")
    done = repo.run("repro", "--dry-run", "--json", check=True)
    doc = document(done, "repro")
    assert doc["dry_run"] is True
    outcomes = {t["task"]: t["outcome"] for t in doc["tasks"]}
    assert outcomes == {"a": "would_run", "b": "would_run"}
    (modified,) = doc["tasks"][0]["reasons_detail"]
    assert (modified["kind"], modified["path"], modified["text"]) == (
        "out_modified", "o", "outs: o modified")
    assert modified["old"].startswith("xxh3:") and modified["new"].startswith("xxh3:")
    assert modified["old"] != modified["new"]
    upstream = doc["tasks"][1]["reasons_detail"]
    assert [(r["kind"], r["subject"]) for r in upstream] == [("dep_modified", "o"),
                                                             ("upstream", "a")]
    assert doc["totals"] == {"tasks": 2, "would_run": 2, "would_record": 0, "would_fail": 0,
                             "would_block": 0, "skipped": 0}
    assert repo.ran() == []


def test_status_keeps_its_keys_and_adds_the_version_and_detail(repo: Repo) -> None:
    two_stages(repo)
    repo.run("repro", check=True)
    repo.commit("ran")
    repo.gen({"params.yaml": "lr: 2024-03-01\n"})  # YAML reads a date: JSON gets its text
    doc = document(repo.run("status", "--json", check=True), "status")
    assert doc["stale"] is True
    a, b = doc["stages"]
    assert (a["name"], a["partition"], a["task"], a["stale"]) == ("a", None, "a", True)
    assert a["reasons"] == ["params: lr 0.1 -> 2024-03-01"]
    assert a["reasons_detail"] == [{"kind": "param", "subject": "lr", "path": None, "old": 0.1,
                                    "new": "2024-03-01", "text": "params: lr 0.1 -> 2024-03-01"}]
    assert b["reasons"] == ["upstream: a"]
    at = document(repo.run("status", "--rev", "HEAD", "--json", check=True), "status")
    assert at["stale"] is False and [s["reasons_detail"] for s in at["stages"]] == [[], []]


def test_backfill_reports_each_partition(repo: Repo) -> None:
    days = ["2024-01-01", "2024-01-02", "2024-01-03"]
    repo.gen({f"raw/{day}.txt": "" if day == "2024-01-02" else f"day {day}\n" for day in days})
    repo.spec({"feat": {
        "partition": {"by": "date", "start": days[0], "end": days[-1]},
        "cmd": "mkdir -p feat && test -s raw/${date}.txt && cp raw/${date}.txt feat/${date}.txt",
        "deps": ["raw/${date}.txt"], "outs": ["feat/${date}.txt"]}})
    repo.run("init", check=True)
    repo.commit("pipeline")
    done = repo.run("backfill", "feat", "--json")
    assert done.returncode == 1
    doc = document(done, "backfill")
    assert doc["stage"] == "feat" and doc["ok"] is False
    by_day = {t["partition"]: (t["stage"], t["outcome"]) for t in doc["tasks"]}
    assert by_day == {days[0]: ("feat", "ran"), days[1]: ("feat", "failed"),
                      days[2]: ("feat", "ran")}
    assert doc["totals"]["ran"] == 2 and doc["totals"]["failed"] == 1
    dry = document(repo.run("backfill", "feat", "--dry-run", "--json", check=True), "backfill")
    assert [t["outcome"] for t in dry["tasks"]] == ["skipped", "would_run", "skipped"]


def test_validate_counts_and_warns(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "cat in > o", "deps": ["in"], "outs": ["o"]},
               "b": {"cmd": "cat o > p", "deps": ["o"], "outs": ["p"]}})
    repo.run("init", check=True)
    done = repo.run("validate", "--json", check=True)
    doc = document(done, "validate")
    assert (doc["valid"], doc["stages"], doc["tasks"], doc["edges"]) == (True, 2, 2, 1)
    assert doc["warnings"] == [
        "gitpipe.yaml:2: stage 'a': dependency 'in' does not exist and no stage declares it as "
        "an out: 'gitpipe repro' refuses to run the stage until it exists"]
    assert "is valid" in done.stderr


def test_an_invalid_spec_prints_an_error_document_and_exits_2(repo: Repo) -> None:
    repo.run("init", check=True)
    repo.spec({"a": {"cmd": "true", "outz": ["o"]}})
    done = repo.run("validate", "--json")
    assert done.returncode == 2
    doc = document(done, "validate")
    assert doc["ok"] is False and doc["error"]["exit_code"] == 2
    assert any("outz" in problem for problem in doc["error"]["problems"])
    assert "error:" in done.stderr  # the message a person reads is still there


def test_outside_a_project_every_command_prints_an_error_document(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    outside = Repo(tmp_path / "plain", init=False)
    for command in ("repro", "push", "fsck", "gc", "status"):
        done = outside.run(command, "--json")
        assert done.returncode == 2, done
        doc = document(done, command)
        assert doc["error"]["hint"] and "gitpipe.yaml" in doc["error"]["message"]


@pytest.fixture
def pushed(repo: Repo, tmp_path: Path) -> Repo:
    """A project whose outs (a file and a directory) are pushed to a folder remote."""
    repo.spec({"a": {"cmd": "echo x > o && mkdir -p d && echo 1 > d/one && echo 2 > d/two",
                     "outs": ["o", "d/"]}})
    repo.run("init", check=True)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    repo.run("repro", check=True)
    repo.commit("ran")
    return repo


def test_push_fetch_and_pull_count_files_and_bytes(pushed: Repo, tmp_path: Path) -> None:
    doc = document(pushed.run("push", "--json", check=True), "push")
    assert doc["remote"] == {"name": "store", "url": str(tmp_path / "store")}
    assert (doc["files"], doc["skipped"], doc["runs"], doc["failed"]) == (4, 0, 1, [])
    assert doc["bytes"] > 0 and doc["ok"] is True
    again = document(pushed.run("push", "--json", check=True), "push")
    assert (again["files"], again["bytes"], again["skipped"]) == (0, 0, 4)

    clone = pushed.clone_to(tmp_path / "clone")
    fetched = document(clone.run("fetch", "--json", check=True), "fetch")
    assert (fetched["files"], fetched["bytes"]) == (4, doc["bytes"])
    assert not (clone.path / "o").exists()

    other = pushed.clone_to(tmp_path / "other")
    pulled = document(other.run("pull", "--json", check=True), "pull")
    assert pulled["files"] == 4 and pulled["checkout"]["restored"] == ["d", "o"]
    assert (other.path / "d" / "two").read_text() == "2\n"


def test_pull_naming_an_absent_object_prints_an_error_document(pushed: Repo,
                                                               tmp_path: Path) -> None:
    clone = pushed.clone_to(tmp_path / "clone")
    done = clone.run("pull", "--json")
    assert done.returncode != 0
    doc = document(done, "pull")
    assert "not in the cache" in doc["error"]["message"] or "remote" in doc["error"]["message"]


def test_a_pull_that_keeps_a_hand_edit_prints_its_document_then_fails(pushed: Repo,
                                                                      tmp_path: Path) -> None:
    pushed.run("push", check=True)
    clone = pushed.clone_to(tmp_path / "clone")
    (clone.path / "o").write_text("mine\n")
    done = clone.run("pull", "--json")
    assert done.returncode == 1
    doc = document(done, "pull")  # one document: the pull's, not an error document beside it
    assert doc["ok"] is False and "error" not in doc
    assert [(o["path"], o["task"]) for o in doc["checkout"]["kept"]] == [("o", "a")]
    assert doc["checkout"]["restored"] == ["d"] and (clone.path / "o").read_text() == "mine\n"
    assert "were not overwritten" in done.stderr


def test_gc_lists_what_it_removes_locally_and_on_a_remote(pushed: Repo, tmp_path: Path) -> None:
    pushed.run("push", check=True)
    pushed.spec({"a": {"cmd": "echo y > o", "outs": ["o"]}})
    pushed.run("repro", check=True)
    pushed.commit("new o")
    dry = document(pushed.run("gc", "--dry-run", "--json", check=True), "gc")
    assert dry["dry_run"] is True and dry["remote"] is None and dry["where"] == "the cache"
    gone = {o["digest"] for o in dry["removed"]["objects"]}
    assert len(gone) == 4 and dry["removed"]["bytes"] == sum(
        o["size"] for o in dry["removed"]["objects"])
    done = document(pushed.run("gc", "-w", "--json", check=True), "gc")
    assert {o["digest"] for o in done["removed"]["objects"]} == gone
    assert all(not (pushed.path / ".gitpipe/cache/files/xxh3" / d[5:7] / d[7:]).exists()
               for d in gone if not d.endswith(".dir"))
    asks = pushed.run("gc", "--remote", "store", "-w", "--json", stdin=subprocess.DEVNULL)
    refused = document(asks, "gc")  # no terminal to ask on: nothing deleted, an error document
    assert asks.returncode == 2 and "--yes" in refused["error"]["hint"]
    pushed.own_remote()
    remote = document(pushed.run("gc", "--remote", "store", "-w", "--yes", "--json",
                                 check=True), "gc")
    assert remote["remote"]["name"] == "store" and remote["dry_run"] is False
    assert {o["digest"] for o in remote["removed"]["objects"]} == gone


def test_fsck_names_a_corrupted_object_and_the_paths_it_holds(pushed: Repo,
                                                              tmp_path: Path) -> None:
    entry = pushed.project().lock_entries["a"]
    digest = pushed.project().cache.manifest(entry.out("d").digest)[0].digest
    obj = pushed.project().cache.path(digest)
    obj.chmod(0o644)
    obj.write_text("rot\n")
    done = pushed.run("fsck", "--json")
    assert done.returncode == 1
    doc = document(done, "fsck")
    assert doc["ok"] is False and doc["checked"] == 4 and doc["repaired"] == 0
    (bad,) = doc["bad"]
    assert bad["digest"] == digest and bad["paths"] == ["d/one"] and bad["removed"] is False
    assert bad["actual"].startswith("xxh3:") and bad["actual"] != digest
    assert bad["problem"] == f"its content hashes to {bad['actual']}"
    assert bad["object"] == f"files/xxh3/{digest[5:7]}/{digest[7:]}"
    repaired = document(pushed.run("fsck", "--repair", "--json", check=True), "fsck")
    assert repaired["ok"] is True and repaired["repaired"] == 1
    assert repaired["bad"][0]["removed"] is True
    assert [m["path"] for m in repaired["missing"]] == ["d"]


def test_the_schema_and_docs_json_name_every_field_and_reason_kind() -> None:
    from gitpipe.project.staleness import Kind

    reason = SCHEMA["$defs"]["reason"]["properties"]["kind"]["enum"]
    assert sorted(reason) == sorted(kind.name.lower() for kind in Kind)
    text = (SCHEMA_FILE.parents[1] / "json.md").read_text()
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            names.update(node.get("properties", {}))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(SCHEMA["$defs"])
    # A field is documented where docs/reference/json.md quotes it, alone or in a
    # path (`bad[].actual`).
    prose = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    quoted = {word for code in re.findall(r"`([^`\n]+)`", prose)
              for word in re.findall(r"[a-z_]+", code)}
    undocumented = sorted((names | set(reason)) - quoted)
    assert undocumented == []


def test_every_kind_of_reason_is_plain_json_and_valid() -> None:
    import datetime

    from gitpipe.pipeline.params import ABSENT
    from gitpipe.project.staleness import Kind, Reason

    samples = {Kind.CMD: ("", "old cmd", "new cmd"), Kind.DEP_MODIFIED: ("d/", "xxh3:1", "xxh3:2"),
               Kind.DEP_MODE: ("run.sh", False, True),
               Kind.PARAM: ("when", ABSENT, datetime.date(2024, 3, 1)),
               Kind.OUT_KIND: ("m.json", True, "a metric"), Kind.WDIR: ("", ".", "sub"),
               Kind.UPSTREAM: ("raw@2024-01-01", None, None),
               Kind.ENV: ("A, T_TOKEN", {"A": "1", "T_TOKEN": None}, {"T_TOKEN": None})}
    one = {"$ref": "#/$defs/reason", "$defs": SCHEMA["$defs"]}
    for kind in Kind:
        subject, old, new = samples.get(kind, ("x", None, None))
        reason = Reason(kind, subject, old, new)
        data = json.loads(json.dumps(reason.to_json(), allow_nan=False))
        jsonschema.validate(data, one)
        assert data["text"] == str(reason) and data["kind"] == kind.name.lower()
        assert data["subject"] == (subject or None)
    param = Reason(Kind.PARAM, "when", ABSENT, datetime.date(2024, 3, 1)).to_json()
    assert (param["old"], param["new"], param["path"]) == (None, "2024-03-01", None)
    assert Reason(Kind.OUT_KIND, "m.json", True, "a metric").to_json()["old"] is None
    assert Reason(Kind.UPSTREAM, "raw@2024-01-01").to_json()["path"] is None
    assert Reason(Kind.DEP_MODE, "run.sh", False, True).to_json()["path"] == "run.sh"


def test_fsck_of_a_remote_names_the_bad_object_there(pushed: Repo, tmp_path: Path) -> None:
    pushed.run("push", check=True)
    digest = pushed.project().lock_entries["a"].out("o").digest
    key = f"files/xxh3/{digest[5:7]}/{digest[7:]}"
    stored = tmp_path / "store" / key
    stored.chmod(0o644)
    stored.write_text("rot\n")
    done = pushed.run("fsck", "--remote", "store", "--json")
    assert done.returncode == 1
    doc = document(done, "fsck")
    assert doc["remote"]["name"] == "store" and doc["where"] == "remote 'store'"
    assert doc["checked"] == 4
    assert doc["bad"] == [{"digest": digest, "object": key, "actual": None, "removed": False,
                           "problem": "its content does not match its name", "paths": ["o"]}]


def test_a_command_that_prints_nothing_leaves_no_log_and_names_none(repo: Repo) -> None:
    """The log is made at the first byte a command prints: a silent stage's
    task names no log (null), and its failure's hint names none; a stage that
    prints keeps all of it in its log."""
    repo.spec({"quiet": {"cmd": "true"},
               "loud": {"cmd": "echo one && echo two >&2"},
               "mute_fail": {"cmd": "exit 4"}})
    repo.run("init", check=True)
    repo.commit("pipeline")
    done = repo.run("repro", "--json", "-k")
    assert done.returncode == 1
    tasks = {t["task"]: t for t in document(done, "repro")["tasks"]}
    assert tasks["quiet"]["outcome"] == "ran" and tasks["quiet"]["log"] is None
    assert tasks["mute_fail"]["outcome"] == "failed" and tasks["mute_fail"]["log"] is None
    assert Path(tasks["loud"]["log"]).read_text() == "one\ntwo\n"
    logs = sorted(p.name for p in (repo.path / ".gitpipe/logs").iterdir())
    assert len(logs) == 1 and logs[0].startswith("loud-"), logs
    assert "hint: the log is" not in done.stderr
    assert "exited with code 4" in done.stderr
    runs = {r["task"]: r for r in json.loads(repo.run("runs", "--json", check=True).stdout)}
    assert runs["quiet"]["log"] is None and runs["loud"]["log"] == tasks["loud"]["log"]


def test_a_log_that_cannot_be_made_stops_the_stage_with_its_reason(repo: Repo) -> None:
    """The log is made at the command's first output: where it cannot be made
    then (here a logs folder that refuses new files), the command is stopped
    and the stage fails naming the log and why, not as an internal error; a
    silent stage beside it runs."""
    repo.spec({"quiet": {"cmd": "true"}, "loud": {"cmd": "echo one; sleep 30"}})
    repo.run("init", check=True)
    repo.commit("pipeline")
    logs = repo.path / ".gitpipe" / "logs"
    logs.mkdir()
    if subprocess.run(["chattr", "+i", str(logs)], capture_output=True).returncode != 0:
        pytest.skip("this file system has no immutable folders (chattr +i)")
    try:
        done = repo.run("repro", "-k", timeout=25)
    finally:
        subprocess.run(["chattr", "-i", str(logs)], check=True)
    assert done.returncode == 1, done.stderr
    assert "internal error" not in done.stderr, done.stderr
    assert ("error: stage 'loud': its log '" in done.stderr
            and "cannot be written (Operation not permitted)" in done.stderr), done.stderr
    assert "1 ran" in done.stdout and "1 failed" in done.stdout, done.stdout
