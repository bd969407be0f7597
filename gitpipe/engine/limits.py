"""What the scheduler is given besides the graph: the limits on how many tasks
run at once (--jobs, a stage's concurrency, backfill's --concurrency, pools)
and the gates of stages that wait for a sensor (`wait_for`)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from gitpipe.core.errors import BadInputError
from gitpipe.engine.reports import ReproOptions, default_jobs
from gitpipe.engine.scheduler import Gate, Limits
from gitpipe.project.root import Project
from gitpipe.trust.checks import terminal_text


def scheduling_limits(project: Project, options: ReproOptions,
                      stage_limits: dict[str, int]) -> Limits:
    """--jobs, each stage's `concurrency`, backfill's --concurrency and named pools."""
    pools = project.config.raw.get("pools") or {}
    group_limits = {f"pool:{name}": int(size) for name, size in pools.items()}
    for stage in project.pipeline.stages:
        caps = [c for c in (stage.concurrency, stage_limits.get(stage.name)) if c]
        if caps:
            group_limits[f"stage:{stage.name}"] = min(caps)
        if stage.pool is not None and f"pool:{stage.pool}" not in group_limits:
            raise BadInputError(f"stage {stage.name!r}: unknown pool {stage.pool!r}",
                                hint="declare it in .gitpipe/config.yaml: pools: {NAME: SIZE}")
    graph = project.graph

    def groups(node: Hashable) -> tuple[str, ...]:
        stage = graph.nodes[node]["task"].stage
        return (f"stage:{stage.name}",) + ((f"pool:{stage.pool}",) if stage.pool else ())

    return Limits(options.jobs or project.config.jobs or default_jobs(), options.keep_going,
                  groups, group_limits)


def sensor_gates(project: Project) -> Callable[[Hashable], Gate | None]:
    """Sensors from `wait_for`: poll the (substituted) path until it exists.
    BadInputError, before anything runs, for one whose poll would carry a
    secret of fsspec's own defaults to the host gitpipe.yaml names."""
    graph = project.graph
    _refuse_secret_polls(graph)

    def gate(node: Hashable) -> Gate | None:
        task = graph.nodes[node]["task"]
        wait = task.stage.wait_for
        path = task.wait_path
        if wait is None or path is None:
            return None
        from gitpipe.storage.remote import url_exists  # a sensor's path may be a URL

        return Gate(lambda: url_exists(path, project.root), wait.poke, wait.timeout,
                    repr(path))

    return gate


def _refuse_secret_polls(graph: Any) -> None:
    from gitpipe.pipeline.committedoptions import defaults_secret_problem

    for node in graph.nodes:
        task = graph.nodes[node]["task"]
        path = task.wait_path
        if task.stage.wait_for is None or path is None:
            continue
        problem = defaults_secret_problem(path)
        if problem is not None:
            raise BadInputError(
                f"gitpipe.yaml: stage {terminal_text(repr(task.stage.name))}: wait_for: {problem}",
                hint="a sensor's URL is the pipeline's: drop the option from fsspec's config "
                     "(FSSPEC_* variables, ~/.config/fsspec), or run without that stage")
