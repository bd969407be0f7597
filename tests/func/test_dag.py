"""`gitpipe dag`: states, collapsed partitions and items, targets, the picture."""

from __future__ import annotations

import json

from tests.conftest import Repo

DAYS = {"by": "date", "start": "2024-01-01", "end": "2024-01-03"}


def pipeline(repo: Repo) -> None:
    repo.spec({
        "prepare": {"cmd": "cp params.yaml prep.txt", "deps": ["params.yaml"],
                    "outs": ["prep.txt"]},
        "raw": {"partition": DAYS, "cmd": "mkdir -p raw && echo ${date} > raw/${date}",
                "outs": ["raw/${date}"]},
        "train": {"cmd": "test -f ok && cat prep.txt > model.txt",
                  "deps": ["prep.txt", "raw"], "outs": ["model.txt"]},
        "other": {"cmd": "echo > other.txt", "outs": ["other.txt"]},
    })
    repo.gen({"params.yaml": {"n": 1}}, commit="spec")


def test_status_marks_up_to_date_stale_failed_and_never_run(repo: Repo) -> None:
    pipeline(repo)
    repo.run("repro", "prepare", "raw", check=True)
    assert repo.run("repro", "train").returncode == 1  # no `ok` file: the command fails
    repo.gen({"params.yaml": {"n": 2}})
    data = json.loads(repo.run("dag", "--format", "json", "--status", check=True).stdout)
    states = {task: row["state"] for task, row in data["states"].items()}
    assert states == {"prepare": "stale", "raw@2024-01-01": "up to date",
                      "raw@2024-01-02": "up to date", "raw@2024-01-03": "up to date",
                      "train": "failed", "other": "never run"}
    assert data["states"]["prepare"]["reasons"] == ["deps: params.yaml modified"]
    assert data["states"]["train"]["reasons"][0] == "its last run failed"
    assert data["groups"] == {"raw": ["raw@2024-01-01", "raw@2024-01-02", "raw@2024-01-03"]}
    listed = repo.run("dag", "--format", "list", "--status", check=True).stdout
    assert "raw@2024-01-01 … 2024-01-03 (3) [3 up to date]" in listed
    assert "train [failed]" in listed and "other [never run]" in listed
    mermaid = repo.run("dag", "--format", "mermaid", "--status", check=True).stdout
    assert '  n2["train [failed]"]' in mermaid and "  class n2 failed" in mermaid
    assert "classDef failed fill:" in mermaid


def test_partitions_collapse_until_expand_and_all(repo: Repo) -> None:
    pipeline(repo)
    collapsed = json.loads(repo.run("dag", "--format", "json", check=True).stdout)
    assert collapsed["nodes"] == ["prepare", "raw", "train", "other"]
    for flag in ("--expand", "--all"):
        every = json.loads(repo.run("dag", "--format", "json", flag, check=True).stdout)
        assert "raw@2024-01-02" in every["nodes"] and "groups" not in every
    dot = repo.run("dag", "--format", "dot", check=True).stdout
    assert '"raw" [label="raw@2024-01-01 … 2024-01-03 (3)"];' in dot


def test_targets_limit_the_graph_to_what_they_need(repo: Repo) -> None:
    pipeline(repo)
    data = json.loads(repo.run("dag", "--format", "json", "prepare", check=True).stdout)
    assert data == {"nodes": ["prepare"], "edges": []}
    data = json.loads(repo.run("dag", "--format", "json", "train", check=True).stdout)
    assert data["nodes"] == ["prepare", "raw", "train"]
    unknown = repo.run("dag", "trian")
    assert unknown.returncode != 0 and "did you mean 'train'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_ascii_draws_boxes_for_a_small_graph(repo: Repo) -> None:
    pipeline(repo)
    drawn = repo.run("dag", "--status", check=True).stdout
    assert "┌" in drawn and "▼" in drawn and "│ train" in drawn and "[never run]" in drawn
    assert "│ raw@2024-01-01 … 2024-01-03 (3)" in drawn

