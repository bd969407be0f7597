"""The repro use case: plan → schedule(step) → lock, returning a Report.

Each Task is judged when it becomes ready, after its upstream finished, so an
upstream rerun that produced identical outs does not rerun it (early cutoff).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable
from typing import NamedTuple

from gitpipe import graph as graph_module
from gitpipe.errors import SpecError
from gitpipe.outcome import Outcome
from gitpipe.project import Project
from gitpipe.staleness import Staleness
from gitpipe.status import any_stale, status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpipe.executors import OutputSink

# NOTE: NamedTuples, not dataclasses, like the records of the status path
# (docs/architecture.md): a no-op repro imports this module, and dataclasses
# (with inspect) plus four generated classes were ~10 ms of it.


class ReproOptions(NamedTuple):
    """What `gitpipe repro` was asked to do (`options._replace(jobs=4)` for a variant)."""

    targets: tuple[str, ...] = ()
    jobs: int | None = None
    force: bool = False
    dry_run: bool = False
    keep_going: bool = False
    retry_backoff: float = 1.0
    pull: bool = False
    push: bool = False
    remote: str | None = None
    run_cache: bool = True
    executor: str | None = None
    forced: frozenset[str] = frozenset()


class TaskResult(NamedTuple):
    """How one Task ended in this repro."""

    task: str
    outcome: Outcome
    duration: float = 0.0
    reasons: tuple[str, ...] = ()
    message: str = ""
    attempts: int = 0
    log: str | None = None


class Report(NamedTuple):
    """Every planned Task's result, in plan order."""

    results: list[TaskResult] = []  # noqa: RUF012 - a report is read, never changed
    dry_run: bool = False

    @property
    def failed(self) -> list[TaskResult]:
        return [r for r in self.results if r.outcome in (Outcome.FAILED, Outcome.BLOCKED)]

    @property
    def ok(self) -> bool:
        return not any(not r.outcome.ok for r in self.results)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)


class Event(NamedTuple):
    """A progress event for whoever renders: 'start', 'skip', 'retry', 'done', 'fail',
    'restored', 'warn' (something went wrong and was worked around)."""

    task: str
    kind: str
    message: str = ""


Listener = Callable[[Event], None]


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def repro(project: Project, options: ReproOptions, listener: Listener | None = None,
          sink: OutputSink | None = None) -> Report:
    """Bring the targets (all stages by default) up to date; never raises for a stage failure."""
    project.run_on(options.executor)
    graph = project.graph
    chosen = graph_module.select(graph, options.targets) if options.targets else None
    if options.dry_run:
        return _dry_run(project, options)
    nodes = graph_module.plan(graph, chosen)
    # NOTE: the common no-op: one read-only pass, as `status` does, and no
    # ProjectLock, threads or lock rewrite when nothing is stale.
    if not (options.force or options.forced) and not any_stale(project, nodes):
        return _skipped(nodes)
    from gitpipe.runner import execute

    return execute(project, nodes, options, listener, sink)


def noop_report(project: Project) -> Report | None:
    """What `gitpipe repro` reports when every stage is up to date; None when
    something is stale (and would run). Reads only: nothing runs or is locked."""
    nodes = graph_module.plan(project.graph, None)
    return None if any_stale(project, nodes) else _skipped(nodes)


def _skipped(nodes: list[Hashable]) -> Report:
    return Report([TaskResult(str(node), Outcome.SKIPPED) for node in nodes])


def check_params(project: Project, nodes: list[Hashable], wait_for_writers: bool = True) -> None:
    """Bad params are bad input: exit 2 before anything runs, not a failed stage.

    With `wait_for_writers`, params files that a stage writes are left for that
    stage's turn (repro); `validate` checks every file as it is now.
    """
    produced = ({out.path for s in project.pipeline.stages for out in s.outs}
                if wait_for_writers else set())
    reader = project.params_reader()
    problems: list[str] = []
    for node in nodes:
        stage = project.graph.nodes[node]["task"].stage
        if any(ref.file in produced for ref in stage.params):
            continue
        try:
            reader.values(stage)
        except SpecError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SpecError(problems)


def _dry_run(project: Project, options: ReproOptions) -> Report:
    verdicts = status(project, options.targets).tasks
    results = []
    for verdict in verdicts:
        reasons = tuple(str(r) for r in verdict.reasons) or (("forced",) if options.force else ())
        results.append(TaskResult(verdict.task, _dry_outcome(verdict, options.force),
                                  reasons=reasons))
    return Report(results, dry_run=True)


def _dry_outcome(verdict: Staleness, force: bool) -> Outcome:
    if verdict.needs_run or force:
        return Outcome.RAN
    return Outcome.RECORDED if verdict.stale else Outcome.SKIPPED
