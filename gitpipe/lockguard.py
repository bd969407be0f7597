"""The lock's outs as checkout and pull may write them: each checked by trust.py
against the spec of the same commit, outs git tracks refused, and outs the
user modified (whose bytes the cache could not give back) told apart.
"""

from __future__ import annotations

import stat as stat_module
from collections.abc import Iterable
from dataclasses import dataclass

from gitpipe import lockfile, trust
from gitpipe.cache import LOCAL, Cache
from gitpipe.errors import BadInputError, GitpipeError, RecordError, did_you_mean
from gitpipe.hashing import DIR_SUFFIX, XXH3
from gitpipe.lockfile import LockEntry
from gitpipe.project import Project
from gitpipe.spec import Out, Task, partition_task
from gitpipe.statsig import walk_files


@dataclass(frozen=True)
class LockedOut:
    """An out the lock records: which task wrote it, where, which object."""

    task: str
    path: str
    digest: str


def locked_outs(entries: dict[str, LockEntry], targets: Iterable[str] = ()) -> list[LockedOut]:
    """The outs of the lock entries the targets name (all entries without targets)."""
    wanted = set(targets)
    stages = {name.split("@", 1)[0] for name in entries}
    for target in wanted:
        if target not in entries and target not in stages:
            raise BadInputError(f"no lock entry for {target!r}",
                                hint=did_you_mean(target, stages))
    return [LockedOut(name, out.path, out.digest)
            for name, entry in sorted(entries.items())
            if not wanted or name in wanted or name.split("@", 1)[0] in wanted
            for out in entry.outs]


def would_lose(project: Project, path: str, digest: str) -> bool:
    """Whether replacing the out would lose bytes the cache cannot give back:
    a file (of a directory out, any file) whose content is not an object."""
    cache = project.cache
    if not cache.missing(digest):
        return False
    if not digest.endswith(DIR_SUFFIX):
        return True
    for rel, _, _, _, mode, _ in walk_files(str(project.root / path)):
        if stat_module.S_ISREG(mode):
            held = project.workspace.info(f"{path}/{rel}", XXH3).digest
            if held is None or not cache.has(held):
                return True
    return False


def trusted(project: Project, outs: list[LockedOut]) -> list[LockedOut]:
    """The lock outs gitpipe may write, once all pass trust's rules: each is an
    out gitpipe.yaml declares for its task, reached without a symlink, not one
    git tracks. Metrics (`cache: false`) that git tracks are git's to write."""
    problems = []
    declared: dict[str, dict[str, Out]] = {}
    tracked = project.git.tracked_paths()
    for out in outs:
        if out.task not in declared:
            declared[out.task] = declared_outs(project, out.task)
        record = f"lock entry {out.task!r}"
        spec_out = declared[out.task].get(out.path)
        try:
            trust.out_path(project.root, out.path, declared[out.task], record=record,
                           source=lockfile.LOCK_FILE)
        except RecordError as exc:
            problems.append(exc.message)
            continue
        unfit = trust.digest_problem(out.digest, directory=True if spec_out and spec_out.is_dir
                                     else None)
        if unfit is not None:
            problems.append(f"{lockfile.LOCK_FILE}: {record}: out {out.path!r}: {unfit}")
    if problems:
        raise RecordError("\n".join(problems), hint=trust.RECORD_HINT)
    cached = [o for o in outs if declared[o.task][o.path].cache]
    trust.refuse_tracked([(o.task, o.path) for o in cached], tracked)
    return [o for o in outs if o in cached or not _is_tracked(tracked, o.path)]


def _is_tracked(tracked: list[str], path: str) -> bool:
    return bool(trust.tracked_outs([("", path)], tracked))


def declared_outs(project: Project, task: str) -> dict[str, Out]:
    """The outs gitpipe.yaml declares for a task (`stage` or `stage@partition`);
    none for a task it does not know."""
    name, _, key = task.partition("@")
    try:
        stage = project.pipeline.stage(name)
        if bool(key) != (stage.partition is not None):
            return {}
        spec_task = partition_task(stage, key) if key else Task.of(stage)
    except (KeyError, ValueError, GitpipeError):
        return {}
    return {out.path: out for out in spec_task.outs}


def check_manifests(cache: Cache, outs: list[LockedOut],
                     source: str = LOCAL) -> None:
    """Read (so check) the manifest of each directory out, before anything is written."""
    for out in outs:
        if not out.digest.endswith(DIR_SUFFIX):
            continue
        try:
            cache.manifest(out.digest, source)
        except RecordError as exc:
            raise RecordError(f"{exc.message} (out {out.path!r} of lock entry {out.task!r})",
                              hint=trust.RECORD_HINT) from None
