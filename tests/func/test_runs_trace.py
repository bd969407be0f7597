"""`gitpipe runs --trace`: the run history as a Chrome/Perfetto trace, one track
per concurrent slot, the critical path marked."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from typing import Any

from tests.conftest import Repo

# A diamond: top feeds a slow and a fast branch, both feed bottom.
DIAMOND = {
    "top": {"cmd": "cp params.yaml top.txt", "deps": ["params.yaml"], "outs": ["top.txt"]},
    "slow": {"cmd": "sleep 1.2 && cp top.txt slow.txt", "deps": ["top.txt"],
             "outs": ["slow.txt"]},
    "fast": {"cmd": "cp top.txt fast.txt", "deps": ["top.txt"], "outs": ["fast.txt"]},
    "bottom": {"cmd": "cat slow.txt fast.txt > bottom.txt",
               "deps": ["slow.txt", "fast.txt"], "outs": ["bottom.txt"]},
}


def diamond(repo: Repo) -> Repo:
    repo.spec(DIAMOND)
    repo.gen({"params.yaml": {"n": 1}}, commit="diamond")
    return repo


def trace(repo: Repo, *args: str) -> dict[str, Any]:
    done = repo.run("runs", "--trace", "-", *args, check=True)
    return json.loads(done.stdout)


def runs_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The complete events of the slot tracks (not the critical path's copy)."""
    return [e for e in document["traceEvents"]
            if e["ph"] == "X" and not e["cat"].startswith("critical")]


def thread_names(document: dict[str, Any]) -> dict[tuple[int, int], str]:
    return {(e["pid"], e["tid"]): e["args"]["name"] for e in document["traceEvents"]
            if e["ph"] == "M" and e["name"] == "thread_name"}


def assert_no_overlap_on_a_track(document: dict[str, Any]) -> None:
    tracks: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for event in document["traceEvents"]:
        if event["ph"] == "X":
            tracks[(event["pid"], event["tid"])].append((event["ts"], event["ts"] + event["dur"]))
    for spans in tracks.values():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start, spans


def test_a_diamond_traces_with_its_slow_branch_as_the_critical_path(repo: Repo) -> None:
    diamond(repo).run("repro", "-j", "2", check=True)
    document = trace(repo)
    assert set(document) >= {"traceEvents", "displayTimeUnit"}
    assert document["displayTimeUnit"] == "ms"
    events = runs_of(document)
    assert sorted(e["name"] for e in events) == ["bottom", "fast", "slow", "top"]
    for event in events:
        assert isinstance(event["ts"], int) and isinstance(event["dur"], int)
        assert event["pid"] == 1 and event["args"]["result"] == "ran"
        assert set(event["args"]) >= {"result", "stage", "partition", "fingerprint",
                                      "bytes_in", "bytes_out", "log", "critical"}
        assert event["args"]["fingerprint"].startswith("xxh3:")
        assert event["args"]["log"] is None  # the commands print nothing: no log made
    by_name = {e["name"]: e for e in events}
    # slow and fast ran at once: on two tracks, both named.
    assert by_name["slow"]["tid"] != by_name["fast"]["tid"]
    assert by_name["slow"]["dur"] >= 1_000_000
    names = thread_names(document)
    assert names[(1, by_name["slow"]["tid"])].startswith("slot ")
    assert_no_overlap_on_a_track(document)
    critical = [name for name, e in by_name.items() if e["args"]["critical"]]
    assert sorted(critical) == ["bottom", "slow", "top"]
    copies = [e for e in document["traceEvents"] if e["ph"] == "X"
              and e["cat"].startswith("critical")]
    assert [e["name"] for e in copies] == ["top", "slow", "bottom"]
    assert {names[(e["pid"], e["tid"])] for e in copies} == {"critical path"}
    process = [e for e in document["traceEvents"] if e["ph"] == "M"
               and e["name"] == "process_name"]
    invocation = json.loads(repo.run("runs", "--json").stdout)[0]["invocation"]
    assert [p["args"]["name"].split()[0] for p in process] == [invocation[:8]]


def test_restores_and_failures_are_told_apart(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "cp params.yaml a.txt", "deps": ["params.yaml"], "outs": ["a.txt"]},
               "b": {"cmd": "test \"$(cat a.txt)\" != 'n: 3' && cp a.txt b.txt",
                     "deps": ["a.txt"], "outs": ["b.txt"]}})
    repo.gen({"params.yaml": {"n": 1}}, commit="s")
    repo.run("repro", check=True)
    repo.gen({"params.yaml": {"n": 2}})
    repo.run("repro", check=True)
    repo.gen({"params.yaml": {"n": 1}})
    repo.run("repro", check=True)  # restored from the run-cache
    restored = runs_of(trace(repo))
    assert [(e["name"], e["cat"], e["cname"]) for e in restored] == [
        ("a", "restored", "grey"), ("b", "restored", "grey")]
    assert restored[0]["args"]["log"] is None
    repo.gen({"params.yaml": {"n": 3}})
    assert repo.run("repro").returncode == 1
    failed = {e["name"]: e for e in runs_of(trace(repo))}
    assert (failed["b"]["cat"], failed["b"]["cname"], failed["b"]["args"]["result"]) == \
        ("failed", "terrible", "failed")
    assert failed["a"]["cat"] == "ran"
    # Three invocations back: three processes, in the order they ran.
    document = trace(repo, "--last", "3")
    assert sorted({e["pid"] for e in runs_of(document)}) == [1, 2, 3]
    assert [e["cat"] for e in runs_of(document) if e["pid"] == 2] == ["restored", "restored"]
    assert_no_overlap_on_a_track(document)


def test_an_invocation_is_chosen_by_its_prefix_and_written_to_a_file(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "cp params.yaml a.txt", "deps": ["params.yaml"], "outs": ["a.txt"]}})
    repo.gen({"params.yaml": {"n": 1}}, commit="s")
    repo.run("repro", check=True)
    repo.gen({"params.yaml": {"n": 2}})
    repo.run("repro", check=True)
    rows = json.loads(repo.run("runs", "--json").stdout)
    oldest = rows[-1]["invocation"]
    table = repo.run("runs", check=True).stdout
    assert oldest[:8] in table and "invocation" in table.splitlines()[0]
    done = repo.run("runs", "--trace", "out.json", "--invocation", oldest[:6], check=True)
    assert "wrote 1 run of 1 invocation to out.json" in done.stderr
    document = json.loads((repo.path / "out.json").read_text())
    assert [e["args"]["invocation"] for e in runs_of(document)] == [oldest]
    wrong = repo.run("runs", "--trace", "-", "--invocation", "zz")
    assert wrong.returncode == 2 and "no recorded invocation starts with 'zz'" in wrong.stderr
    assert "Traceback" not in wrong.stderr and not wrong.stdout
    later = repo.run("runs", "--trace", "-", "--since", "2099-01-01")
    assert later.returncode == 1 and "no repro or backfill started since" in later.stderr


def test_an_empty_history_says_so_and_writes_nothing(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "echo 1 > a.txt", "outs": ["a.txt"]}}, commit="s")
    repo.run("init", check=True)
    done = repo.run("runs", "--trace", "out.json")
    assert done.returncode == 1
    assert "no runs recorded yet: there is no trace to write" in done.stderr
    assert "hint: run 'gitpipe repro'" in done.stderr and "Traceback" not in done.stderr
    assert not (repo.path / "out.json").exists()
    assert repo.run("runs", check=True).stdout.strip() == "no runs recorded yet"
