"""The work tree made ready for a command: its paths checked again, its old
outs deleted (a stale out is never taken for a fresh one), their folders made.

The runner's, split from runner.py; a remote executor's pod prepares its own.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from gitpipe.core.errors import GitpipeError
from gitpipe.engine.reports import Said
from gitpipe.hashing.digests import XXH3
from gitpipe.pipeline.lockfile import LockEntry
from gitpipe.pipeline.model import Task
from gitpipe.project.lockguard import would_lose
from gitpipe.project.root import Project
from gitpipe.project.workdirs import WDIR_HINT, wdir_fault
from gitpipe.storage.cache import remove_path


def prepare_work_tree(project: Project, task: Task, entry: LockEntry | None,
                      force: bool) -> Said | None:
    """Before `task`'s command runs in the work tree (`entry`: its lock entry
    as judged): why the attempt cannot start, or None once it may."""
    # Checked again right before running: a symlink swapped in after
    # validation must not turn "delete the outs" into deleting outside files.
    try:
        project.check_paths_inside({task.name: list(task.deps)},
                                   outs={task.name: [o.path for o in task.outs]})
    except GitpipeError as exc:
        # Past "gitpipe.yaml: stage 'a': ": the failure is said as the stage's.
        return Said(exc.message.split(": ", 2)[-1], exc.hint or "")
    fault = wdir_fault(project.root, task.stage.wdir)
    if fault is not None:
        return Said(f"wdir {task.stage.wdir!r} {fault}", WDIR_HINT)
    if not task.stage.persist:
        foreign = None if force else _foreign_outs(project, task, entry)
        if foreign:
            return foreign
        remove_outs(project.root, [o.path for o in task.outs])
    for out in task.outs:
        parent = os.path.dirname(os.path.join(project.root, out.path))
        if not os.path.isdir(parent):  # one stat where the folder is there already
            os.makedirs(parent, exist_ok=True)
    return None


def _foreign_outs(project: Project, task: Task, entry: LockEntry | None) -> Said | None:
    """Why the outs cannot be cleared before the run, or None: a directory out
    gitpipe never recorded (a first run) that already holds files it cannot
    restore is the user's, and is only deleted with --force."""
    for out in task.outs:
        if (entry is not None and entry.out(out.path) is not None) or \
                not _real_folder(project.root / out.path):
            continue
        info = project.workspace.info(out.path, XXH3)
        if info.digest is not None and would_lose(project, out.path, info.digest):
            return Said(f"out {out.path!r} already holds files gitpipe did not write "
                        "(its first run would delete them); nothing was deleted",
                        "move them away, or run 'gitpipe repro --force' to delete them")
    return None


def _real_folder(path: Path) -> bool:
    """A directory, not a link to one: one `lstat`."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except (OSError, ValueError):
        return False


def remove_outs(root: Path, paths: Iterable[str]) -> None:
    """Delete declared outs so a stale out is never mistaken for a fresh one."""
    for path in paths:
        remove_path(root / path)
