"""Inputs changed while a task's command ran.

The lock and the run-cache record a task's inputs as they were judged, before
its command started. An input changed while the command ran (an editor's save,
a checkout in another terminal, the command itself) leaves outs made from other
bytes than those recorded: once the input is back as it was, nothing would run
them again. The runner asks here before it records a run.
"""

from __future__ import annotations

from gitpipe.core.errors import GitpipeError
from gitpipe.engine.reports import Said
from gitpipe.hashing.statsig import Signature, changed_since
from gitpipe.pipeline.lockfile import LockEntry
from gitpipe.pipeline.model import Task
from gitpipe.pipeline.params import ParamsReader
from gitpipe.project.root import Project
from gitpipe.project.staleness import Observation, observe


def inputs_read(project: Project, task: Task, seen: Observation) -> dict[str, Signature]:
    """The signatures the task's deps, `python:` modules and params files had
    when `seen` read them (a params file: when the command first read it)."""
    noted = project.reads.seen
    paths = [*seen.deps, *seen.modules, *(ref.file for ref in task.stage.params)]
    return {path: noted[path] for path in paths if path in noted}


def moved_input(project: Project, task: Task, seen: Observation,
                signatures: dict[str, Signature], entry: LockEntry | None) -> str | None:
    """An input whose content changed since `seen` (with `signatures`) was taken,
    or None. A changed signature with the same content (a file rewritten as it
    was) is no change: the task is observed anew, against the lock `entry` it
    was judged by, and its fingerprint compared. Its outs are then not
    recorded: the stage fails, and runs again next time."""
    changed = changed_since(str(project.root), signatures)
    if not changed:
        return None
    # A params reader of its own: the command's keeps each file as first read,
    # and one that noted its reads would move the signatures that tasks judged
    # later compare with.
    fresh = ParamsReader.from_workspace(project.root, project.parse_cache)
    # Closures of `python:` deps anew too: the command's are kept by the
    # signatures noted when their modules were first hashed.
    project.workspace.module_finder = None
    try:
        now = observe(task, project.workspace, fresh, entry)
    except (GitpipeError, OSError):  # a path it cannot hash now (a symlink loop)
        return changed[0]
    return None if now.fingerprint == seen.fingerprint else changed[0]


def moved_problem(task: Task, path: str) -> Said:
    """Why the task failed when its input `path` changed while its command ran."""
    return Said(f"stage {task.name!r}: {path!r} changed while the command ran, so its outs "
                "were not recorded",
                "if something else changed it, run the stage again; if its own command "
                "writes it, take it out of the stage's deps (declare it an out)")
