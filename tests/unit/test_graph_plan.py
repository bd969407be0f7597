"""graph.plan on integer DAGs; graph.build and graph.select on parsed Pipelines."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitpipe.core.digraph import Dag
from gitpipe.core.errors import BadInputError, SpecError
from gitpipe.core.yamlio import parse_yaml
from gitpipe.pipeline import graph
from gitpipe.pipeline.model import Out, Pipeline, Stage, Task
from gitpipe.pipeline.parse import parse_pipeline
from gitpipe.project.status import StaleWriters


def digraph(nodes: list[int], edges: list[tuple[int, int]]) -> nx.DiGraph:
    """A DiGraph whose node insertion order is exactly `nodes`."""
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(edges)
    return g


def pipeline(stages: dict[str, dict[str, object]]) -> Pipeline:
    return parse_pipeline({"stages": stages})


def from_yaml(text: str) -> Pipeline:
    return parse_pipeline(parse_yaml(text, "gitpipe.yaml"), "gitpipe.yaml")


def assert_topological(order: list[object], g: nx.DiGraph) -> None:
    position = {node: i for i, node in enumerate(order)}
    for u, v in g.edges:
        if u in position and v in position:
            assert position[u] < position[v], f"{u} must come before {v} in {order}"


# 1 -> 2 -> 3 <- 5 ; 1 -> 4 ; 6 alone ; 3 -> 7
SAMPLE_NODES = [1, 2, 3, 4, 5, 6, 7]
SAMPLE_EDGES = [(1, 2), (2, 3), (5, 3), (1, 4), (3, 7)]


# plan ------------------------------------------------------------------------------

def test_plan_without_targets_is_every_node_in_topological_order() -> None:
    g = digraph(SAMPLE_NODES, SAMPLE_EDGES)
    order = graph.plan(g)
    assert sorted(order) == SAMPLE_NODES
    assert_topological(order, g)


def test_plan_breaks_ties_by_insertion_order() -> None:
    g = digraph(SAMPLE_NODES, SAMPLE_EDGES)
    # Among ready nodes the earliest inserted goes first: 1, then 2 (before 4 and 5), ...
    assert graph.plan(g) == [1, 2, 4, 5, 3, 6, 7]


def test_plan_order_follows_insertion_not_node_value() -> None:
    g = digraph([30, 10, 20], [])
    assert graph.plan(g) == [30, 10, 20]
    g2 = digraph([9, 8, 7, 1], [(7, 1)])
    assert graph.plan(g2) == [9, 8, 7, 1]


def test_plan_is_stable_across_calls_and_equal_graphs() -> None:
    first = graph.plan(digraph(SAMPLE_NODES, SAMPLE_EDGES))
    for _ in range(5):
        assert graph.plan(digraph(SAMPLE_NODES, list(reversed(SAMPLE_EDGES)))) == first


def test_plan_target_includes_its_ancestors_only() -> None:
    g = digraph(SAMPLE_NODES, SAMPLE_EDGES)
    assert graph.plan(g, [3]) == [1, 2, 5, 3]


def test_plan_target_without_ancestors_is_just_itself() -> None:
    g = digraph(SAMPLE_NODES, SAMPLE_EDGES)
    assert graph.plan(g, [6]) == [6]
    assert graph.plan(g, [1]) == [1]


def test_plan_downstream_adds_descendants() -> None:
    g = digraph(SAMPLE_NODES, SAMPLE_EDGES)
    # 2's ancestors (1) + 2 + its descendants (3, 7); 3's other parent 5 is not a target's
    # ancestor, so it is not part of the plan.
    assert graph.plan(g, [2], downstream=True) == [1, 2, 3, 7]
    assert graph.plan(g, [2], downstream=False) == [1, 2]


def test_plan_several_targets_union() -> None:
    g = digraph(SAMPLE_NODES, SAMPLE_EDGES)
    assert graph.plan(g, [4, 6]) == [1, 4, 6]
    assert graph.plan(g, [7, 4]) == [1, 2, 4, 5, 3, 7]


def test_plan_empty_targets_is_empty() -> None:
    assert graph.plan(digraph(SAMPLE_NODES, SAMPLE_EDGES), []) == []


def test_plan_on_large_random_dag_is_topological() -> None:
    g = nx.gnp_random_graph(300, 0.02, seed=7, directed=True)
    dag = digraph(list(g.nodes), [(u, v) for u, v in g.edges if u < v])
    order = graph.plan(dag)
    assert len(order) == 300
    assert_topological(order, dag)


def test_plan_accepts_mutually_incomparable_nodes() -> None:
    g = nx.DiGraph()
    g.add_edge(("b", 1), "a")
    g.add_node(3)
    assert graph.plan(g) == [("b", 1), "a", 3]


# build -----------------------------------------------------------------------------

def test_build_edge_from_exact_out() -> None:
    g = graph.build(pipeline({
        "prepare": {"cmd": "p", "deps": ["raw.csv"], "outs": ["clean.csv"]},
        "train": {"cmd": "t", "deps": ["clean.csv"], "outs": ["model.bin"]},
        "report": {"cmd": "r", "deps": ["model.bin", "clean.csv"]},
    }))
    assert set(g.edges) == {("prepare", "train"), ("train", "report"), ("prepare", "report")}
    assert g.nodes["train"]["task"].stage.name == "train"


def test_build_dep_inside_directory_out() -> None:
    g = graph.build(pipeline({
        "features": {"cmd": "f", "outs": ["data/features/"]},
        "train": {"cmd": "t", "deps": ["data/features/2024-01-01.parquet"]},
    }))
    assert list(g.edges) == [("features", "train")]


def test_build_directory_dep_containing_an_out() -> None:
    g = graph.build(pipeline({
        "a": {"cmd": "a", "outs": ["data/features/a.parquet"]},
        "b": {"cmd": "b", "outs": ["data/features/b.parquet"]},
        "other": {"cmd": "o", "outs": ["data/features-old/x"]},
        "merge": {"cmd": "m", "deps": ["data/features/"]},
    }))
    assert {(p, "merge") for p in g.predecessors("merge")} == {("a", "merge"), ("b", "merge")}
    assert g.in_degree("other") == 0 and g.out_degree("other") == 0


def test_build_similar_prefix_is_not_an_edge() -> None:
    g = graph.build(pipeline({
        "a": {"cmd": "a", "outs": ["data"]},
        "b": {"cmd": "b", "deps": ["data2", "data-x/y"]},
    }))
    assert list(g.edges) == []


def test_build_from_yaml_text_with_wdir() -> None:
    g = graph.build(from_yaml(
        "stages:\n"
        "  prepare:\n"
        "    cmd: p\n"
        "    wdir: sub\n"
        "    outs: [clean.csv]\n"
        "  train:\n"
        "    cmd: t\n"
        "    deps: [sub/clean.csv]\n"
    ))
    assert list(g.edges) == [("prepare", "train")]


def test_build_rejects_duplicate_outs() -> None:
    with pytest.raises(SpecError, match=r"out 'model\.bin' is written by both stage 'a' "
                                        r"and stage 'b'"):
        graph.build(pipeline({
            "a": {"cmd": "a", "outs": ["model.bin"]},
            "b": {"cmd": "b", "outs": ["model.bin"]},
        }))


def test_build_rejects_nested_outs() -> None:
    with pytest.raises(SpecError, match=r"out 'data/x/y' of stage 'inner' is inside out "
                                        r"'data' of stage 'outer'"):
        graph.build(pipeline({
            "outer": {"cmd": "o", "outs": ["data/"]},
            "inner": {"cmd": "i", "outs": ["data/x/y"]},
        }))


def test_build_rejects_cycle_and_names_its_stages() -> None:
    with pytest.raises(SpecError) as info:
        graph.build(pipeline({
            "a": {"cmd": "a", "deps": ["oc"], "outs": ["oa"]},
            "b": {"cmd": "b", "deps": ["oa"], "outs": ["ob"]},
            "c": {"cmd": "c", "deps": ["ob"], "outs": ["oc"]},
            "free": {"cmd": "f", "deps": ["oa"]},
        }))
    message = str(info.value)
    assert "form a cycle" in message
    cycle_line = message.splitlines()[0]
    names = cycle_line.split(": ")[-1].split(" -> ")
    assert set(names) == {"a", "b", "c"}
    assert names[0] == names[-1] and len(names) == 4
    assert "free" not in cycle_line


def test_build_rejects_self_dependency() -> None:
    with pytest.raises(SpecError, match=r"stage 'loop' depends on its own out 'state\.json'"):
        graph.build(pipeline({"loop": {"cmd": "l", "deps": ["state.json"],
                                       "outs": ["state.json"]}}))


def test_build_reports_several_problems_at_once() -> None:
    with pytest.raises(SpecError) as info:
        graph.build(pipeline({
            "a": {"cmd": "a", "outs": ["o", "d/"]},
            "b": {"cmd": "b", "outs": ["o", "d/e"]},
        }))
    assert len(info.value.problems) == 2


# Short paths over few names, so that outs and deps nest in one another often.
PATHS = st.lists(st.sampled_from(["a", "b", "ab"]), min_size=1, max_size=3).map("/".join)


def producers_as_said(owner: dict[str, Task], dep: str) -> list[Task]:
    """What OutIndex.producers says it finds, from its owner map: the owner of
    `dep`, then of each parent nearest first, then of each out below `dep` in
    path order, each task once."""
    parents = ["/".join(dep.split("/")[:end]) for end in range(dep.count("/"), 0, -1)]
    below = sorted(path for path in owner if path.startswith(dep + "/"))
    return list(dict.fromkeys(owner[path] for path in [dep, *parents, *below] if path in owner))


@given(outs=st.lists(st.lists(PATHS, max_size=3), min_size=1, max_size=4), dep=PATHS)
def test_producers_find_every_overlapping_out_in_path_order(outs: list[list[str]],
                                                            dep: str) -> None:
    tasks = [Task(Stage(f"s{n}", "true"), None, "true", (), tuple(Out(p) for p in paths), ())
             for n, paths in enumerate(outs)]
    index = graph.OutIndex(tasks)
    assert index.producers(dep) == producers_as_said(index.owner, dep)
    index.producers(dep.rsplit("/", 1)[0])  # another dep asked between: the kept answer holds
    assert index.producers(dep) == producers_as_said(index.owner, dep)


@given(outs=st.lists(st.lists(PATHS, max_size=3), min_size=1, max_size=4),
       asked=st.lists(st.tuples(st.sets(st.integers(0, 3)), PATHS), min_size=1, max_size=4))
def test_stale_writers_answer_as_an_index_of_the_named_tasks_alone(
        outs: list[list[str]], asked: list[tuple[set[int], str]]) -> None:
    """One index of every task's outs, shared by every ask of a judging pass,
    says what an index of the named (stale upstream) tasks alone says: whether
    one of them writes the path. Outs are each written by one task, as a graph
    that builds has them."""
    taken: set[str] = set()
    tasks = []
    for n, paths in enumerate(outs):
        mine = [path for path in dict.fromkeys(paths) if path not in taken]
        taken.update(mine)
        tasks.append(Task(Stage(f"s{n}", "true"), None, "true", (),
                          tuple(Out(p) for p in mine), ()))
    dag = Dag()
    for task in tasks:
        dag.add_node(task.name, task=task)
    writers = StaleWriters(dag)
    for chosen, path in asked:
        named = [task for n, task in enumerate(tasks) if n in chosen]
        alone = bool(graph.OutIndex(named).producers(path))
        assert writers.among([task.name for task in named])(path) is alone


# select ----------------------------------------------------------------------------

def test_select_unknown_stage_suggests_near_miss() -> None:
    g = graph.build(pipeline({"train": {"cmd": "t"}, "prepare": {"cmd": "p"}}))
    with pytest.raises(BadInputError, match=r"unknown stage 'trian'") as info:
        graph.select(g, ["trian"])
    assert info.value.hint == "did you mean 'train'?"


def test_select_unknown_stage_without_near_miss_lists_the_stages() -> None:
    g = graph.build(pipeline({"train": {"cmd": "t"}, "eval": {"cmd": "e"}}))
    with pytest.raises(BadInputError) as info:
        graph.select(g, ["zzz"])
    assert info.value.hint == "the stages are eval, train"


def test_select_stage_name_expands_to_its_partitions() -> None:
    g = nx.DiGraph()
    g.add_nodes_from(["features@2024-01-01", "features@2024-01-02", "train"])
    assert graph.select(g, ["features"]) == ["features@2024-01-01", "features@2024-01-02"]
    assert graph.select(g, ["features@2024-01-02", "train"]) == ["features@2024-01-02",
                                                                   "train"]
