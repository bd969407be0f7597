"""`gitpipe report`: one self-contained HTML file with the graph by state, the
partitions grid, the last invocation's timeline and the metrics of recent
commits. What a browser makes of it is tests/browser/test_report_page.py."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.conftest import Repo

DAYS = {"by": "date", "start": "2024-01-01", "end": "2024-01-03"}
DATA_BLOCK = re.compile(r'<script type="application/json" id="gitpipe-data">(.*?)</script>',
                        re.DOTALL)


def reported_pipeline(repo: Repo) -> None:
    """prepare (stale at the end), raw (3 partitions), build (2 foreach items),
    train (fails every time), evaluate (a metrics file) and summarize, both
    restored from the run-cache in the last run."""
    repo.spec({
        "prepare": {"cmd": "cp params.yaml prep.txt", "deps": ["params.yaml"],
                    "outs": ["prep.txt"]},
        "raw": {"partition": DAYS, "cmd": "mkdir -p raw && echo ${date} > raw/${date}",
                "outs": ["raw/${date}"]},
        "build": {"foreach": ["uk", "us"], "do": {"cmd": "echo ${item} > model-${item}.txt",
                                                  "outs": ["model-${item}.txt"]}},
        "train": {"cmd": "test -f ok && cat prep.txt > model.txt",
                  "deps": ["prep.txt", "raw"], "outs": ["model.txt"]},
        "evaluate": {"cmd": "cp score.json metrics.json", "deps": ["score.json"],
                     "metrics": ["metrics.json"]},
        "summarize": {"cmd": "cp score.json summary.txt", "deps": ["score.json"],
                      "outs": ["summary.txt"]},
    })
    repo.gen({"params.yaml": {"n": 1}, "score.json": '{"acc": 0.5}'}, commit="spec")
    repo.run("repro", "--keep-going")
    repo.commit("first run")
    repo.gen({"score.json": '{"acc": 0.75}'})
    repo.run("repro", "--keep-going")
    repo.commit("second run")
    repo.gen({"score.json": '{"acc": 0.5}', "params.yaml": {"n": 2}})
    repo.run("repro", "--keep-going")  # prepare runs, train fails, the rest is restored
    repo.commit("third run")
    repo.gen({"params.yaml": {"n": 3}})


def page_data(html: str) -> dict[str, Any]:
    found = DATA_BLOCK.search(html)
    assert found is not None
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def test_a_project_without_history_says_so_and_still_writes_the_page(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "echo > a.txt", "outs": ["a.txt"]}}, commit="spec")
    done = repo.run("report", check=True)
    assert done.stdout.strip() == "gitpipe-report.html"
    assert "warning: no run history yet" in done.stderr
    html = (repo.path / "gitpipe-report.html").read_text()
    data = page_data(html)
    assert data["timeline"] is None and data["messages"][0].startswith("no run history yet")
    assert data["tasks"] == {"a": [2, ["new stage"]]}  # never run
    assert data["metrics"] is None


def test_the_page_fetches_nothing(repo: Repo) -> None:
    reported_pipeline(repo)
    html = repo.run("report", "-o", "-", check=True).stdout
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    for external in ("http:", "https:", "://", "src=", "url(", "@import", "<link rel=\"style"):
        assert external not in html.replace("data:,", ""), external
    assert "default-src 'none'" in html and "script-src 'sha256-" in html
    assert html.count("<script") == 2 and html.count("</script>") == 2


def test_states_grid_timeline_and_metrics(repo: Repo) -> None:
    reported_pipeline(repo)
    done = repo.run("report", "-o", "out/r.html", "--commits", "3")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "cannot write the report to 'out/r.html': No such file or directory" in done.stderr
    (repo.path / "out").mkdir()
    repo.run("report", "-o", "out/r.html", "--commits", "3", check=True)
    data = page_data((repo.path / "out" / "r.html").read_text())
    states = {task: data["states"][index] for task, (index, _) in data["tasks"].items()}
    assert states["prepare"] == "stale" and states["train"] == "failed"
    assert states["raw@2024-01-02"] == "up to date" and states["build@us"] == "up to date"
    assert data["tasks"]["prepare"][1] == ["deps: params.yaml modified"]
    nodes = {node["id"]: node for node in data["dag"]["nodes"]}
    assert nodes["raw"]["grouped"] and nodes["raw"]["counts"] == [0, 0, 0, 3]
    assert nodes["build"]["tasks"] == ["build@uk", "build@us"]
    assert ["prepare", "train", []] in data["dag"]["edges"]
    grids = {grid["kind"]: grid for grid in data["grid"]}
    assert grids["partitions"]["keys"] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert grids["items"]["rows"] == [{"stage": "build", "cells": ["build@uk", "build@us"]}]
    bars = {bar["task"]: bar["result"] for bar in data["timeline"]["bars"]}
    assert bars == {"prepare": "ran", "train": "failed", "evaluate": "restored",
                    "summarize": "restored"}
    rows = data["metrics"]["rows"]
    assert rows[0]["commit"] == "workspace" and len(rows) == 4
    assert [row["subject"] for row in rows[1:]] == ["third run", "second run", "first run"]
    assert [row["values"].get("metrics.json:acc") for row in rows] == [0.5, 0.5, 0.75, 0.5]


def test_the_metrics_table_shows_floats_as_metrics_show_does(repo: Repo) -> None:
    """`metrics show` reads 0.726 where the page read 0.7259999999999999; two
    values that would show alike are kept whole, as `metrics show A B` does."""
    repo.spec({"m": {"cmd": "cp v.json m.json", "deps": ["v.json"], "metrics": ["m.json"]}})
    for acc, close in (("0.7259999999999999", "0.30000000000000004"),
                       ("0.30000000000000004", "0.3000000000000001")):
        repo.gen({"v.json": f'{{"acc": {acc}, "close": {close}}}'})
        repo.run("repro", check=True)
        repo.commit(acc)
    repo.gen({"v.json": '{"acc": 0.5, "close": 0.3000000000000001}'})
    repo.run("repro", check=True)
    rows = page_data(repo.run("report", "-o", "-", check=True).stdout)["metrics"]["rows"]
    assert [row["values"]["m.json:acc"] for row in rows] == [0.5, 0.3, 0.726]
    # 0.30000000000000004 and 0.3000000000000001 would read alike: that column whole
    assert [row["values"]["m.json:close"] for row in rows] == [
        0.3000000000000001, 0.3000000000000001, 0.30000000000000004]


def test_concurrent_runs_take_separate_lanes(repo: Repo) -> None:
    repo.spec({name: {"cmd": f"sleep 0.6 && echo > {name}.txt", "outs": [f"{name}.txt"]}
               for name in ("a", "b")} | {"c": {"cmd": "echo > c.txt", "deps": ["a.txt"],
                                                "outs": ["c.txt"]}}, commit="spec")
    repo.run("repro", "-j", "2", check=True)
    bars = page_data(repo.run("report", "-o", "-", check=True).stdout)["timeline"]["bars"]
    lanes = {bar["task"]: bar["lane"] for bar in bars}
    assert lanes["a"] != lanes["b"] and lanes["c"] in (lanes["a"], lanes["b"])
    assert all(bar["duration"] >= 0.5 for bar in bars if bar["task"] in "ab")


def test_text_from_git_cannot_close_the_data_block(repo: Repo) -> None:
    hostile = "</script><script>alert(1)</script><!--"
    repo.spec({"a": {"cmd": "cp params.yaml a.txt", "deps": ["params.yaml"],
                     "params": ["x"], "outs": ["a.txt"]},
               "m": {"cmd": "echo '{\"s\": 1}' > m.json",
                     "metrics": ["m.json"]}})
    repo.gen({"params.yaml": {"x": "plain"}}, commit=hostile)
    repo.run("repro", check=True)
    repo.gen({"params.yaml": {"x": hostile}})
    html = repo.run("report", "-o", "-", check=True).stdout
    assert html.count("<script") == 2 and "alert(1)</script>" not in html
    assert "<!--" not in html
    data = page_data(html)
    assert any(hostile in reason for reason in data["tasks"]["a"][1])
    assert hostile in [row["subject"] for row in data["metrics"]["rows"]]


def test_the_default_page_is_git_ignored_so_git_status_stays_clean(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "echo > a.txt", "outs": ["a.txt"]}})
    repo.run("repro", check=True)
    repo.commit("ran")
    done = repo.run("report", check=True)
    assert done.stderr.splitlines()[-1] == (
        "note: .gitignore now ignores /gitpipe-report.html (a generated page): commit it")
    assert (repo.path / "gitpipe-report.html").is_file()
    assert repo.git("status", "--porcelain").splitlines() == [" M .gitignore"]
    repo.commit("ignore the report")
    again = repo.run("report", check=True)  # already ignored: no second line, no note
    assert "note:" not in again.stderr
    assert repo.git("status", "--porcelain") == ""
    assert (repo.path / ".gitignore").read_text().count("gitpipe-report.html") == 1


def test_a_page_git_already_ignores_or_written_where_asked_adds_no_line(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "echo > a.txt", "outs": ["a.txt"]}})
    repo.run("repro", check=True)
    (repo.path / ".git" / "info" / "exclude").write_text("*.html\n")
    repo.run("report", check=True)
    repo.run("report", "-o", "state.html", check=True)  # a file the user named is theirs
    (repo.path / ".git" / "info" / "exclude").write_text("")
    repo.run("report", "-o", "mine.html", check=True)
    assert "report" not in (repo.path / ".gitignore").read_text()
