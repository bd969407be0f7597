"""After a branch switch: the outs of stages the new lock no longer has.

git removes the files it tracked on the old branch; gitpipe's outs are
ignored, so without this they would stay behind and look current. An out
the previous commit's lock recorded, and the new one does not, is removed
only when nothing is lost: it still holds exactly the bytes the old lock
names (unchanged since gitpipe wrote them), every object of it is in the
cache (so `git checkout` back and `gitpipe checkout` restore it), git does
not track it, and it lies inside the project through real folders. Of a
directory only the files its manifest names go; what `.gitpipeignore` kept
out of the out stays. Anything else is left where it is, with a warning. The
old lock comes from git and is read as the untrusted record it is: only outs
that the old commit's own gitpipe.yaml declares for the task are considered.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from gitpipe.core.errors import GitpipeError
from gitpipe.hashing.digests import DIR_SUFFIX, XXH3
from gitpipe.pipeline import lockfile
from gitpipe.project.root import Project
from gitpipe.storage.cache import remove_path
from gitpipe.trust import checks as trust
from gitpipe.usecases.dirsync import folders_below


class Leftovers(NamedTuple):
    removed: list[str]
    kept: list[str]  # each "path: why it stays"

    def removed_text(self, shown: int = 5) -> str:
        """A line per removed out, up to `shown`; more are counted on one line
        (a year of daily partitions is not 365 lines on each branch switch)."""
        paths = self.removed
        if len(paths) <= shown:
            return "".join(f"gitpipe: removed {path}, an out this branch's lock does not have\n"
                           for path in paths)
        return (f"gitpipe: removed {len(paths)} outs this branch's lock does not have: "
                f"{', '.join(paths[:3])} and {len(paths) - 3} more\n")


def _outs(entries: dict[str, lockfile.LockEntry]) -> dict[str, str]:
    return {out.path: out.digest for entry in entries.values() for out in entry.outs}


def _overlaps(path: str, others: set[str]) -> bool:
    return any(path == o or path.startswith(o + "/") or o.startswith(path + "/")
               for o in others)


def _declared_outs(project: Project, previous: str) -> dict[str, str]:
    """{path: digest} of the outs `previous`'s lock records for the outs its own
    gitpipe.yaml declares for that task: a lock entry naming anything else is
    a forged record, and nothing it names is touched."""
    from gitpipe.usecases.revision import load_at

    snapshot = load_at(project, previous)
    declared = {(str(node), out.path) for node in snapshot.graph.nodes
                for out in snapshot.graph.nodes[node]["task"].outs}
    return {out.path: out.digest for name, entry in snapshot.entries.items()
            for out in entry.outs if (name, out.path) in declared}


def remove_leftovers(project: Project, previous: str) -> Leftovers:
    """Remove the outs `previous`'s lock has and the work tree's lock does not,
    where that loses nothing (see the module's note)."""
    try:
        old = _declared_outs(project, previous)
    except GitpipeError:
        return Leftovers([], [])  # no readable pipeline there: nothing to compare with
    current = set(_outs(project.lock_entries))
    tracked = set(project.git.tracked_paths())
    removed, kept = [], []
    for path, digest in sorted(old.items()):
        if _overlaps(path, current) or trust.path_problem(path) is not None:
            continue
        full = project.root / path
        if not full.exists() and not full.is_symlink():
            continue
        why = _why_kept(project, path, digest, tracked)
        if why is None:
            _remove_out(project, path, digest)
            removed.append(path)
        else:
            kept.append(f"{path}: {why}")
    project.state.flush()
    return Leftovers(removed, kept)


def _remove_out(project: Project, path: str, digest: str) -> None:
    """The out's own files only: a directory keeps what its manifest does not
    name (files `.gitpipeignore` keeps out of the out), and goes when empty."""
    full = project.root / path
    if not digest.endswith(DIR_SUFFIX):
        remove_path(full)
        return
    for entry in project.cache.manifest(digest):
        target = full / entry.relpath
        if target.is_symlink() or target.is_file():
            target.unlink()
    for folder in [*reversed(folders_below(full)), ""]:
        where = full / folder if folder else full
        if not os.listdir(where):
            os.rmdir(where)


def _why_kept(project: Project, path: str, digest: str, tracked: set[str]) -> str | None:
    if path in tracked or any(t.startswith(path + "/") for t in tracked):
        return "git tracks it"
    if trust.blocking_parent(project.root, path) is not None or (project.root / path).is_symlink():
        return "it is reached through a symlink"
    if project.workspace.info(path, XXH3).digest != digest:
        return "it changed since gitpipe wrote it"
    if project.cache.missing(digest):
        return "the cache does not hold it"
    return None
