"""The lock's outs as checkout and pull may write them: each checked by trust/checks.py
against the spec of the same commit, outs git tracks refused, and outs the
user modified (whose bytes the cache could not give back) told apart.
"""

from __future__ import annotations

import fnmatch
import stat as stat_module
from collections.abc import Container, Iterable
from dataclasses import dataclass

from gitpipe.core.errors import BadInputError, GitpipeError, RecordError, did_you_mean
from gitpipe.core.ranges import plural
from gitpipe.hashing.digests import DIR_SUFFIX, XXH3
from gitpipe.hashing.statsig import walk_files
from gitpipe.pipeline import lockfile
from gitpipe.pipeline.graph import file_addressed, is_pattern, stage_hint
from gitpipe.pipeline.items import ItemSpec
from gitpipe.pipeline.lockfile import LockedPath, LockEntry
from gitpipe.pipeline.model import Out, Stage, Task, partition_task
from gitpipe.pipeline.partitions import is_key
from gitpipe.project.root import Project
from gitpipe.storage.cache import LOCAL, Cache
from gitpipe.trust import checks as trust


@dataclass(frozen=True)
class LockedOut:
    """An out the lock records: which task wrote it, where, which object, and
    whether it was an executable file."""

    task: str
    path: str
    digest: str
    executable: bool = False
    # A part of a directory out (a file or folder inside it, relative to it)
    # when only that part was asked for; "" for the whole out.
    within: str = ""

    @classmethod
    def of(cls, task: str, out: LockedPath, within: str = "") -> LockedOut:
        """The out `out` of the lock entry of `task` (its part `within`)."""
        return cls(task, out.path, out.digest, out.executable, within)

    @property
    def target(self) -> str:
        """The project path this names: the out, or its part."""
        return f"{self.path}/{self.within}" if self.within else self.path


def locked_outs(entries: dict[str, LockEntry], targets: Iterable[str] = ()) -> list[LockedOut]:
    """The outs of the lock entries the targets name (all entries without
    targets). A target is a stage, a task (`stage@key`), an out's path, or a
    path inside a directory out (then only that part is named)."""
    wanted = set(targets)
    stages = {name.split("@", 1)[0] for name in entries}
    names = {target for target in wanted if target in entries or target in stages}
    parts, patterns = [], []
    for target in sorted(wanted - names):
        try:
            parts.append(_by_path(entries, target))
        except UnknownTarget:
            if not is_pattern(target):
                raise
            patterns.append(target)  # as repro takes it (graph.select), and paths too
    for pattern in patterns:  # tasks it matches whole; outs it matches, those alone
        matched = {name for name in entries if fnmatch.fnmatchcase(name, pattern)}
        outs = [LockedOut.of(name, out) for name, entry in sorted(entries.items())
                if name not in matched
                for out in entry.outs if fnmatch.fnmatchcase(out.path, pattern)]
        if not matched and not outs:
            raise UnknownTarget(pattern)
        names |= matched
        parts.extend(outs)
    whole = [LockedOut.of(name, out) for name, entry in sorted(entries.items())
             if not wanted or name in names or name.split("@", 1)[0] in names
             for out in entry.outs]
    return whole + [part for part in parts if part not in whole]


def _by_path(entries: dict[str, LockEntry], target: str) -> LockedOut:
    """The out at `target` (a project path), or the part of a directory out there."""
    path = target.strip("/").removeprefix("./")
    for name, entry in sorted(entries.items()):
        for out in entry.outs:
            if path == out.path:
                return LockedOut.of(name, out)
            if path.startswith(out.path + "/") and out.digest.endswith(DIR_SUFFIX):
                return LockedOut.of(name, out, path[len(out.path) + 1:])
    raise UnknownTarget(target)


class UnknownTarget(BadInputError):
    """A target that names no lock entry and no out the lock records."""

    def __init__(self, target: str) -> None:
        super().__init__(f"{target!r} is neither a stage nor an out that gitpipe.lock records")
        self.target = target


def target_outs(project: Project, targets: Iterable[str] = ()) -> list[LockedOut]:
    """locked_outs of the project's lock for a command's TARGETS (push, pull,
    fetch, checkout), a target the lock lacks refused in the words of
    gitpipe.yaml too: a stage it declares that never ran is a stage."""
    entries = project.lock_entries
    try:
        return locked_outs(entries, targets)
    except UnknownTarget as unknown:
        try:
            stages = stages_by_name(project)
        except GitpipeError:
            stages = {}  # the spec's own error is for the commands that need it
        raise _unknown(entries, unknown.target, stages, _runnable(project, unknown.target,
                                                                  stages)) from None


