"""What a run leaves for git: the files `repro`, `backfill` or `commit` changed that git
tracks or would (the lock, the root .gitignore, outs git does not ignore such
as a `metrics:` file), for the advice to `git add` them that `dvc repro`
gives, or to stage them where `core.autostage` asks for it.

A file counts when this command changed it: the lock and .gitignore by their
stat before and after the run, an out when its task ran or was restored; and
git still sees it as differing from its index or as untracked (an ignored
out, a file that came back to what is staged, are left out).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from gitpipe.core.errors import GitpipeError
from gitpipe.core.outcome import Outcome
from gitpipe.pipeline.lockfile import LOCK_FILE

if TYPE_CHECKING:
    from gitpipe.engine.reports import Report
    from gitpipe.project.root import Project

# Files a run may rewrite whatever task runs: the lock, and the .gitignore
# that gets each new out's line.
_PROJECT_FILES = (LOCK_FILE, ".gitignore")
# A task whose outs this command wrote to the work tree.
_WROTE_OUTS = (Outcome.RAN, Outcome.RESTORED)

Marks = dict[str, tuple[int, int, int] | None]


class GitAdvice(NamedTuple):
    """`paths` (relative to the current folder) to `git add`; `staged` when
    core.autostage had them added already."""

    paths: list[str]
    staged: bool = False


def marks(project: Project) -> Marks:
    """The lock's and the root .gitignore's stat before a run, to tell after
    it whether the run changed them."""
    return {name: _mark(project.root / name) for name in _PROJECT_FILES}


def _mark(path: Path) -> tuple[int, int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_mtime_ns, found.st_size, found.st_ino


def git_advice(project: Project, report: Report, before: Marks) -> GitAdvice:
    """The files this run changed for git to track (none after a dry run or a
    run that changed nothing), staged with `git add` where core.autostage is on."""
    nodes = project.graph.nodes
    wrote = [] if report.dry_run else [
        out.path for result in report.results
        if result.outcome in _WROTE_OUTS and result.task in nodes
        for out in nodes[result.task]["task"].outs]
    return advice_for(project, before, wrote)


def _with_folders(paths: set[str]) -> set[str]:
    """`paths` and every folder above each: a directory out counts when git
    sees any file under it changed."""
    found = set(paths)
    for path in paths:
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            if path in found:
                break
            found.add(path)
    return found


def advice_for(project: Project, before: Marks, outs: list[str]) -> GitAdvice:
    """Of the lock, the root .gitignore (when their stat moved since `before`)
    and `outs` (what this command wrote or recorded), those git sees as
    differing from its index or untracked; staged where core.autostage is on."""
    touched = [name for name in _PROJECT_FILES if _mark(project.root / name) != before.get(name)]
    touched += outs
    if not touched:
        return GitAdvice([])
    from gitpipe.git import plumbing

    if not plumbing.has_git():
        if project.config.autostage:
            raise GitpipeError("core.autostage: nothing was staged: the git command is "
                               "not installed")
        return GitAdvice([])  # nothing to advise running
    candidates = list(dict.fromkeys(touched))
    changed = _with_folders(plumbing.changed_paths(project.root, candidates))
    wanted = sorted(path for path in candidates if path in changed)
    if wanted and project.config.autostage:
        plumbing.stage_paths(project.root, wanted)
    here = Path.cwd()
    return GitAdvice([os.path.relpath(project.root / path, here) for path in wanted],
                     staged=bool(wanted) and project.config.autostage)
