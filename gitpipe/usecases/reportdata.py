"""What `gitpipe report` shows, as plain data: the graph with each task's
state (project/taskstates.py) and a layout, the stage × partition grid, the
last repro or backfill from the run history, and the metrics of recent
commits. The page (usecases/reportpage.py) only draws it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from gitpipe.core.errors import BadInputError
from gitpipe.core.ranges import split_task
from gitpipe.core.timeline import assign_slots
from gitpipe.pipeline import graph as graph_module
from gitpipe.pipeline.daglayout import layout, waypoint, with_waypoints
from gitpipe.pipeline.dagview import STATE_ORDER, DagView, TaskState, counts, view_of
from gitpipe.pipeline.items import ItemSpec
from gitpipe.project.root import Project
from gitpipe.project.taskstates import task_states
from gitpipe.storage.state import RunRecord
from gitpipe.usecases.metricfiles import MetricsFile
from gitpipe.usecases.runtrace import run_span
from gitpipe.usecases.values import brief_values, metrics_at

NO_HISTORY = ("no run history yet: run 'gitpipe repro' (or 'gitpipe backfill'), "
              "then the report again")
SHORT_ID = 10


def report_data(project: Project, commits: int = 10) -> dict[str, Any]:
    """Everything the report page shows, JSON-ready."""
    order = graph_module.plan(project.graph)
    states = task_states(project, order)
    view = view_of(project.graph)
    runs = project.state.runs_of(project.state.invocations()[:1])
    metrics = metrics_table(project, commits)
    return {"generated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "root": project.root.name,
            "states": [state.value for state in STATE_ORDER],
            "tasks": {task: [STATE_ORDER.index(s.state), list(s.reasons)]
                      for task, s in states.items()},
            "dag": dag_data(view, states, _kinds(project, view)),
            "grid": grid_data(project, view),
            "timeline": timeline_data(runs) if runs else None,
            "metrics": metrics,
            "messages": [] if runs else [NO_HISTORY]}


def dag_data(view: DagView, states: dict[str, TaskState], kinds: dict[str, str]
             ) -> dict[str, Any]:
    """Nodes with their place (layer, row), counts per state and tasks; edges,
    each with the places it passes on its way across layers."""
    ids = [node.id for node in view.nodes]
    depth, short = with_waypoints(ids, list(view.edges))
    layers = layout(ids, short, depth).layers
    places = {node: (layer, row) for layer, nodes in enumerate(layers)
              for row, node in enumerate(nodes)}
    nodes = [{"id": node.id, "title": node.title(view.positions), "grouped": node.grouped,
              "layer": places[node.id][0], "row": places[node.id][1],
              "counts": [counts(node, states).get(state, 0) for state in STATE_ORDER],
              "tasks": list(node.tasks) if node.grouped else [],
              "kind": kinds.get(node.id)}
             for node in view.nodes]
    return {"nodes": nodes, "edges": [[a, b, _via(index, a, b, depth, places)]
                                      for index, (a, b) in enumerate(view.edges)],
            "rows": max((len(nodes) for nodes in layers), default=0)}


def _via(index: int, source: str, target: str, depth: dict[str, int],
         places: dict[str, tuple[int, int]]) -> list[tuple[int, int]]:
    """Where the `index`-th edge crosses each layer; none where the graph had
    too many crossings to split its edges (daglayout.MAX_WAYPOINTS)."""
    layers = range(depth[source] + 1, depth[target])
    if not layers or waypoint(index, layers[0]) not in places:
        return []
    return [places[waypoint(index, layer)] for layer in layers]


def grid_data(project: Project, view: DagView) -> list[dict[str, Any]]:
    """A grid per kind of key (dates, foreach items): its columns, and for each
    collapsed stage the task in each column (None where it has no such key)."""
    kinds: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for node_id, kind in _kinds(project, view).items():
        node = view.node(node_id)
        by_key = {split_task(task)[1] or "": task for task in node.tasks}
        kinds.setdefault(kind, []).append((node.stage, by_key))
    grids = []
    for kind, rows in kinds.items():
        keys = _columns(kind, rows)
        grids.append({"kind": kind, "keys": keys,
                      "rows": [{"stage": stage, "cells": [by_key.get(k) for k in keys]}
                               for stage, by_key in rows]})
    return grids


def _kinds(project: Project, view: DagView) -> dict[str, str]:
    """{collapsed node: "partitions" (dates) or "items" (foreach, matrix)}."""
    return {node.id: "items" if isinstance(project.pipeline.stage(node.stage).partition,
                                           ItemSpec) else "partitions"
            for node in view.nodes if node.grouped}


def _columns(kind: str, rows: list[tuple[str, dict[str, str]]]) -> list[str]:
    seen: dict[str, None] = {}
    for _, by_key in rows:
        seen.update(dict.fromkeys(by_key))
    return sorted(seen) if kind == "partitions" else list(seen)


def timeline_data(runs: list[RunRecord]) -> dict[str, Any]:
    """The runs of one invocation as bars: start relative to the first, on the
    first lane (concurrent slot) free when it started."""
    begin = min(run.started for run in runs)
    runs = sorted(runs, key=lambda r: r.started)
    lanes = assign_slots([run_span(run) for run in runs])
    bars = [{"task": run.task, "start": round(run.started - begin, 3),
             "duration": round(run.duration, 3), "result": run.result, "lane": lane}
            for run, lane in zip(runs, lanes, strict=True)]
    return {"invocation": runs[0].invocation,
            "started": dt.datetime.fromtimestamp(begin, dt.timezone.utc)
            .isoformat(timespec="seconds"),
            "lanes": max(lanes) + 1, "bars": bars,
            "span": round(max(run.started + run.duration for run in runs) - begin, 3)}


def metrics_table(project: Project, commits: int) -> dict[str, Any] | None:
    """The metrics files' values in the work tree and the last `commits`
    commits; None when no stage declares a metrics file."""
    current = metrics_at(project, None)
    if not current:
        return None
    rows = [_metrics_row("workspace", "", "", current)]
    for commit in _recent_commits(project, commits):
        sha = str(commit.id)
        try:
            files = metrics_at(project, sha)
        except BadInputError as exc:
            files = [MetricsFile("", {}, problem=exc.message)]
        when = dt.datetime.fromtimestamp(commit.commit_time, dt.timezone.utc)
        rows.append(_metrics_row(sha[:SHORT_ID], commit.message.split("\n", 1)[0],
                                 when.isoformat(timespec="minutes"), files))
    columns = sorted({key for row in rows for key in row["values"]})
    for column in columns:
        _shown_as_tables_show(column, [row["values"] for row in rows])
    return {"columns": columns, "rows": rows}


def _shown_as_tables_show(column: str, rows: list[dict[str, Any]]) -> None:
    """A column's floats as `metrics show A B` shows them side by side
    (usecases/values.brief_values): 0.726, not float arithmetic's 0.7259999999999999."""
    having = [values for values in rows if column in values]
    for values, shown in zip(having, brief_values([values[column] for values in having]),
                             strict=True):
        values[column] = shown


def _metrics_row(name: str, subject: str, when: str, files: list[MetricsFile]
                 ) -> dict[str, Any]:
    values = {f"{file.path}:{key}": _plain(value) for file in files
              for key, value in file.values.items()}
    return {"commit": name, "subject": subject, "date": when, "values": values,
            "problems": [file.problem for file in files if file.problem]}


def _plain(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


def _recent_commits(project: Project, limit: int) -> Iterator[Any]:
    repo = project.git.repo
    if limit <= 0 or repo.head_is_unborn:
        return
    for count, commit in enumerate(repo.walk(repo.head.target)):
        if count >= limit:
            return
        yield commit
