"""`gitpipe verify`: rerun up-to-date tasks in a scratch copy of their inputs and
compare each out with the lock (is the stage deterministic?). The work tree,
the cache and the lock are only read (docs/howto/verify.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from gitpipe.core.errors import GitpipeError
from gitpipe.core.jsondoc import header
from gitpipe.core.outcome import Outcome
from gitpipe.engine.reports import TaskResult
from gitpipe.pipeline import graph as graph_module
from gitpipe.pipeline.lockfile import LockEntry
from gitpipe.pipeline.model import DEFAULT_EXECUTOR, Task
from gitpipe.project.reasons import NOTES, Kind
from gitpipe.project.root import Project
from gitpipe.project.staleness import Staleness
from gitpipe.project.status import status_of
from gitpipe.usecases import scratch
from gitpipe.usecases.outdiff import OutCheck, compare

OK, DIFFERS, FAILED, SKIPPED = "ok", "differs", "failed", "skipped"
FLAG_HINT = ("hint: make the command deterministic (a fixed seed, sorted listings, no "
             "timestamps), or declare 'deterministic: false' in gitpipe.yaml for")


class VerifyOptions(NamedTuple):
    """What `gitpipe verify` was asked: the targets (all tasks by default), and
    whether tasks of other executors run here (`--local`)."""

    targets: tuple[str, ...] = ()
    local: bool = False
    after_repro: bool = False  # repro --verify checks what just ran


class TaskCheck(NamedTuple):
    """One task's verdict: ok, differs, failed (the rerun did not succeed) or
    skipped (`note` says why); `note` also qualifies a verified task."""

    task: str
    result: str
    outs: tuple[OutCheck, ...] = ()
    note: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.result in (OK, SKIPPED)

    def to_json(self) -> dict[str, Any]:
        """One entry of `tasks` (docs/reference/json.md, "verify")."""
        stage, _, partition = self.task.partition("@")
        return {"task": self.task, "stage": stage, "partition": partition or None,
                "result": self.result, "ok": self.ok, "note": self.note or None,
                "message": self.message or None, "outs": [o.to_json() for o in self.outs],
                "suggest_nondeterministic": self.result == DIFFERS}


class VerifyReport(NamedTuple):
    """Every checked task, in plan order."""

    checks: tuple[TaskCheck, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def count(self, result: str) -> int:
        return sum(check.result == result for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        """The `verify --json` document (docs/reference/json.md)."""
        return {**header("verify"), **self.part_json()}

    def part_json(self) -> dict[str, Any]:
        """The fields a repro document's `verify` holds too."""
        return {"ok": self.ok, "tasks": [check.to_json() for check in self.checks],
                "totals": {result: self.count(result)
                           for result in (OK, DIFFERS, FAILED, SKIPPED)}}


Listener = Callable[[TaskCheck], None]
Starting = Callable[[str], None]  # a task's name, as its check begins


def verify(project: Project, options: VerifyOptions, listener: Listener | None = None,
           starting: Starting | None = None) -> VerifyReport:
    """Check the targets (every task by default) one after another; a BadInputError
    for an unknown target. Stale tasks are skipped: the lock says nothing yet
    of what their inputs produce. `starting` hears of each task before its
    check, `listener` of its verdict."""
    graph = project.graph
    chosen = graph_module.select(graph, options.targets) if options.targets \
        else list(graph.nodes)
    order = graph_module.plan(graph, chosen)
    project.check_paths_inside()
    verdicts = {v.task: v for v in status_of(project, order, forgive=_only_always).tasks}
    entries = project.lock_entries
    wanted = {str(node) for node in chosen}
    checks = []
    for node in order:
        if str(node) not in wanted:
            continue
        task = graph.nodes[node]["task"]
        if starting is not None:
            starting(task.name)
        check = _check(project, task, verdicts[task.name], entries.get(task.name), options)
        checks.append(check)
        if listener is not None:
            listener(check)
    return VerifyReport(tuple(checks))


