"""The drawn graph: collapsed stages, layers, the ascii picture and its fallback."""

from __future__ import annotations

from gitpipe.core.digraph import Dag
from gitpipe.pipeline import dagviz
from gitpipe.pipeline.dagascii import picture
from gitpipe.pipeline.daglayout import DUMMY, depths, layout, with_waypoints
from gitpipe.pipeline.dagview import State, TaskState, counts, state_of, view_of


def graph(edges: list[tuple[str, str]], nodes: list[str] = ()) -> Dag:  # type: ignore[assignment]
    dag = Dag()
    for node in nodes:
        dag.add_node(node)
    for a, b in edges:
        dag.add_node(a)
        dag.add_node(b)
        dag.add_edge(a, b)
    return dag


def partitioned() -> Dag:
    days = [f"raw@2024-01-0{d}" for d in range(1, 4)]
    return graph([(day, "train") for day in days], days)


def test_partitions_collapse_into_one_node_with_counts() -> None:
    view = view_of(partitioned())
    assert [(n.id, n.grouped, len(n.tasks)) for n in view.nodes] == [("raw", True, 3),
                                                                     ("train", False, 1)]
    assert view.edges == (("raw", "train"),)
    states = {"raw@2024-01-01": TaskState(State.UP_TO_DATE),
              "raw@2024-01-02": TaskState(State.STALE, ("deps: x modified",)),
              "raw@2024-01-03": TaskState(State.UP_TO_DATE)}
    assert counts(view.nodes[0], states) == {State.STALE: 1, State.UP_TO_DATE: 2}
    assert state_of(view.nodes[0], states) is State.STALE
    assert view.nodes[0].title(view.positions) == "raw@2024-01-01 … 2024-01-03 (3)"


def test_expanded_view_keeps_every_task() -> None:
    view = view_of(partitioned(), expand=True)
    assert len(view.nodes) == 4 and not any(n.grouped for n in view.nodes)
    assert len(view.edges) == 3


def test_chosen_nodes_limit_the_view() -> None:
    view = view_of(graph([("a", "b"), ("b", "c"), ("x", "c")]), chosen=["a", "b"])
    assert [n.id for n in view.nodes] == ["a", "b"] and view.edges == (("a", "b"),)


def test_longest_path_layers_and_waypoints() -> None:
    nodes = ["a", "b", "c"]
    edges = [("a", "b"), ("b", "c"), ("a", "c")]
    assert depths(nodes, edges) == {"a": 0, "b": 1, "c": 2}
    depth, short = with_waypoints(nodes, edges)
    points = [n for n in depth if n.startswith(DUMMY)]
    assert len(points) == 1 and depth[points[0]] == 1 and len(short) == 4


def test_barycenter_ordering_uncrosses_two_chains() -> None:
    nodes = ["a", "b", "x", "y"]
    edges = [("a", "y"), ("b", "x")]
    layers = layout(nodes, edges).layers
    assert layers[0] == ("a", "b") and layers[1] == ("y", "x")


def test_picture_draws_boxes_and_an_arrow() -> None:
    view = view_of(graph([("prepare", "train")]))
    drawn = picture(view, {"prepare": TaskState(State.UP_TO_DATE),
                           "train": TaskState(State.STALE, ("params: lr 1 -> 2",))})
    assert drawn is not None
    lines = drawn.splitlines()
    assert lines[0].startswith("┌") and "│ prepare" in lines[1] and "[up to date]" in lines[2]
    assert any("▼" in line for line in lines) and "[stale]" in drawn


def test_picture_falls_back_to_the_list_when_large() -> None:
    big = graph([(f"s{i}", f"s{i + 1}") for i in range(40)])
    assert picture(view_of(big)) is None
    assert dagviz.to_ascii(view_of(big)).splitlines()[1] == "s1   <- s0"


def test_crossing_lines_are_not_drawn() -> None:
    # a cycle of six between two layers: whatever the order, a source's line
    # crosses a bus it does not feed
    crossed = graph([("a", "x"), ("a", "y"), ("b", "x"), ("b", "z"), ("c", "y"), ("c", "z")])
    assert picture(view_of(crossed)) is None
    assert dagviz.to_ascii(view_of(crossed)).splitlines()[-1] == "z  <- b, c"


def test_mermaid_and_dot_say_the_state_in_words_and_colour() -> None:
    view = view_of(partitioned())
    states = {t: TaskState(State.FAILED, ("its last run failed",)) for n in view.nodes
              for t in n.tasks}
    mermaid = dagviz.to_mermaid(view, states)
    assert "[3 failed]" in mermaid and "class n0 failed" in mermaid
    dot = dagviz.to_dot(view, states)
    assert '\\n[failed]"' in dot and 'fillcolor="#f4a6a6"' in dot


def test_mermaid_escapes_quotes_in_labels() -> None:
    assert '#quot;' in dagviz.to_mermaid(view_of(graph([], ['say"hi'])))


def test_collapsing_that_closes_a_cycle_still_draws() -> None:
    cycle = graph([("a@1", "b"), ("b", "a@2")])
    view = view_of(cycle)
    assert view.edges == (("a", "b"), ("b", "a"))
    assert picture(view) is None
    assert dagviz.to_ascii(view).splitlines() == ["a@1, a@2 (2)  <- b", "b             <- a@1"]
    assert depths(["a", "b"], list(view.edges)) == {"a": 0, "b": 1}
