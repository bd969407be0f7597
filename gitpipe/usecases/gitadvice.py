"""What a run leaves for git: the files `repro`, `backfill` or `commit` changed that git
tracks or would (the lock, the root .gitignore, outs git does not ignore such
as a `metrics:` file), for the advice to `git add` them that `dvc repro`
gives, or to stage them where `core.autostage` asks for it.

A file counts when this command changed it: the lock and .gitignore by their
stat before and after the run, an out when its task ran or was restored; and
git still sees it as differing from its index or as untracked (an ignored
out, a file that came back to what is staged, are left out).

Past ADVICE_PATHS paths, the advice names folders instead of their files,
a folder only where git sees nothing changed under it that this command did
not change (`git add` of it adds this command's files and nothing else); the
lock and .gitignore are always named.
"""

from __future__ import annotations

import os
from collections import Counter
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

# The most paths the advice names one by one (see the module's docstring).
ADVICE_PATHS = 20

Marks = dict[str, tuple[int, int, int] | None]


class GitAdvice(NamedTuple):
    """`paths` (relative to the current folder) to `git add`; `staged` when
    core.autostage had them added already; `said`: the same as the advice
    says them, folders for their files past ADVICE_PATHS paths (a folder
    ends in `/`)."""

    paths: list[str]
    staged: bool = False
    said: list[str] = []  # noqa: RUF012 - advice is read, never changed

    def to_json(self) -> dict[str, object]:
        """The `git_add` of a repro, backfill or commit document (docs/reference/json.md)."""
        return {"paths": self.paths, "said": self.said or self.paths, "staged": self.staged}


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
    files = plumbing.changed_paths(project.root, candidates)
    changed = _with_folders(files)
    wanted = sorted(path for path in candidates if path in changed)
    if wanted and project.config.autostage:
        plumbing.stage_paths(project.root, wanted)
    said = _in_folders(project.root, wanted, files) if len(wanted) > ADVICE_PATHS else wanted
    here = Path.cwd()

    def shown(path: str) -> str:
        return os.path.relpath(project.root / path, here) + ("/" if path.endswith("/") else "")
    return GitAdvice([shown(path) for path in wanted],
                     staged=bool(wanted) and project.config.autostage,
                     said=[shown(path) for path in said])


def _in_folders(root: Path, wanted: list[str], ours: set[str]) -> list[str]:
    """`wanted` with each path but the project files given as its highest
    folder under which git sees no change but `ours` (the files this
    command changed, the files of the folders `wanted` names among them):
    one `git ls-files` of the top folders."""
    from gitpipe.git import plumbing

    nested = [path for path in wanted if path not in _PROJECT_FILES and "/" in path.rstrip("/")]
    tops = sorted({path.split("/", 1)[0] for path in nested})
    foreign: set[str] = set()  # folders holding a change this command did not make
    for path in plumbing.changed_paths(root, tops) if tops else ():
        if path not in ours:
            foreign.update(_folders_above(path))
    folded = {}
    for path in nested:
        free = [folder for folder in _folders_above(path) if folder not in foreign]
        if free:
            folded[path] = f"{free[-1]}/"
    covers = Counter(folded.values())  # a folder for one path says no less than the path
    return list(dict.fromkeys(folded[path] if path in folded and covers[folded[path]] > 1
                              else path for path in wanted))


def _folders_above(path: str) -> list[str]:
    """`a/b/c.txt` -> `a/b`, `a`: the folders a path is in, deepest first."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[:depth]) for depth in range(len(parts), 0, -1)]