def _runnable(project: Project, task: str, stages: dict[str, Stage]) -> bool:
    """Whether `repro TASK` takes the task: a key the stage declares (its
    date range, its items)."""
    name, _, key = task.partition("@")
    spec = stages[name].partition if name in stages else None
    try:
        return spec is not None and key in spec.keys(project.today)
    except GitpipeError:
        return False


def _unknown(entries: dict[str, LockEntry], target: str, stages: dict[str, Stage],
             runnable: bool) -> BadInputError:
    """Why `target` names nothing the lock records, and what to do."""
    name, at, key = target.partition("@")
    stage = stages.get(name)
    recorded = sorted(task.split("@", 1)[1] for task in entries if task.startswith(f"{name}@"))
    if is_pattern(target):
        items = stage is not None and isinstance(stage.partition, ItemSpec)
        which = (f": {', '.join(recorded[:5])}{', …' if len(recorded) > 5 else ''}" if items
                 else f", {recorded[0]} to {recorded[-1]}" if recorded else "")
        held = (f"it records {plural(len(recorded), 'item' if items else 'partition')} of "
                f"stage {name!r}{which}" if recorded else
                "a pattern matches the tasks (STAGE@KEY) and outs' paths the lock records")
        return BadInputError(f"{target!r} matches no task or out that gitpipe.lock records",
                             hint=held)
    if stage is not None and at and stage.partition is not None:
        word = "item" if isinstance(stage.partition, ItemSpec) else "partition"
        return BadInputError(f"gitpipe.lock records no {word} {key!r} of stage {name!r}",
                             hint=_held(word, key, recorded) + (
                                 f"; 'gitpipe repro {target}' computes that one"
                                 if runnable else ""))
    if stage is not None and not at:
        return BadInputError(f"stage {name!r} has no entry in gitpipe.lock: it has not run "
                             "here, or its lock entry was not committed",
                             hint=f"'gitpipe repro {name}' computes its outs")
    known = {task.split("@", 1)[0] for task in entries}
    addressed = file_addressed(target, stages or known)
    if addressed is not None:
        return addressed
    near = did_you_mean(target, known | {o.path for e in entries.values() for o in e.outs})
    # else the stages gitpipe.yaml declares (its names passed the spec's checks), as repro's
    return BadInputError(f"{target!r} is neither a stage nor an out that gitpipe.lock records",
                         hint=near or (stage_hint(target, stages) if stages else None))


def _held(word: str, key: str, recorded: list[str]) -> str:
    """Which keys of a stage the lock records: date partitions as their range
    (the nearest date by spelling is no better than any other), items as the
    nearest name or the first few."""
    if not recorded:
        return "it records none of them"
    if word == "partition":
        return f"it records {len(recorded)} of them, {recorded[0]} to {recorded[-1]}"
    more = ", …" if len(recorded) > 5 else ""
    return did_you_mean(key, recorded) or f"it records {', '.join(recorded[:5])}{more}"


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


def trusted(project: Project,
            outs: list[LockedOut]) -> tuple[list[LockedOut], list[LockedOut]]:
    """The lock outs gitpipe may write, once all pass trust's rules: each is an
    out gitpipe.yaml declares for its task, reached without a symlink, not one
    git tracks. Metrics (`cache: false`) that git tracks are git's to write.

    Second: the outs of entries for stages gitpipe.yaml no longer has, which
    nothing vouches for; they are left alone (a removed stage keeps its entry)."""
    stages = stages_by_name(project)
    declared = {task: declared_outs(project, task, stages) for task in {o.task for o in outs}}
    orphaned = [o for o in outs if declared[o.task] is None]
    known = [o for o in outs if declared[o.task] is not None]
    problems = [p for o in known for p in [_problem(project, o, declared[o.task] or {})] if p]
    if problems:
        raise RecordError("\n".join(problems), hint=trust.RECORD_HINT)
    cached = {o for o in known if (declared[o.task] or {})[o.path].cache}
    tracked = project.git.tracked_paths()
    trust.refuse_tracked([(o.task, o.path) for o in known if o in cached], tracked)
    return [o for o in known if o in cached or not _is_tracked(tracked, o.path)], orphaned


