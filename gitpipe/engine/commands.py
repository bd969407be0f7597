"""A stale task's turn once it must run: its command in one of the `--jobs`
slots (with its retries), its outs brought back, hashed, stored in the cache
and recorded in the lock, its run written to the history; and how every turn
ends (`_finish`: the task's result and the event a listener sees).

The base of the runner's step (engine/runner.py), which judges a task and
restores it from the run-cache before it comes to this.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

from gitpipe.core.errors import GitpipeError
from gitpipe.engine.beforerun import prepare_work_tree
from gitpipe.engine.midrun import moved_input, moved_problem
from gitpipe.engine.reports import Event, Listener, ReproOptions, Said, TaskResult
from gitpipe.engine.runcache import RunCache
from gitpipe.engine.scheduler import Outcome
from gitpipe.engine.slots import CommandSlots
from gitpipe.executors.base import Executor, Executors, RunResult
from gitpipe.hashing.digests import XXH3
from gitpipe.hashing.statsig import Signature
from gitpipe.pipeline import lockfile
from gitpipe.pipeline.model import Task
from gitpipe.project.dirlinks import recorded_links_warning
from gitpipe.project.root import Project
from gitpipe.project.staleness import Observation, Staleness, lock_entry_for
from gitpipe.storage.runlogs import LOGS_DIR, log_path, prune_logs
from gitpipe.storage.state import RunRecord
from gitpipe.storage.workspace import PathInfo


class CommandSteps:
    """Running a task's command and recording what it made; the runner
    (engine/runner.py `_Runner`) sets these attributes."""

    project: Project
    options: ReproOptions
    listener: Listener
    writer: lockfile.LockWriter
    run_cache: RunCache
    results: dict[str, TaskResult]
    executors: Executors
    aborted: threading.Event
    inputs_read: dict[str, dict[str, Signature]]  # of running tasks: midrun.py
    invocation: str
    slots: CommandSlots
    links_said: set[tuple[str, str]]  # project/dirlinks.py: each link named once a repro

    def _finish(self, name: str, outcome: Outcome, verdict: Staleness | None = None,
                message: str | Said = "", duration: float = 0.0, attempts: int = 0,
                log: str | None = None) -> Outcome:
        details = verdict.reasons if verdict else ()
        said = message if isinstance(message, Said) else Said(message)
        self.results[name] = TaskResult(name, outcome, duration, tuple(map(str, details)),
                                        said.message, attempts, log, details, said.hint)
        if outcome is Outcome.FAILED:
            if not self.options.keep_going:
                self.slots.stopped.set()  # no command waiting for a slot starts now
            self.listener(Event(name, "fail", said.message))
        elif outcome is Outcome.RAN:
            self.listener(Event(name, "done", f"{duration:.2f}s"))
        return outcome

    def _run(self, task: Task, verdict: Staleness, seen: Observation) -> Outcome:
        """The command in one of the `--jobs` slots; its outs recorded after the
        slot is passed on (engine/slots.py)."""
        with self.slots.held() as held:
            ran = self._command(task, verdict, seen) if held else Outcome.CANCELLED
        if isinstance(ran, Outcome):
            return ran
        return self._commit(task, verdict, seen, *ran)

    def _command(self, task: Task, verdict: Staleness,
                 seen: Observation) -> Outcome | tuple[tuple[float, float, int], str | None]:
        """Run the task's command (its retries too) and bring its outs back: the
        timing and log to record, or the Outcome of a failure."""
        self.listener(Event(task.name, "start", "; ".join(str(r) for r in verdict.reasons)))
        started, wall = time.monotonic(), time.time()
        attempts = task.stage.retries + 1
        result = RunResult(1, 0.0, cancelled=True, message="cancelled")  # if none starts
        executor = self.executors.of(task)
        log_path = self._log_path(task.name)
        for attempt in range(attempts):
            if self.aborted.is_set():
                break
            if attempt:
                delay = self.options.retry_backoff * 2 ** (attempt - 1)
                why = result.message or f"exit {result.returncode}"
                self.listener(Event(task.name, "retry",
                                    f"attempt {attempt + 1} of {attempts} in {delay:g}s ({why})"))
                if self.aborted.wait(delay):
                    break
            result = self._attempt(executor, task, seen.fingerprint, attempt, log_path)
            if result.ok:
                break
        duration = time.monotonic() - started
        log = _written(log_path)
        if not result.ok:
            ended = Outcome.INTERRUPTED if result.cancelled else Outcome.FAILED
            self._record(task.name, wall, duration, ended.value, seen, {}, log)
            return self._finish(task.name, ended, verdict,
                                Said(f"stage {task.name!r}: {result.why}", result.hint),
                                duration, attempt + 1, log)
        try:
            executor.bring_back(task, seen.fingerprint)
        except GitpipeError as exc:
            return self._finish(task.name, Outcome.FAILED, verdict,
                                Said.of(exc, f"stage {task.name!r}: "), duration, attempt + 1,
                                log)
        return (wall, duration, attempt + 1), log

    def _attempt(self, executor: Executor, task: Task, fingerprint: str, attempt: int,
                 log_path: Path) -> RunResult:
        if executor.runs_in_work_tree:
            problem = prepare_work_tree(self.project, task, self.writer.entries.get(task.name),
                                        self.options.force)
            if problem is not None:
                return RunResult(2, 0.0, message=problem.message, hint=problem.hint)
        return executor.attempt(task, fingerprint, attempt, log_path)

    def _commit(self, task: Task, verdict: Staleness, seen: Observation,
                timing: tuple[float, float, int], log: str | None) -> Outcome:
        wall, duration, attempts = timing
        try:
            outs = {o.path: self.project.workspace.info(o.path, XXH3) for o in task.outs}
        except GitpipeError as exc:  # an out gitpipe cannot hash (a fifo)
            self._record(task.name, wall, duration, "failed", seen, {}, log)
            return self._finish(task.name, Outcome.FAILED, verdict,
                                Said.of(exc, f"stage {task.name!r}: "), duration, attempts,
                                log)
        missing = [p for p, info in outs.items() if not info.exists]
        entry = self.writer.entries.get(task.name)  # as `step` judged it (None if forced)
        moved = moved_input(self.project, task, seen, self.inputs_read.pop(task.name, {}), entry)
        if moved:
            self._record(task.name, wall, duration, "failed", seen, outs, log)
            return self._finish(task.name, Outcome.FAILED, verdict, moved_problem(task, moved),
                                duration, attempts, log)
        if missing:
            self._record(task.name, wall, duration, "failed", seen, outs, log)
            return self._finish(task.name, Outcome.FAILED, verdict, Said.missing_out(
                task.name, task.stage.wdir, missing[0]), duration, attempts, log)
        try:
            self.run_cache.record(self.project.root, task, seen.fingerprint, outs)
        except (GitpipeError, OSError) as exc:
            self._record(task.name, wall, duration, "failed", seen, outs, log)
            return self._finish(task.name, Outcome.FAILED, verdict,
                                Said.of(exc, f"stage {task.name!r}: cannot store its outs in "
                                        "the cache: "), duration, attempts, log)
        try:
            self.writer.update(task.name, lock_entry_for(task, seen, outs))
        except lockfile.LockTooLarge as exc:  # its outs stay, in the cache and the run-cache too
            self._record(task.name, wall, duration, "failed", seen, outs, log)
            return self._finish(task.name, Outcome.FAILED, verdict, Said.of(exc), duration,
                                attempts, log)
        self._record(task.name, wall, duration, "ran", seen, outs, log)
        self._say_links(task, seen)
        return self._finish(task.name, Outcome.RAN, verdict, duration=duration,
                            attempts=attempts, log=log)

    def _say_links(self, task: Task, seen: Observation) -> None:
        """`task` just recorded: the symlinks out of its directory deps said, once."""
        warning = recorded_links_warning(self.project, seen.deps.values(),
                                         self.links_said)
        if warning is not None:
            self.listener(Event(task.name, "warn", warning))

    def _log_path(self, name: str) -> Path:
        return log_path(self.project.gitpipe_dir / LOGS_DIR, name)

    def prune_logs(self) -> None:
        """Keep each task's newest logs, once every stage has stopped (one listing
        of the folder, not one per run: a backfill writes hundreds). A log that
        cannot be removed waits for the next run or `gc`; it fails no stage."""
        with contextlib.suppress(OSError):
            prune_logs(self.project.gitpipe_dir / LOGS_DIR, self.project.config.log_retention)

    def _record(self, name: str, wall: float, duration: float, result: str,
                seen: Observation, outs: dict[str, PathInfo], log: str | None) -> None:
        self.project.state.add_run(RunRecord(
            name, wall, duration, result, sum(i.size for i in seen.deps.values()),
            sum(i.size for i in outs.values()), seen.fingerprint, log, self.invocation))


def _written(log_path: Path) -> str | None:
    """The task's log, when its attempts wrote one: a command that printed
    nothing may leave none (executors/local.py), and then has no log to name."""
    return str(log_path) if os.path.lexists(log_path) else None


