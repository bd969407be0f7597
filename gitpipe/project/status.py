"""The status use case: every Task of the plan judged against the lock, in DAG order.

Reading only: nothing here runs a command or writes the lock.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import NamedTuple

from gitpipe.core.digraph import Dag
from gitpipe.core.errors import SpecError
from gitpipe.core.jsondoc import header
from gitpipe.hashing.digests import gc_paused
from gitpipe.pipeline import graph as graph_module
from gitpipe.pipeline.lockfile import LockEntry
from gitpipe.pipeline.model import Task
from gitpipe.project.projectlock import RunningStage, running_stages
from gitpipe.project.reasons import Kind, unfinished
from gitpipe.project.root import Project
from gitpipe.project.staleness import (
    Reason,
    Staleness,
    dep_algorithms,
    judge,
    observe,
    outs_hashed,
)
from gitpipe.project.workdirs import unusable_wdirs


class StatusReport(NamedTuple):
    """Staleness of every planned Task, in topological order; and the stages
    running in the work tree as it is judged (the project lock's record)."""

    tasks: tuple[Staleness, ...]
    running: tuple[RunningStage, ...] = ()
    # Lock entries of tasks gitpipe.yaml no longer declares (the next repro drops them).
    orphaned: tuple[str, ...] = ()
    # (task, former): a task new to the lock that declares an orphaned entry's
    # outs (a stage renamed), which a repro restores from it (lockguard.renamed_to).
    renamed: tuple[tuple[str, str], ...] = ()

    @property
    def stale(self) -> bool:
        return any(s.stale for s in self.tasks)

    def to_json(self) -> dict[str, object]:
        """The `status --json` document (docs/reference/json.md): `reasons` are the
        sentences, `reasons_detail` the same reasons as data."""
        rows = []
        for verdict in self.tasks:
            stage, _, partition = verdict.task.partition("@")
            rows.append({"name": stage, "partition": partition or None, "task": verdict.task,
                         "stale": verdict.stale, "reasons": [str(r) for r in verdict.reasons],
                         "reasons_detail": [r.to_json() for r in verdict.reasons],
                         "note": verdict.note.to_json() if verdict.note else None})
        return {**header("status"), "stale": self.stale, "stages": rows,
                "running": [stage.to_json() for stage in self.running],
                "orphaned": list(self.orphaned),
                "renamed": [{"task": task, "former": former} for task, former in self.renamed]}


def status(project: Project, targets: Iterable[str] = ()) -> StatusReport:
    """Judge every Task the targets need (all Tasks without targets)."""
    # The spec, the lock and every task's observation are many small objects
    # that live until the answer and form no cycles: a collection over them
    # finds nothing to free.
    with gc_paused():
        begun = not targets and _walks_begun(project)
        try:
            graph = project.graph
            chosen = graph_module.select(graph, targets) if targets else None
            order = graph_module.plan(graph, chosen)
        except BaseException:
            project.workspace.end_pass()  # the walks begun are stopped
            raise
        report = status_of(project, order, walk_ahead=True, begun=begun)
    judged = {verdict.task for verdict in report.tasks}
    running = tuple(stage for stage in running_stages(project.gitpipe_dir)
                    if chosen is None or stage.task in judged)
    return with_unusable_wdirs(project, with_last_runs(project, report._replace(running=running)))


def _walks_begun(project: Project) -> bool:
    """Begin the reading pass of a status of every task (Workspace.walk_ahead)
    from the stages' tasks, before the graph is built: the graph is then built
    while the forked walks run. False where a stage's tasks cannot be made: the
    graph names the problem, with its lines. (A problem of the pipeline itself
    is raised here, as the graph would raise it first.)"""
    _ = project.pipeline  # its own problem raised here, not caught below
    try:
        tasks = project.tasks
    except SpecError:
        return False
    refuse_links_out(project, tasks)
    project.workspace.walk_ahead([path for task in tasks for path in _paths_of(task)])
    return True


def refuse_links_out(project: Project, tasks: Iterable[Task]) -> None:
    """Refuse, before any of them is read, the tasks' deps and outs that a
    symlink leads outside the project or into `.git` or `.gitpipe`: repro
    refuses them, and a verdict on such a file would say whether it holds the
    bytes a committed lock entry names (`check_paths_inside`)."""
    tasks = list(tasks)
    project.check_paths_inside({task.name: list(task.deps) for task in tasks},
                               outs={task.name: [out.path for out in task.outs] for task in tasks})


_REASONS = operator.itemgetter(1)  # Staleness.reasons


def has_reason(report: StatusReport, kind: Kind) -> bool:
    """Does any task of `report` have a reason of `kind`? A no-op status has
    no reasons: one pass over the tasks at C speed."""
    stale = filter(_REASONS, report.tasks)
    return any(r.kind is kind for verdict in stale for r in verdict.reasons)


def with_last_runs(project: Project, report: StatusReport) -> StatusReport:
    """`report`, each `new` task that has run here before and never completed
    saying so (`never completed: its last run failed`): the run history is
    read only when a task has no lock entry."""
    if not has_reason(report, Kind.NEW):
        return report
    last = project.state.last_results()
    return report._replace(tasks=tuple(said_unfinished(verdict, last) for verdict in report.tasks))


def with_unusable_wdirs(project: Project, report: StatusReport) -> StatusReport:
    """`report`, where anything is stale, each task whose stage's `wdir` is
    missing, not a folder or outside the repository saying so first: a
    repro of the same targets refuses to start for it, stale or not
    (`check_paths_inside` of the planned tasks). A
    missing wdir that a stale task's out makes is left for its turn; where
    nothing is stale a repro runs nothing, and says so."""
    if not report.stale:
        return report
    stale = {verdict.task for verdict in report.tasks if verdict.stale}
    tasks = project.tasks
    made = (out.path for task in tasks if task.name in stale for out in task.outs)
    faults = unusable_wdirs(project.root, project.pipeline.stages, made)
    if not faults:
        return report
    stages = {task.name: task.stage for task in tasks if task.stage.name in faults}

    def said(verdict: Staleness) -> Staleness:
        stage = stages.get(verdict.task)
        if stage is None:
            return verdict
        first = Reason(Kind.WDIR_UNUSABLE, stage.wdir, None, faults[stage.name])
        return verdict._replace(reasons=(first, *verdict.reasons))
    return report._replace(tasks=tuple(said(verdict) for verdict in report.tasks))


def said_unfinished(verdict: Staleness, last_results: Mapping[str, str]) -> Staleness:
    """`verdict`, its `new` reason saying so when the task's last run (in
    `last_results`, the run history's) did not complete: one sentence for
    status, a dry run and the run itself."""
    last = last_results.get(verdict.task)
    return verdict._replace(reasons=tuple(unfinished(r, last) for r in verdict.reasons))


def status_of(project: Project, order: list[Hashable],
              forgive: Callable[[Staleness], bool] | None = None,
              walk_ahead: bool = False, begun: bool = False) -> StatusReport:
    """Judge the given nodes, in the given (topological) order. A stale verdict
    that `forgive` accepts is reported as it is but does not make the nodes
    after it stale (repro --allow-missing). With `walk_ahead` (a status, which
    runs nothing), the directories are walked first, in forked shares, and a
    path asked for by several tasks is hashed once; `begun`: the caller began
    that pass (walk_ahead) already, for every node of `order` at least."""
    try:
        return StatusReport(tuple(_verdicts(project, order, forgive, walk_ahead, begun)))
    finally:
        project.workspace.end_pass()
        project.state.flush()


def any_stale(project: Project, order: list[Hashable]) -> bool:
    """Is anything stale? Stops at the first stale node: before a full build
    there is no point judging the rest (the runner judges each anyway)."""
    return prejudge(project, order).stale


class Prejudged(NamedTuple):
    """A read-only pass over the plan, up to its first stale node: whether one
    is stale, and the nodes judged up to date before it, against `entries`."""

    stale: bool
    up_to_date: frozenset[str]
    entries: dict[str, LockEntry]


def prejudge(project: Project, order: list[Hashable]) -> Prejudged:
    """Judge `order` (a topological plan) until the first stale node. Every
    node judged before it is up to date, and so are all its upstream nodes
    (they come earlier), so no rerun can change its verdict: the runner may
    skip it without judging again, if the lock is still `entries`."""
    done: set[str] = set()
    try:
        for verdict in _verdicts(project, order):
            if verdict.stale:
                return Prejudged(True, frozenset(done), project.lock_entries)
            done.add(verdict.task)
        return Prejudged(False, frozenset(done), project.lock_entries)
    finally:
        project.state.flush()


def _verdicts(project: Project, order: list[Hashable],
              forgive: Callable[[Staleness], bool] | None = None,
              walk_ahead: bool = False, begun: bool = False) -> Iterator[Staleness]:
    graph = project.graph
    # Each judgement finds python: deps' modules anew (project/pydeps.py): a
    # Project kept between calls (the API) sees the edits made in between.
    project.workspace.module_finder = None
    nodes = graph.nodes
    tasks: list[Task] = [nodes[node]["task"] for node in order]
    if not begun:  # a status's walks began after the same refusal, of every task
        refuse_links_out(project, tasks)
    paths = [path for task in tasks for path in _paths_of(task)]
    if walk_ahead and not begun:  # the walks go on in forked processes while the rest is read
        project.workspace.walk_ahead(paths)
    project.workspace.prefetch(paths)
    params = project.params_reader()
    entries = project.lock_entries
    algorithms: list[list[tuple[str, str | None]]] = []
    if walk_ahead:  # and while the paths that need no walk are hashed
        # Each task's deps by the algorithm of its entry, for hash_ahead and
        # for observe alike (a pass that hashes nothing ahead leaves each task's
        # to observe: a repro's judgement may stop at its first stale task).
        algorithms = [dep_algorithms(task, entries.get(task.name)) for task in tasks]
        project.workspace.hash_ahead([found for task, deps in zip(tasks, algorithms, strict=True)
                                      for found in (*deps, *outs_hashed(task))])
    stale: set[str] = set()
    writers = StaleWriters(graph)
    for index, (node, task) in enumerate(zip(order, tasks, strict=True)):
        # Nothing stale yet (a no-op's every task): no predecessor to look at.
        upstream = [str(p) for p in graph.predecessors(node) if p in stale] if stale else []
        entry = entries.get(task.name)
        seen = observe(task, project.workspace, params, entry,
                       algorithms[index] if algorithms else None)
        verdict = judge(task, entry, seen, upstream,
                        awaited=writers.among(upstream) if upstream else None)
        if verdict.needs_run and not (forgive is not None and forgive(verdict)):
            stale.add(task.name)  # a re-recorded task's outs stay as they are
        yield verdict


class StaleWriters:
    """Whether stale upstream tasks (which run first) write a path, as the
    graph's edges are drawn (the out itself, a directory out holding it, or an
    out inside it). One index of every task's outs, made at the first missing
    dep asked about and kept for the whole judging pass: an index of each
    task's own stale upstream tasks, made anew for each, grows with the square
    of two wide foreach stages where one reads the other's folder."""

    def __init__(self, graph: Dag) -> None:
        self.graph = graph
        self._index: graph_module.OutIndex | None = None

    def among(self, names: Iterable[str]) -> Callable[[str], bool]:
        """`writes(path)`: whether one of the tasks `names` writes it."""
        wanted: set[str] | None = None

        def writes(path: str) -> bool:
            nonlocal wanted
            if wanted is None:  # only for a new task that misses a dep
                wanted = set(names)
            if not wanted:
                return False
            if self._index is None:
                nodes = self.graph.nodes
                self._index = graph_module.OutIndex(nodes[node]["task"] for node in nodes)
            return any(task.name in wanted for task in self._index.producers(path))
        return writes


def _paths_of(task: Task) -> list[str]:
    return [*task.deps, *(out.path for out in task.outs)]


__all__ = ["Prejudged", "Reason", "StaleWriters", "StatusReport", "any_stale", "prejudge", "status",
           "status_of"]


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
