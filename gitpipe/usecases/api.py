"""The Python API a user imports: `gitpipe.Project(path).status()`, `.repro(...)`.

A thin facade over the use cases; the CLI calls the same methods.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from gitpipe.project import root as project_module
from gitpipe.project.projectlock import ProjectLock
from gitpipe.project.reasons import Kind
from gitpipe.project.status import StatusReport, has_reason
from gitpipe.project.status import status as run_status
from gitpipe.storage.state import RunRecord

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import gitpipe.usecases.artifactlog
    import gitpipe.usecases.runtrace
    from gitpipe.engine.backfill import BackfillOptions
    from gitpipe.engine.reports import Listener, Report, ReproOptions
    from gitpipe.executors.base import OutputSink
    from gitpipe.pipeline.model import Task
    from gitpipe.storage.remote import Progress, Transfer
    from gitpipe.usecases import garbage, reportpage, transfer
    from gitpipe.usecases.metricfiles import MetricsFile
    from gitpipe.usecases.values import Change, MetricsDiff


# The use cases beyond status are imported inside their methods: repro alone
# (scheduler, executors, Kubernetes runner) would cost every no-op more than
# the rest of its work.


NEAR_MISS_HINTS = 20  # missing deps given a near miss by `validate`; past them, data to come


def _folders_above(path: str) -> list[str]:
    """`a` and `a/b` for `a/b/c`."""
    parts = path.split("/")
    return ["/".join(parts[:depth]) for depth in range(1, len(parts))]


class Project(project_module.Project):
    """A gitpipe project with its use cases as methods."""

    @property
    def key_names(self) -> dict[str, str]:
        """What the spec calls each foreach stage's keys where not `${key}`
        (pipeline/items.key_names): how a line its nodes share names them."""
        from gitpipe.pipeline.items import key_names

        return key_names(self.pipeline.stages)

    def validate(self) -> list[str]:
        """Parse spec and params and build the DAG; raises SpecError listing every problem."""
        from gitpipe.project.status import check_params

        graph = self.graph
        self.check_paths_inside()
        check_params(self, list(graph.nodes), wait_for_writers=False)
        self.refuse_tracked_outs([graph.nodes[node]["task"] for node in graph.nodes])
        return [str(n) for n in graph.nodes]

    def missing_inputs(self) -> list[str]:
        """Deps that are not in the work tree and that no stage writes: not an
        error (data may arrive before a run), but what a typo looks like."""
        nodes = self.graph.nodes
        tasks = [nodes[node]["task"] for node in nodes]
        outs = [out.path for task in tasks for out in task.outs]
        # An out, a folder above one, or a path below one: looked up, not
        # compared with every out (a foreach of 20,000 items has as many).
        made = {*outs, *(folder for out in outs for folder in _folders_above(out))}
        out_set = set(outs)
        warnings: list[str] = []
        for task in tasks:
            for dep in task.deps:
                if dep in made or os.path.lexists(self.root / dep) or \
                        any(folder in out_set for folder in _folders_above(dep)):
                    continue
                warnings.append(self._missing_dep_warning(task, dep, outs, len(warnings)))
        return warnings

    def _missing_dep_warning(self, task: Task, dep: str, outs: list[str], before: int) -> str:
        """Where the dep is declared, what is wrong, what a repro does about it
        (refuses the stage, as DVC's does), and a near miss among the files
        beside it and the outs, for the first NEAR_MISS_HINTS of them (`before`:
        how many came before it): a typo is one of a few; each near miss is
        compared with every out."""
        from gitpipe.engine.refusals import near_miss

        near = near_miss(self.root, dep, outs, {out.path for out in task.outs}) \
            if before < NEAR_MISS_HINTS else None
        return (f"{self._spec_place(task.stage.name)}: stage {task.name!r}: dependency "
                f"{dep!r} does not exist and no stage declares it as an out: 'gitpipe repro' "
                f"refuses to run the stage until it exists{f' ({near})' if near else ''}")

    @cached_property
    def _spec_place(self) -> Callable[[str], str]:
        """Where a stage is declared, for messages (gitpipe.yaml parsed again, once)."""
        from gitpipe.pipeline.parse import spec_places

        return spec_places(self.root, self.pipeline.source)

    def python_notes(self) -> list[str]:
        """What `python:` deps cannot follow: dynamic imports, modules that do
        not parse, roots that name no module (docs/reference/gitpipe-yaml.md)."""
        from gitpipe.pipeline.model import Task
        from gitpipe.project.pydeps import dynamic_imports

        notes: list[str] = []
        for stage in self.pipeline.stages:
            if stage.python:
                notes.extend(dynamic_imports(Task.of(stage), self.workspace))
        self.state.flush()
        return list(dict.fromkeys(notes))

    def status(self, targets: Iterable[str] = ()) -> StatusReport:
        """Judge every task the `targets` (stage or task names) need, all tasks
        without targets: which are stale, and why. Runs nothing."""
        report = run_status(self, list(targets))
        if not targets:
            from gitpipe.project.lockguard import orphaned_entries, renamed_to

            judged = {verdict.task for verdict in report.tasks}
            orphaned = tuple(orphaned_entries(self, judged))
            report = report._replace(orphaned=orphaned, renamed=tuple(
                renamed_to(self, orphaned) if orphaned else ()))
        if not has_reason(report, Kind.ENV):
            return report
        from gitpipe.usecases.envbefore import with_env_before  # only to name env changes

        return with_env_before(self, report)

    def repro(self, targets: Iterable[str] = (), *, options: ReproOptions | None = None,
              listener: Listener | None = None, sink: OutputSink | None = None) -> Report:
        """Bring the `targets` (all stages by default) up to date: run what is
        stale, restore what the run-cache holds, record each in the lock.
        `options` are `gitpipe repro`'s flags; `listener` hears each task start
        and end, `sink` takes the commands' output. A stage that fails is in the
        report, never raised. Ctrl-C during the run raises ReproInterrupted (a
        KeyboardInterrupt) whose `report` says how each task ended."""
        from gitpipe.engine.reports import ReproOptions
        from gitpipe.engine.repro import repro

        opts = options or ReproOptions()
        if targets:
            opts = opts._replace(targets=tuple(targets))
        return repro(self, opts, listener, sink)

    def backfill(self, options: BackfillOptions, repro_options: ReproOptions | None = None,
                 listener: Listener | None = None, sink: OutputSink | None = None) -> Report:
        """Run the stale partitions of a stage over a date range (`options`, as
        `gitpipe backfill`'s flags), never more than `options.concurrency` at
        once; a failed partition does not stop the others."""
        from gitpipe.engine.backfill import backfill
        from gitpipe.engine.reports import ReproOptions

        return backfill(self, options, repro_options or ReproOptions(), listener, sink)

    def checkout(self, targets: Iterable[str] = (),
                 force: bool = False) -> transfer.CheckoutReport:
        """Make the outs of `targets` in the work tree match the lock, from the
        cache, running nothing. An out changed by hand whose content the cache
        lacks is kept unless `force`."""
        from gitpipe.usecases import transfer

        with ProjectLock(self.gitpipe_dir, self.config.lock_wait):
            return transfer.checkout(self, targets, force)

    def push(self, targets: Iterable[str] = (), remote: str | None = None, jobs: int = 8,
             progress: Progress | None = None, scope: str | None = None) -> Transfer:
        """Upload the lock's outs (of `targets`) and their run-cache entries that
        `remote` (default: the config's) lacks, `jobs` at a time; the entries
        signed and written under `scope` (default: the main scope)."""
        from gitpipe.usecases import transfer

        return transfer.push_outs(self, self.remote(remote), targets, jobs, progress, scope)

    def fetch(self, targets: Iterable[str] = (), remote: str | None = None, jobs: int = 8,
              progress: Progress | None = None) -> Transfer:
        """Download into the cache the lock's outs (of `targets`) it lacks, each
        verified against its digest; the work tree is left alone."""
        from gitpipe.usecases import transfer

        return transfer.fetch_outs(self, self.remote(remote), targets, jobs, progress)

    def pull(self, targets: Iterable[str] = (), remote: str | None = None, jobs: int = 8,
             progress: Progress | None = None,
             force: bool = False) -> tuple[Transfer, transfer.CheckoutReport]:
        """Fetch, then checkout: each missing file is downloaded once, into the
        cache and the work tree from the same verified read."""
        from gitpipe.usecases import transfer

        return transfer.pull(self, self.remote(remote), targets, jobs, progress, force)

    def push_run_cache(self, targets: Iterable[str] = (), remote: str | None = None,
                       jobs: int = 8, progress: Progress | None = None,
                       warnings: list[str] | None = None,
                       scope: str | None = None) -> Transfer:
        """Upload every local run-cache entry of `targets` (all stages by default)
        with the objects it names, where the remote lacks them, signed, under
        `scope` (default: the main scope)."""
        from gitpipe.usecases import runtransfer

        return runtransfer.push_run_cache(self, self.remote(remote), targets, jobs, progress,
                                          warnings, scope)

    def fetch_run_cache(self, targets: Iterable[str] = (), remote: str | None = None,
                        jobs: int = 8, progress: Progress | None = None,
                        warnings: list[str] | None = None,
                        scopes: tuple[str, ...] = ()) -> Transfer:
        """Download every remote run-cache entry of `targets` that the cache lacks
        and a key the remote trusts signed (main scope, then `scopes`), with the
        objects it names, verified."""
        from gitpipe.usecases import runtransfer

        return runtransfer.fetch_run_cache(self, self.remote(remote), targets, jobs, progress,
                                           warnings, scopes)

    def gc(self, scope: garbage.GcScope | None = None, remote: str | None = None,
           dry_run: bool = False, confirm: garbage.Confirm | None = None,
           progress: garbage.Tick | None = None) -> garbage.GcPlan:
        """Remove what no lock in `scope` names (default: the work tree's lock)
        from the cache or a remote; `confirm` is asked before anything goes
        (without it, a remote's deletions go ahead only where config.local.yaml
        sets its URL and options, as `--yes`'s do); `progress` hears how many
        items go, then each one gone."""
        from gitpipe.usecases import garbage
        from gitpipe.usecases.gcyes import without_asking

        store = self.remote(remote) if remote is not None else None
        refusal = None
        if store is not None and confirm is None:  # the CLI's --yes comes this way too
            confirm = refusal = without_asking(self, store.name)
        plan = garbage.gc(self, scope or garbage.GcScope(), store, dry_run, confirm, progress)
        if refusal is not None and not dry_run:
            refusal(plan)  # with nothing to delete too: a CI job fails from its first run
        return plan

    def dag(self, fmt: str = "ascii", everything: bool = False, targets: Iterable[str] = (),
            status: bool = False) -> str:
        """The task graph drawn as `fmt`: "ascii" (a picture, or the list form
        for a large graph), "list", "dot", "mermaid" or "json". A partitioned
        or foreach stage is one node unless `everything`; with `targets`, only
        what they need; with `status`, each node's state."""
        from gitpipe.pipeline import dagviz
        from gitpipe.pipeline import graph as graph_module
        from gitpipe.pipeline.dagview import view_of

        graph = self.graph
        chosen = graph_module.plan(graph, graph_module.select(graph, targets)) \
            if targets else None
        states = None
        if status:
            from gitpipe.project.taskstates import task_states

            states = task_states(self, chosen if chosen is not None else graph_module.plan(graph))
        return dagviz.FORMATS[fmt](view_of(graph, chosen, everything, self.key_names), states)

    def report(self, commits: int = 10) -> reportpage.Page:
        """The report page (one self-contained HTML text): the graph with each
        task's state, the partitions grid, the last repro or backfill and the
        metrics of the last `commits` commits; `messages` say what it lacks."""
        from gitpipe.usecases import reportpage

        return reportpage.build(self, commits)

    def ignore_generated(self, target: Path) -> str | None:
        """Add `target`, a page gitpipe generated, to the root .gitignore (unless
        git ignores it already, or it lies outside); returns the line added."""
        from gitpipe.project.gitignore import ignore_generated

        return ignore_generated(self.root, self.git, target)

    def runs(self, task: str | None = None, limit: int = 50) -> list[RunRecord]:
        """The `limit` most recent runs (of `task`, or of every task), newest first."""
        records = self.state.runs(task, limit)
        if task and not records:
            # No history and no such stage: a typo, said as every command says it.
            # (A stage removed from gitpipe.yaml still shows the runs it had.)
            from gitpipe.pipeline import graph as graph_module

            graph_module.select(self.graph, [task])
        return records

    def run_trace(self, pick: gitpipe.usecases.runtrace.TracePick | None = None) -> dict[str, Any]:
        """The runs of the invocations `pick` names (default: the newest) as a
        Chrome/Perfetto trace document, critical path marked."""
        from gitpipe.usecases import runtrace

        chosen = runtrace.pick_invocations(self.state, pick or runtrace.TracePick())
        return runtrace.trace_document(self.state.runs_of(chosen), self.graph)

    def log(self, path: str, rev: str | None = None,
            limit: int | None = None) -> gitpipe.usecases.artifactlog.ArtifactLog:
        """The history of the out `path` (or a file inside a directory out) from
        `rev` (default HEAD) back, from git alone: each commit whose gitpipe.lock
        changed it, newest first, with what produced that version."""
        from gitpipe.usecases import artifactlog

        return artifactlog.artifact_log(self, path, rev, limit)

    def params_diff(self, old: str | None = "HEAD", new: str | None = None,
                    everything: bool = False) -> list[Change]:
        """The params the stages use whose values differ from `old` to `new`
        (revisions; None is the work tree), read from the params files."""
        from gitpipe.usecases import values

        return values.params_diff(self, old, new, everything)

    def metrics_show(self, revs: Iterable[str | None] = (None,)) -> dict[str, list[MetricsFile]]:
        """{revision (or "workspace"): its metrics files' values}."""
        from gitpipe.usecases import values

        return values.metrics_show(self, list(revs))

    def metrics_diff(self, old: str | None = "HEAD", new: str | None = None,
                     everything: bool = False) -> MetricsDiff:
        """The metrics whose values differ from `old` to `new` (None: the work
        tree), and the files that could not be read."""
        from gitpipe.usecases import values

        return values.metrics_diff(self, old, new, everything)


def init(path: str = ".") -> Project:
    """Make the directory `path`, inside a git work tree, a gitpipe project
    (`.gitpipe/`, its config and ignore rules; idempotent), and open it."""
    from pathlib import Path

    project_module.init_project(Path(path))
    return Project(path, find=False)
