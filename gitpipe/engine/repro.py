"""The repro use case: plan → schedule(step) → lock, returning a Report.

Each Task is judged when it becomes ready, after its upstream finished, so an
upstream rerun that produced identical outs does not rerun it (early cutoff).
"""

from __future__ import annotations

from collections.abc import Hashable

from gitpipe.core.outcome import Outcome
from gitpipe.engine.allowmissing import NOTE
from gitpipe.engine.reports import Listener, Report, ReproOptions, TaskResult
from gitpipe.pipeline import graph as graph_module
from gitpipe.project.lockguard import orphaned_entries
from gitpipe.project.root import Project
from gitpipe.project.staleness import Kind, Reason, Staleness, frozen_note
from gitpipe.project.status import prejudge, status_of, with_last_runs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpipe.executors.base import OutputSink

def repro(project: Project, options: ReproOptions, listener: Listener | None = None,
          sink: OutputSink | None = None) -> Report:
    """Bring the targets (all stages by default) up to date; never raises for a stage failure."""
    project.run_on(options.executor)
    nodes = planned(project, options)
    left = _left_alone(project, nodes, options)
    if options.dry_run:
        return _dry_run(project, nodes, options, left)
    nodes = [node for node in nodes if str(node) not in left]
    # The common no-op: one read-only pass, as `status` does, and no
    # ProjectLock, threads or lock rewrite when nothing is stale.
    prejudged = None
    if not (options.force or options.forced):
        prejudged = prejudge(project, nodes)
        if not prejudged.stale and not orphaned_entries(project):
            return _with_left_alone(_skipped(project, nodes), left)
    from gitpipe.engine.runner import execute

    return _with_left_alone(execute(project, nodes, options, listener, sink,
                                    prejudged=prejudged), left)


def planned(project: Project, options: ReproOptions) -> list[Hashable]:
    """The nodes a repro considers: every one; or the targets with what they
    need; or, with `downstream`, the targets with what depends on them; or,
    with `single_item`, the targets alone."""
    graph = project.graph
    chosen = graph_module.select(graph, options.targets) if options.targets else None
    return graph_module.plan(graph, chosen, downstream=options.downstream,
                             upstream=not (options.downstream or options.single_item))


def _left_alone(project: Project, nodes: list[Hashable], options: ReproOptions) -> set[str]:
    if not options.allow_missing or options.force:
        return set()
    from gitpipe.engine.allowmissing import allowed_missing

    return allowed_missing(project, nodes, options.remote)


def _with_left_alone(report: Report, left: set[str]) -> Report:
    if not left:
        return report
    alone = [TaskResult(name, Outcome.SKIPPED, reasons=(NOTE,)) for name in sorted(left)]
    return report._replace(results=[*alone, *report.results])


def noop_report(project: Project, nodes: list[Hashable] | None = None) -> Report | None:
    """What `gitpipe repro` reports when every planned node (all by default) is
    up to date; None when something is stale (and would run). Reads only:
    nothing runs or is locked. The lock's entries of tasks gitpipe.yaml no
    longer has are dropped by a repro, so they too make it None."""
    if not project.lock_entries:
        # Nothing has run yet (a first build): any planned stage is stale, so
        # the pipeline is not loaded and planned just to say so.
        return None
    if nodes is None:
        nodes = graph_module.plan(project.graph, None)
    if prejudge(project, nodes).stale or orphaned_entries(project):
        return None  # a run, or lock entries to drop
    return _skipped(project, nodes)


def _skipped(project: Project, nodes: list[Hashable]) -> Report:
    """Every node skipped: up to date, or frozen (said so)."""
    tasks, entries = project.graph.nodes, project.lock_entries
    results = []
    for node in nodes:
        task = tasks[node]["task"]
        note = frozen_note(task, entries.get(task.name)) if task.stage.frozen else None
        results.append(TaskResult.skipped(str(node), note))
    return Report(results)


def _dry_run(project: Project, nodes: list[Hashable], options: ReproOptions,
             left: set[str]) -> Report:
    from gitpipe.engine.refusals import as_repro_will

    verdicts = with_last_runs(project, status_of(project, nodes,
                                                  forgive=lambda v: v.task in left)).tasks
    if (options.force or any(v.stale for v in verdicts if v.task not in left)
            or orphaned_entries(project)):  # a repro starts for these (`repro` above)
        # What a repro refuses for before it runs anything.
        project.check_paths_inside(planned=[project.graph.nodes[n]["task"] for n in nodes
                                            if str(n) not in left])
    results = []
    for verdict in verdicts:
        if verdict.task in left:
            results.append(TaskResult(verdict.task, Outcome.SKIPPED, reasons=(NOTE,)))
            continue
        if not verdict.stale and not options.force and verdict.note is not None:
            results.append(TaskResult.skipped(verdict.task, verdict.note))
            continue
        details = verdict.reasons or ((Reason(Kind.FORCED),) if options.force else ())
        results.append(TaskResult(verdict.task, _dry_outcome(verdict, options.force),
                                  reasons=tuple(map(str, details)), details=details))
    return Report(as_repro_will(project, nodes, verdicts, results), dry_run=True)


def _dry_outcome(verdict: Staleness, force: bool) -> Outcome:
    if verdict.needs_run or force:
        return Outcome.RAN
    return Outcome.RECORDED if verdict.stale else Outcome.SKIPPED