def declared_in_spec(project: Project, outs: list[LockedOut]) -> list[LockedOut]:
    """The lock outs gitpipe.yaml declares for their task, each passing the
    rules `trusted` applies; the others are left out, never refused. A push
    reads an out the cache lacks from the work tree: the lock comes from git,
    and must not choose a file nobody declared (`.git/HEAD`, `.env`) for a
    push to copy to the remote. A spec that cannot be read is refused with
    its own error (SpecError), not taken to declare nothing."""
    stages = stages_by_name(project)
    declared = {task: declared_outs(project, task, stages) for task in {o.task for o in outs}}
    return [o for o in outs if (found := declared[o.task]) is not None
            and _problem(project, o, found) is None]


def _problem(project: Project, out: LockedOut, declared: dict[str, Out]) -> str | None:
    """What is wrong with one lock out of a task the spec has, or None."""
    record = f"lock entry {out.task!r}"
    try:
        trust.out_path(project.root, out.path, declared, record=record,
                       source=lockfile.LOCK_FILE)
    except RecordError as exc:
        return exc.message
    directory = True if declared[out.path].is_dir else None
    unfit = trust.digest_problem(out.digest, directory)
    return f"{lockfile.LOCK_FILE}: {record}: out {out.path!r}: {unfit}" if unfit else None


def _is_tracked(tracked: list[str], path: str) -> bool:
    return bool(trust.tracked_outs([("", path)], tracked))


def declared_outs(project: Project, task: str,
                  stages: dict[str, Stage] | None = None) -> dict[str, Out] | None:
    """The outs gitpipe.yaml declares for a task (`stage` or `stage@partition`):
    None for a task it no longer has (a removed stage, foreach or matrix item,
    or partitioning), none for a partition it cannot have. `stages`:
    stages_by_name, for a caller asking of many tasks."""
    stages = stages_by_name(project) if stages is None else stages
    if not declares(project, task, stages):
        return None
    name, _, key = task.partition("@")
    try:
        stage = stages[name]
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


def stages_by_name(project: Project) -> dict[str, Stage]:
    """gitpipe.yaml's stages by name: each task's question answered without a
    search through every stage."""
    return {stage.name: stage for stage in project.pipeline.stages}


def declares(project: Project, task: str, stages: dict[str, Stage] | None = None) -> bool:
    """Whether gitpipe.yaml still has the task a lock entry names. A date
    partition outside the declared range still belongs to its stage (a
    backfill may run one), if its key is one the stage's frequency makes (a
    key it never names, `2024-1-1` or an hour of a daily stage, stands for no
    out the stage can write); a removed foreach or matrix item does not.
    `stages`: stages_by_name, for a caller asking of many tasks."""
    name, at, key = task.partition("@")
    stage = (stages_by_name(project) if stages is None else stages).get(name)
    if stage is None:
        return False
    if bool(at) != (stage.partition is not None):
        return False
    if isinstance(stage.partition, ItemSpec):
        return stage.partition.position(key) is not None
    return stage.partition is None or is_key(key, stage.partition.freq)


def orphaned_entries(project: Project, known: Container[str] = ()) -> list[str]:
    """The lock entries of tasks gitpipe.yaml no longer has: a repro drops them,
    as nothing can bring them up to date and checkout cannot vouch for them.
    `known`: tasks the caller knows gitpipe.yaml has (a status's judged ones),
    not asked about again."""
    stages = stages_by_name(project)
    return sorted(task for task in project.lock_entries
                  if task not in known and not declares(project, task, stages))


def renamed_to(project: Project, orphans: Iterable[str]) -> list[tuple[str, str]]:
    """(task, former) where a task without a lock entry declares exactly the
    out paths the orphaned entry `former` records: a stage renamed, whose
    former entry a repro restores it from when nothing else changed
    (engine/runcache.FormerEntries)."""
    entries = project.lock_entries
    by_outs: dict[tuple[str, ...], list[str]] = {}
    for name in orphans:
        entry = entries.get(name)
        if entry is not None and entry.outs:
            by_outs.setdefault(tuple(sorted(o.path for o in entry.outs)), []).append(name)
    if not by_outs:
        return []
    return [(task.name, former) for task in project.tasks if task.name not in entries
            for former in by_outs.get(tuple(sorted(o.path for o in task.outs)), [])]