def verify_ran(project: Project, results: Iterable[TaskResult],
               listener: Listener | None = None,
               starting: Starting | None = None) -> VerifyReport:
    """`repro --verify`: each task that ran in the repro (its TaskResults) once more."""
    ran = tuple(r.task for r in results if r.outcome is Outcome.RAN)
    if not ran:
        return VerifyReport(())
    project.__dict__.pop("lock_entries", None)  # as the repro left it
    return verify(project, VerifyOptions(ran, after_repro=True), listener, starting)


def _only_always(verdict: Staleness) -> bool:
    """always_changed alone makes a task stale on every status; for verify it is
    up to date when nothing else changed (and its dependents with it)."""
    return bool(verdict.reasons) and all(r.kind is Kind.ALWAYS or r.kind in NOTES
                                         for r in verdict.reasons)


def _check(project: Project, task: Task, verdict: Staleness, entry: LockEntry | None,
           options: VerifyOptions) -> TaskCheck:
    skip = _why_skipped(project, task, verdict, entry, options)
    if skip is not None:
        return TaskCheck(task.name, SKIPPED, note=skip)
    assert entry is not None
    note = _note(project, task)
    with scratch.scratch_folder(project) as folder:
        try:
            root = scratch.lay_out(project, task, entry, folder)
        except GitpipeError as exc:
            hint = f"\nhint: {exc.hint}" if exc.hint else ""
            return TaskCheck(task.name, FAILED, note=note, message=exc.message + hint)
        log = folder / scratch.LOG_FILE
        result = scratch.rerun(project, task, root, log)
        if not result.ok:
            why = result.why.removeprefix("command ")
            tail = "\n".join(f"    {line}" for line in scratch.log_tail(log))
            message = (f"the command {why} in the scratch copy (an input it reads that is not "
                       f"declared, or not in git, is not there)" + (f"\n{tail}" if tail else ""))
            return TaskCheck(task.name, FAILED, note=note, message=message)
        outs = scratch.hash_outs(project, task, root)
        checks = tuple(compare(project.cache, entry.out(path), info, root)
                       for path, info in outs.items())
    verdict_word = OK if all(c.same for c in checks) else DIFFERS
    return TaskCheck(task.name, verdict_word, checks, note)


def _why_skipped(project: Project, task: Task, verdict: Staleness, entry: LockEntry | None,
                 options: VerifyOptions) -> str | None:
    stage = task.stage
    if not stage.deterministic:
        return ("not re-verified: declared 'deterministic: false'" if options.after_repro
                else "declared 'deterministic: false': its outs may differ by design")
    if stage.persist:
        return ("'persist: true': its outs are inputs of its own run, which a scratch copy "
                "cannot repeat")
    executor = project.executor or stage.executor
    if executor != DEFAULT_EXECUTOR and not options.local:
        return (f"runs on the {executor!r} executor; 'gitpipe verify --local {task.name}' "
                "reruns it on this machine instead")
    if (verdict.stale and not _only_always(verdict)) or entry is None:
        first = next((str(r) for r in verdict.reasons), "not in gitpipe.lock")
        return f"stale ({first}); run 'gitpipe repro {task.name}' first"
    return None


def _note(project: Project, task: Task) -> str:
    """What qualifies a verified task's verdict."""
    notes = []
    if task.stage.always_changed:
        notes.append("always_changed: it reruns on every repro anyway")
    executor = project.executor or task.stage.executor
    if executor != DEFAULT_EXECUTOR:
        notes.append(f"rerun here (--local), not on the {executor!r} executor")
    return "; ".join(notes)


def failed_hint(report: VerifyReport) -> str | None:
    """The hint after a report where some task's outs differ, naming their stages."""
    stages = sorted({c.task.partition("@")[0] for c in report.checks if c.result == DIFFERS})
    if not stages:
        return None
    return f"{FLAG_HINT}: {', '.join(stages)}"

