"""The report's pure parts: the timeline's lanes, the graph's places, and the
JSON block that no string can close."""

from __future__ import annotations

import json

from gitpipe.pipeline.dagview import State, TaskState, view_of
from gitpipe.storage.state import RunRecord
from gitpipe.usecases.reportdata import dag_data, timeline_data
from gitpipe.usecases.reportpage import json_block
from tests.unit.test_dagview import graph, partitioned


def run(task: str, started: float, duration: float, result: str = "ran") -> RunRecord:
    return RunRecord(task, started, duration, result, 0, 0, invocation="i")


def test_overlapping_runs_take_the_first_free_lane() -> None:
    line = timeline_data([run("a", 100.0, 2.0), run("b", 100.5, 1.0),
                          run("c", 101.6, 1.0, "restored"), run("d", 102.0, 0.5, "failed")])
    lanes = {bar["task"]: bar["lane"] for bar in line["bars"]}
    assert lanes == {"a": 0, "b": 1, "c": 1, "d": 0}
    assert line["lanes"] == 2 and line["span"] == 2.6
    assert [bar["start"] for bar in line["bars"]] == [0.0, 0.5, 1.6, 2.0]


def test_long_edges_pass_through_places_of_their_own() -> None:
    view = view_of(graph([("a", "b"), ("b", "c"), ("a", "c")]))
    data = dag_data(view, {}, {})
    edges = {(a, b): via for a, b, via in data["edges"]}
    assert edges[("a", "c")] == [(1, 1)] and edges[("a", "b")] == []
    assert data["rows"] == 2


def test_collapsed_nodes_count_their_tasks_per_state() -> None:
    states = {"raw@2024-01-01": TaskState(State.STALE, ("x",)),
              "raw@2024-01-02": TaskState(State.UP_TO_DATE),
              "raw@2024-01-03": TaskState(State.FAILED, ("its last run failed",))}
    nodes = dag_data(view_of(partitioned()), states, {"raw": "partitions"})["nodes"]
    assert nodes[0]["counts"] == [1, 1, 0, 1] and nodes[0]["kind"] == "partitions"


def test_no_string_closes_the_json_block() -> None:
    hostile = {"x": "</script><!--<script>&amp;\u2028"}
    text = json_block(hostile)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == hostile
