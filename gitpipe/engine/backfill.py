"""The backfill use case: rerun a stage's partitions over a date range, bounded.

It plans the partitions (and, by default, what is downstream of them) and
hands them to the same `execute` that repro uses: one scheduler, one set of
limits, partitions failing independently.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitpipe.core.errors import BadInputError
from gitpipe.core.outcome import Outcome
from gitpipe.engine.refusals import as_repro_will
from gitpipe.engine.reports import Listener, Report, ReproOptions, TaskResult
from gitpipe.engine.runner import execute
from gitpipe.executors.base import OutputSink
from gitpipe.pipeline import graph as graph_module
from gitpipe.pipeline.partitions import PartitionError, PartitionSpec
from gitpipe.project.root import Project
from gitpipe.project.staleness import Kind, Reason
from gitpipe.project.status import status_of


@dataclass(frozen=True)
class BackfillOptions:
    """What `gitpipe backfill` was asked to do."""

    stage: str
    start: str | None = None
    end: str | None = None
    concurrency: int | None = None
    force: bool = False
    downstream: bool = True
    dry_run: bool = False


def partition_names(project: Project, options: BackfillOptions) -> list[str]:
    """The task names of the stage's partitions in [start, end]; exit 2 on bad input."""
    try:
        stage = project.pipeline.stage(options.stage)
    except KeyError:
        raise BadInputError(f"unknown stage {options.stage!r}",
                            hint=graph_module.stage_hint(options.stage,
                                                         project.pipeline.names())) from None
    if stage.partition is None:
        raise BadInputError(f"stage {stage.name!r} is not partitioned",
                            hint="add partition: {by: date, start: …, end: …} to it, or use "
                            "'gitpipe repro'")
    try:
        keys = stage.partition.keys(project.today, options.start, options.end)
    except PartitionError as exc:
        hint = _range_hint(project, stage.name, stage.partition) \
            if isinstance(stage.partition, PartitionSpec) else None
        raise BadInputError(f"backfill {stage.name!r}: {exc}", hint=hint) from None
    return [f"{stage.name}@{key}" for key in keys]


def _range_hint(project: Project, name: str, spec: PartitionSpec) -> str:
    """The range and the forms --start and --end take, for a range error."""
    form = "YYYY-MM-DDTHH" if spec.freq == "hourly" else "YYYY-MM-DD"
    try:
        keys = spec.keys(project.today)
        declared = f"run from {keys[0]} to {keys[-1]} ({spec.freq}, {len(keys)} partitions)"
    except PartitionError:
        declared = f"are declared as {spec.start}..{spec.end}"
    return (f"the partitions of {name!r} {declared}; --start and --end take {form}, "
            "'today' or 'yesterday' inside that range, --end inclusive; a date outside "
            "it needs the range widened: 'start:'/'end:' under the stage's 'partition:' "
            "in gitpipe.yaml (as Airflow's start_date)")


def backfill(project: Project, options: BackfillOptions, repro_options: ReproOptions,
             listener: Listener | None = None, sink: OutputSink | None = None) -> Report:
    """Run the stale (or, with force, all) partitions in the range, never more than
    `concurrency` at once; failures do not stop the other partitions."""
    project.run_on(repro_options.executor)
    targets = partition_names(project, options)
    nodes = graph_module.plan(project.graph, targets, downstream=options.downstream)
    if options.dry_run:
        return _dry_run(project, nodes, set(targets) if options.force else set())
    run_options = repro_options._replace(
        keep_going=True,
        forced=frozenset(targets) if options.force else frozenset())
    limits = {options.stage: options.concurrency} if options.concurrency else {}
    return execute(project, nodes, run_options, listener, sink, limits)


def _dry_run(project: Project, nodes: list, forced: set[str]) -> Report:
    """What the backfill would run: the stale tasks and the forced ones, and
    downstream of a forced one each task its run may change, as downstream
    of a stale one (the run judges them once it has run)."""
    results = []
    verdicts = status_of(project, nodes).tasks
    running: set[str] = set()
    for verdict in verdicts:
        details = verdict.reasons
        named = {r.subject for r in details if r.kind is Kind.UPSTREAM}
        after_forced = tuple(Reason(Kind.UPSTREAM, str(node))
                             for node in project.graph.predecessors(verdict.task)
                             if node in running and node not in named)
        would = verdict.stale or verdict.task in forced or bool(after_forced)
        if would:
            running.add(verdict.task)
        details = (*details, *after_forced)
        if verdict.task in forced:  # as the run says it: forced, whatever the lock holds
            # its downstream reruns after it whatever its outs hold: said, so
            # the dry run says they will run, not that they may
            note = () if project.graph.nodes[verdict.task]["task"].stage.deterministic \
                else (Reason(Kind.NONDETERMINISTIC),)
            details = (Reason(Kind.FORCED),
                       *(r for r in details if r.kind in (Kind.ALWAYS, Kind.UPSTREAM)), *note)
        results.append(TaskResult(verdict.task, Outcome.RAN if would else Outcome.SKIPPED,
                                  reasons=tuple(map(str, details)), details=details))
    return Report(as_repro_will(project, nodes, verdicts, results), dry_run=True)
