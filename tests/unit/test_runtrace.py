"""usecases/runtrace.py on made-up run records: tracks, the critical path's own
track, tasks the graph no longer has."""

from __future__ import annotations

import itertools

from gitpipe.core.digraph import Dag
from gitpipe.storage.state import RunRecord
from gitpipe.usecases.runtrace import trace_document


def run(task: str, started: float, duration: float, result: str = "ran",
        invocation: str = "i1") -> RunRecord:
    return RunRecord(task, started, duration, result, 0, 0, None, None, invocation)


def chain() -> Dag:
    graph = Dag()
    for node in ("a", "b", "c@2024-01-01"):
        graph.add_node(node)
    graph.add_edge("a", "b")
    graph.add_edge("b", "c@2024-01-01")
    return graph


def test_the_critical_track_never_overlaps_though_the_clocks_round() -> None:
    # b starts a hair before a ends (time.time against time.monotonic): its
    # copy on the critical track starts when a's ends.
    records = [run("a", 100.0, 2.0), run("b", 101.9999, 1.0),
               run("c@2024-01-01", 103.0, 0.5), run("gone", 100.0, 9.0)]
    events = trace_document(records, chain())["traceEvents"]
    critical = [e for e in events if e["ph"] == "X" and e["cat"].startswith("critical")]
    assert [e["name"] for e in critical] == ["a", "b", "c@2024-01-01"]
    for first, second in itertools.pairwise(critical):
        assert first["ts"] + first["dur"] <= second["ts"]
    gone = next(e for e in events if e["ph"] == "X" and e["name"] == "gone")
    assert gone["args"]["critical"] is False  # longest, but not in the graph
    c = next(e for e in events if e["name"] == "c@2024-01-01" and e["cat"] == "ran")
    assert (c["args"]["stage"], c["args"]["partition"]) == ("c", "2024-01-01")


def test_two_invocations_are_two_processes_in_the_order_they_started() -> None:
    records = [run("b", 50.0, 1.0, invocation="late"), run("a", 10.0, 1.0, invocation="early")]
    events = trace_document(records, chain())["traceEvents"]
    names = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
    assert [names[1].split()[0], names[2].split()[0]] == ["early", "late"]
