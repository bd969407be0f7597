"""Running planned Tasks: the scheduler's step for each one (judge, restore from the
run-cache; then engine/commands.py: run through the task's executor, record
outs, update the lock).

Which executor runs a task is a name the registry resolves; the runner calls
each through the Executor protocol (gitpipe.executors.base) alone.

Split from repro.py so that a no-op `repro` never imports the executors, the
Kubernetes runner or the remote code.
"""


from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Hashable

from gitpipe.core.errors import GitpipeError, RecordError, debugging
from gitpipe.engine.commands import CommandSteps
from gitpipe.engine.limits import scheduling_limits, sensor_gates
from gitpipe.engine.midrun import inputs_read
from gitpipe.engine.refusals import frozen_maker, missing_message
from gitpipe.engine.reports import Event, Listener, Report, ReproOptions, Said, TaskResult
from gitpipe.engine.runcache import FormerEntries, RunCache, locked_outs, repro_sharing
from gitpipe.engine.scheduler import Outcome, Scheduler, run_until_stopped
from gitpipe.engine.slots import CommandSlots
from gitpipe.engine.unreached import closing_report
from gitpipe.executors.base import Context, Executors, OutputSink
from gitpipe.hashing.digests import XXH3
from gitpipe.hashing.statsig import Signature
from gitpipe.pipeline import lockfile
from gitpipe.pipeline.model import Task
from gitpipe.pipeline.parse import spec_places
from gitpipe.project.gitignore import cached_out_paths, ensure_ignored
from gitpipe.project.lockguard import orphaned_entries
from gitpipe.project.projectlock import ProjectLock
from gitpipe.project.root import Project
from gitpipe.project.staleness import (
    Kind,
    Observation,
    Reason,
    Staleness,
    frozen_note,
    judge,
    lock_entry_for,
    observe,
    unmade_deps,
)
from gitpipe.project.status import Prejudged, check_params, said_unfinished
from gitpipe.storage.cache import CachedOut, CacheError
from gitpipe.storage.state import RunRecord


def execute(project: Project, nodes: list[Hashable], options: ReproOptions,
            listener: Listener | None = None, sink: OutputSink | None = None,
            stage_limits: dict[str, int] | None = None,
            prejudged: Prejudged | None = None) -> Report:
    """Run the planned nodes through the one scheduler (repro and backfill share it).

    `stage_limits` caps partitions of a stage at once, on top of its `concurrency`.
    The lock entry of each `options.forced` node is cleared as its turn comes
    ("clear state"), so a run stopped before it keeps it.
    `prejudged` (repro's read-only pass) names nodes already judged up to date:
    they are skipped without a second judgement while the lock is the one that
    pass read.
    """
    project.run_on(options.executor)  # the fingerprints judged are those of where it runs
    tasks = [project.graph.nodes[n]["task"] for n in nodes]
    project.check_paths_inside(planned=tasks)  # the wdirs of what runs, as status TARGET
    check_params(project, nodes)
    project.refuse_tracked_outs(tasks)
    if project.gitpipe_dir.is_dir():
        # Stages added after `gitpipe init` get their outs ignored too.
        ensure_ignored(project.root, cached_out_paths(project.pipeline))
    limits = scheduling_limits(project, options, stage_limits or {})
    with ProjectLock(project.gitpipe_dir, project.config.lock_wait):
        project.__dict__.pop("lock_entries", None)  # re-read under the ProjectLock
        runner = _Runner(project, options, listener or (lambda e: None), sink,
                         CommandSlots(limits.jobs))
        runner.settled = _still_settled(project, prejudged)
        runner.listener(Event("", "plan", str(len(nodes))))  # the total, for a progress bar
        try:
            runner.executors.prepare(tasks)
            orphans = orphaned_entries(project)
            runner.former = FormerEntries(runner.writer.entries, orphans)
            if orphans:
                runner.writer.remove(orphans)
            for task in orphans:
                runner.listener(Event(task, "pruned", "gitpipe.yaml no longer declares it"))
            scheduler = Scheduler(project.graph.subgraph(nodes), runner.step,
                                  runner.slots.step_limits(limits),
                                  on_abort=runner.cancel_all, gate=sensor_gates(project))
            runner.slots.stopped = scheduler.stop  # one stop: a failure starts no more
            outcomes, stopped = run_until_stopped(scheduler)
        finally:
            project.state.flush()
            runner.writer.close()  # under the ProjectLock: the lock is whole before release
            runner.prune_logs()
    return closing_report(project, nodes, (outcomes, scheduler.messages), runner, stopped)


def _still_settled(project: Project, prejudged: Prejudged | None) -> frozenset[str]:
    """The prejudged up-to-date nodes, unless the lock changed since that pass
    (another gitpipe wrote it before this one took the ProjectLock)."""
    if prejudged is None or prejudged.entries != project.lock_entries:
        return frozenset()
    return prejudged.up_to_date


class _Runner(CommandSteps):
    """The scheduler's `step`: judge a ready Task, restore it from the run-cache
    or run it if stale (engine/commands.py), record the result."""

    def __init__(self, project: Project, options: ReproOptions, listener: Listener,
                 sink: OutputSink | None, slots: CommandSlots) -> None:
        self.project = project
        self.options = options
        self.listener = listener
        self.writer = lockfile.LockWriter(project.root, project.lock_entries, write_behind=True,
                                          parse_cache=project.parse_cache)
        self.params = project.params_reader()
        remote = project.remote(options.remote) if options.pull or options.push else None
        sharing = repro_sharing(project, options) if remote is not None else None
        self.run_cache = RunCache(project.cache, remote, options.pull, options.push, sharing)
        self.results: dict[str, TaskResult] = {}
        self.executors = Executors(Context(project, options.remote, sink), options.executor)
        self.aborted = threading.Event()
        self.settled: frozenset[str] = frozenset()
        self.inputs_read: dict[str, dict[str, Signature]] = {}  # of running tasks: midrun.py
        self.former = FormerEntries()  # of renamed stages: a restore's source
        # Groups this run's rows in the run history (timeline, trace); not from
        # `uuid`, whose import costs a build more than the id.
        self.invocation = os.urandom(8).hex()
        self.slots = slots
        self.links_said: set[tuple[str, str]] = set()

    @functools.cached_property
    def spec_place(self) -> Callable[[str], str]:
        """Where a stage is declared, for a refusal's message (parsed once, if asked)."""
        return spec_places(self.project.root, self.project.pipeline.source)

    @functools.cached_property
    def last_results(self) -> dict[str, str]:
        """The run history's last result of each task, read once: a new task
        whose last run did not complete is said to be so, as status says it."""
        return self.project.state.last_results()

    def result(self, node: Hashable, outcome: Outcome, message: str = "") -> TaskResult:
        if message and str(node) not in self.results:
            message = f"stage {str(node)!r}: {message}"
        return self.results.get(str(node)) or TaskResult(str(node), outcome, message=message)

    def cancel_all(self) -> None:
        self.aborted.set()
        self.slots.stopped.set()
        self.executors.cancel_all()

    def step(self, node: Hashable) -> Outcome:
        """`_step`; a crash in it fails the task with a message, as any failure
        (the traceback under --debug only), and the run goes on as after one."""
        try:
            return self._step(node)
        except GitpipeError as exc:  # foreseen: its own message and hint
            return self._finish(str(node), Outcome.FAILED, message=Said.of(exc))
        except Exception as exc:
            if debugging():
                raise  # the scheduler logs it with its traceback
            return self._finish(str(node), Outcome.FAILED, message=Said.crash(exc, str(node)))

    def _step(self, node: Hashable) -> Outcome:
        task = self.project.graph.nodes[node]["task"]
        if task.name in self.settled:
            return self._skip(task, frozen_note(task, self.writer.entries.get(task.name)))
        self.listener(Event(task.name, "check"))
        try:
            if task.name in self.options.forced:  # as its turn comes: a stopped run keeps the rest
                self.writer.remove([task.name])
            entry = self.writer.entries.get(task.name)
            seen = observe(task, self.project.workspace, self.params, entry)
            verdict = judge(task, entry, seen, self._reran_nondeterministic(node),
                            force=self.options.force or task.name in self.options.forced)
            if any(reason.kind is Kind.NEW for reason in verdict.reasons):
                verdict = said_unfinished(verdict, self.last_results)
        except GitpipeError as exc:
            return self._finish(task.name, Outcome.FAILED, message=Said.of(exc))
        if not verdict.stale:
            return self._skip(task, verdict.note)
        if not verdict.needs_run:
            return self._re_record(task, verdict, seen)
        inputs = inputs_read(self.project, task, seen)  # as observe read them, before a run
        missing = unmade_deps(seen)  # its upstream tasks have had their turn
        if missing or seen.unresolved:
            return self._finish(task.name, Outcome.FAILED, verdict,
                                missing_message(self.project.root, task, missing,
                                                seen.unresolved, self.spec_place,
                                                frozen_maker(self.project.graph, node, missing)))
        try:
            if self._restore(task, verdict, seen):
                return Outcome.RESTORED
        except GitpipeError as exc:
            return self._finish(task.name, Outcome.FAILED, verdict, Said.of(exc))
        if self.executors.of(task).runs_in_work_tree:  # a pod reads copies of its own
            self.inputs_read[task.name] = inputs
        return self._run(task, verdict, seen)

    def _skip(self, task: Task, note: Reason | None) -> Outcome:
        """An up-to-date task, or a frozen one, said so (`note`) in its place."""
        self.listener(Event(task.name, "skip", str(note) if note else "up to date"))
        self.results[task.name] = TaskResult.skipped(task.name, note)
        return Outcome.SKIPPED

    def _reran_nondeterministic(self, node: Hashable) -> list[str]:
        """The upstream tasks declared `deterministic: false` that ran in this repro:
        whatever their outs hold now, the task reruns after them (no early cutoff)."""
        graph = self.project.graph
        return [str(up) for up in graph.predecessors(node)
                if not graph.nodes[up]["task"].stage.deterministic
                and (done := self.results.get(str(up))) is not None
                and done.outcome is Outcome.RAN]

    def _re_record(self, task: Task, verdict: Staleness, seen: Observation) -> Outcome:
        """Only the declaration changed (an out became a metric): the outs are
        what the command produced, so the lock records them anew, no run."""
        try:
            self.writer.update(task.name, lock_entry_for(task, seen, seen.outs))
        except lockfile.LockTooLarge as exc:
            return self._finish(task.name, Outcome.FAILED, verdict, Said.of(exc))
        self._say_links(task, seen)
        why = "; ".join(str(r) for r in verdict.reasons)
        self.listener(Event(task.name, "recorded", why))
        return self._finish(task.name, Outcome.RECORDED, verdict, why)

    def _restore(self, task: Task, verdict: Staleness, seen: Observation) -> bool:
        """Restore the outs of a run with the same fingerprint instead of running."""
        forced = self.options.force or task.name in self.options.forced
        if forced or task.stage.always_changed or not self.options.run_cache:
            return False
        if not task.stage.deterministic or _after_nondeterministic(verdict):
            # A restore would stand in for a run the flag asks for (docs/howto/verify.md).
            return False
        started, clock = time.time(), time.monotonic()
        try:
            locked, former, seen = self._locked(task, seen)
            cached = self.run_cache.lookup(task, seen.fingerprint, locked)
            if cached is not None:
                self.run_cache.restore(self.project.root, task, cached)
        except (CacheError, RecordError) as exc:
            # A corrupt object or a malformed record: computing it again is always right.
            self.listener(Event(task.name, "warn", f"{exc.message}; the stage runs instead"))
            return False
        if cached is None:
            return False
        outs = {o.path: self.project.workspace.info(o.path, XXH3)
                for o in task.outs}
        if any(outs[c.path].digest != c.digest for c in cached):
            return False
        self.writer.update(task.name, lock_entry_for(task, seen, outs))
        self._say_links(task, seen)
        self.project.state.add_run(RunRecord(
            task.name, started, time.monotonic() - clock, "restored",
            sum(i.size for i in seen.deps.values()), sum(i.size for i in outs.values()),
            seen.fingerprint, None, self.invocation))
        source = "run-cache" if cached is not locked else \
            f"the cache, as gitpipe.lock recorded it for {former!r}" if former else \
            "the cache, as gitpipe.lock records"
        # The live line is `restored TASK: from …` (the event is the verb);
        # the task's message, read alone in --json, is the whole sentence.
        self.listener(Event(task.name, "restored", f"from {source}"))
        self._finish(task.name, Outcome.RESTORED, verdict, f"restored from {source}")
        return True

    def _locked(self, task: Task, seen: Observation) -> tuple[
            list[CachedOut] | None, str | None, Observation]:
        """The outs the lock records for the run `seen` describes: the task's
        own entry's; where it has none, a former task's (a stage renamed),
        with that task's name and the task seen as through that entry (which
        chose each dep's digest algorithm, as the task's own entry would)."""
        entry = self.writer.entries.get(task.name)
        if entry is not None:
            return locked_outs(entry, seen.fingerprint), None, seen
        for name, former in self.former.recording(task):
            again = observe(task, self.project.workspace, self.params, former)
            outs = locked_outs(former, again.fingerprint)
            if outs is not None:
                return outs, name, again
        return None, None, seen


def _after_nondeterministic(verdict: Staleness) -> bool:
    """Stale because a `deterministic: false` upstream ran: in the runner, the one
    source of `upstream:` reasons (see _Runner._reran_nondeterministic)."""
    return any(reason.kind is Kind.UPSTREAM for reason in verdict.reasons)
