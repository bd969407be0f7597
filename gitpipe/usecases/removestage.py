"""`gitpipe remove STAGE…` (as `dvc remove`): the stages go from gitpipe.yaml
(their lines only, the rest as written), their lock entries from
gitpipe.lock and the lines gitpipe wrote for their outs from .gitignore. The
outs stay in the work tree, no longer ignored by git, unless `outs` asks to
delete them too; a file git tracks (a committed metrics file), and bytes
the cache cannot give back (a folder of the user's own that a clone's
gitpipe.yaml names as an out), are never deleted here, nor an out of a
partition the lock records outside a stage's declared range (it is named
instead: a lock is input, never a list of paths to delete).

A gitpipe.yaml that is a link is edited through it, as git writes through
a linked config file and as an editor does, where the file it leads to lies
in the work tree (not under .git); the link stays a link.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from gitpipe.core.atomicfile import atomic_write
from gitpipe.core.errors import BadInputError, did_you_mean
from gitpipe.core.yamlio import parse_yaml
from gitpipe.hashing.digests import file_digest
from gitpipe.pipeline.graph import file_addressed
from gitpipe.pipeline.lockfile import LockWriter
from gitpipe.pipeline.model import SPEC_FILE, Pipeline, Stage, Task, partition_task, tasks_of
from gitpipe.pipeline.parse import parse_pipeline, project_reader, read_inside
from gitpipe.pipeline.partitions import PartitionSpec, is_key
from gitpipe.pipeline.specedit import without_stages
from gitpipe.project.gitignore import cached_out_paths, drop_ignored, read_ignore_file
from gitpipe.project.projectlock import ProjectLock
from gitpipe.project.root import Project
from gitpipe.storage.cache import remove_path
from gitpipe.trust.checks import terminal_text


class Removed(NamedTuple):
    """What `remove` did: the stages, their lock entries, the .gitignore lines;
    the outs deleted, and those left in the work tree (`tracked`: git's;
    `beyond`: of partitions outside the declared range); `spec`: the file
    written, gitpipe.yaml or the one it links to."""

    stages: list[str]
    lock_entries: list[str]
    ignore_lines: list[str]
    deleted: list[str]
    left: list[str]
    tracked: list[str]
    unsaved: list[str]  # outs holding bytes the cache lacks: kept, even with `outs`
    # (stage, dep) of the stages kept that read an out of a stage removed
    unmade: list[tuple[str, str]]
    beyond: list[str]
    spec: str


def _checked(project: Project, names: Iterable[str]) -> list[str]:
    """The stage names asked for, each one gitpipe.yaml declares."""
    declared = [stage.name for stage in project.pipeline.stages]
    wanted = list(dict.fromkeys(names))
    for name in wanted:
        if name in declared:
            continue
        stage, at, key = name.partition("@")
        if at and stage in declared:
            raise BadInputError(f"{name!r} is one item or partition of stage {stage!r}: "
                                "'gitpipe remove' removes whole stages",
                                hint=f"'gitpipe remove {stage}' removes the stage; to drop "
                                     f"{key!r} alone, change its range or list in gitpipe.yaml")
        addressed = file_addressed(name, declared)
        if addressed is not None:
            raise addressed
        near = did_you_mean(name, declared)
        raise BadInputError(f"{SPEC_FILE} declares no stage {name!r}"
                            + (f" ({near})" if near else ""),
                            hint="stages: " + ", ".join(declared))
    if len(wanted) == len(declared):
        raise BadInputError(f"removing {', '.join(wanted)} would leave {SPEC_FILE} with no "
                            "stage, and a pipeline has at least one",
                            hint="to drop gitpipe from this repository, delete gitpipe.yaml, "
                                 "gitpipe.lock and .gitpipe/ (and the outs' .gitignore lines)")
    return wanted


def _outs(tasks: list[Task]) -> dict[str, list[str]]:
    """{task: its declared outs}: the paths gitpipe.yaml's checks passed, never
    one a lock entry from git names (trust: a clone's lock is input)."""
    return {task.name: [out.path for out in task.outs] for task in tasks}


def remove_stages(project: Project, names: Iterable[str], outs: bool = False) -> Removed:
    """Remove the stages `names` as the module says; BadInputError, with
    nothing changed, where one is not declared, all would go, or gitpipe.yaml
    without them would not be valid."""
    wanted = _checked(project, names)
    old = {stage.name: stage for stage in project.pipeline.stages}
    spec = _spec_file(project)
    text = read_inside(project.root, SPEC_FILE, None)
    new_text = without_stages(text, wanted)
    try:
        kept = parse_pipeline(parse_yaml(new_text, SPEC_FILE), SPEC_FILE,
                              project_reader(project.root, None))
    except BadInputError as exc:
        raise BadInputError(f"without {', '.join(wanted)}, {SPEC_FILE} would not be valid: "
                            f"{exc.message}", hint="nothing was changed; edit gitpipe.yaml "
                            "by hand") from None
    tasks = [task for name in wanted for task in tasks_of(old[name], project.today)]
    paths = _outs(tasks)
    project.check_paths_inside(outs=paths)  # gitpipe's own files among them: refused
    gone = set(cached_out_paths(Pipeline(tuple(old[name] for name in wanted))))
    gone -= set(cached_out_paths(kept))
    # Refused here (a link, a file too large), not after the spec and lock change.
    read_ignore_file(project.root / ".gitignore")
    with ProjectLock(project.gitpipe_dir, project.config.lock_wait):
        project.__dict__.pop("lock_entries", None)  # re-read under the ProjectLock
        atomic_write(project.root / spec, new_text)
        writer = LockWriter(project.root, project.lock_entries)
        entries = sorted(name for name in writer.entries if name.partition("@")[0] in wanted)
        # A metrics file's bytes are never cached: the lock's digest says a run made them.
        metrics = {out.path for task in tasks for out in task.outs if not out.cache}
        recorded = {out.path: out.digest for name in entries
                    for out in writer.entries[name].outs if out.path in metrics}
        if entries:
            writer.remove(entries)
        writer.close()
        lines = drop_ignored(project.root, sorted(gone))
        deleted, left, tracked, unsaved = _settle_outs(project, paths,
                                                       recorded if outs else None)
    beyond = _beyond_range(project, old, entries, {p for ps in paths.values() for p in ps})
    return Removed(wanted, entries, lines, deleted, left, tracked, unsaved, _unmade(kept, tasks),
                   beyond, spec)


def _spec_file(project: Project) -> str:
    """The file `remove` writes, relative to the root: gitpipe.yaml, or the file
    it links to, which must lie in the work tree outside .git (BadInputError,
    nothing changed, otherwise)."""
    link = project.root / SPEC_FILE
    if not link.is_symlink():
        return SPEC_FILE
    real = Path(os.path.realpath(link))
    try:
        target = real.relative_to(project.real_root).as_posix()
    except ValueError:
        target = ""
    if not target or target.split("/")[0] == ".git" or not real.is_file():
        named = terminal_text(repr(target))  # a clone's link: its text is input
        where = ("outside the work tree" if not target else f"to {named}, in .git"
                 if target.split("/")[0] == ".git" else f"to {named}, no file")
        raise BadInputError(f"{SPEC_FILE} is a link that leads {where}: 'gitpipe remove' "
                            "edits only a file of the work tree",
                            hint="nothing was changed; edit the pipeline by hand")
    return target


def _beyond_range(project: Project, stages: dict[str, Stage], entries: list[str],
                  declared: set[str]) -> list[str]:
    """The outs in the work tree of the lock entries dropped for date partitions
    outside their stage's declared range: each out as the stage's own template
    writes it for that key (a key a date stage makes, never a path the lock
    says), to name them; `remove` deletes none."""
    found: list[str] = []
    for entry in entries:
        name, _, key = entry.partition("@")
        stage = stages[name]
        if not isinstance(stage.partition, PartitionSpec) or not is_key(key, stage.partition.freq):
            continue
        found += [out.path for out in partition_task(stage, key).outs
                  if out.path not in declared and _there(project, out.path)]
    return list(dict.fromkeys(found))


def _there(project: Project, path: str) -> bool:
    at = project.root / path
    return at.exists() or at.is_symlink()


def _unmade(kept: Pipeline, removed: list[Task]) -> list[tuple[str, str]]:
    """The deps of the stages kept that lie at or under an out of the removed
    tasks: no stage writes them now (validate warns of each once it is gone)."""
    outs = {out.path.rstrip("/") for task in removed for out in task.outs}
    return [(stage.name, dep) for stage in kept.stages for dep in stage.deps
            if any(dep.rstrip("/") == out or dep.startswith(out + "/") for out in outs)]


# (deleted, left, tracked, unsaved) outs
_Settled = tuple[list[str], list[str], list[str], list[str]]


def _settle_outs(project: Project, paths: dict[str, list[str]],
                 recorded: dict[str, str] | None) -> _Settled:
    """(deleted, left, tracked, unsaved): the outs there now, deleted where
    `recorded` (the removed lock entries' {metrics file: digest}) is given,
    but those git tracks and those whose bytes would be lost (`_unsaved`).
    None is one of gitpipe's own files: the spec's checks and
    check_paths_inside's refuse such an out, by one rule (model.own_file)."""
    there = [path for path in dict.fromkeys(p for ps in paths.values() for p in ps)
             if (project.root / path).exists() or (project.root / path).is_symlink()]
    tracked_now = _and_folders(project.git.tracked_paths()) if there else set()
    tracked = [path for path in there if _holds(project, path, tracked_now)]
    rest = [path for path in there if path not in tracked]
    if recorded is None:
        return [], rest, tracked, []
    unsaved = [path for path in rest if _unsaved(project, path, recorded)]
    deleted = [path for path in rest if path not in unsaved]
    for path in deleted:
        remove_path(project.root / path)
    return deleted, [], tracked, unsaved


def _unsaved(project: Project, path: str, recorded: dict[str, str]) -> bool:
    """Whether deleting the out `path` would lose bytes nothing gives back:
    it is no metrics file the removed lock entries record, and a regular
    file of it (every one, `.gitpipeignore` or not: all are deleted) is no
    object in the cache. gitpipe.yaml comes from git: a clone may declare as an out a
    folder of the user's own files, which no run of gitpipe's made (a first
    repro keeps them too, docs/explanation/security.md)."""
    at = project.root / path
    try:
        if at.is_symlink() or not at.is_dir():
            files = [at] if at.is_file() and not at.is_symlink() else []
        else:
            files = [Path(top, name) for top, _, names in os.walk(at, onerror=_unlisted)
                     for name in names if stat.S_ISREG(os.lstat(Path(top, name)).st_mode)]
        if files == [at] and recorded.get(path) == file_digest(at):
            return False
        cache = project.cache
        return any(not cache.has(file_digest(name)) for name in files)
    except OSError:
        return True  # a folder it cannot list, a file it cannot read: kept


def _unlisted(exc: OSError) -> None:
    raise exc


def _and_folders(files: Iterable[str]) -> set[str]:
    """`files` and every folder above each of them."""
    found: set[str] = set()
    for name in files:
        while name and name not in found:
            found.add(name)
            name = name.rpartition("/")[0]
    return found


def _holds(project: Project, path: str, held: set[str]) -> bool:
    """Whether deleting the out `path` would delete a file of `held` (files and
    their folders, _and_folders): the path itself, one under it (a folder
    out), or either through a linked folder above it (`d/x.py` with a
    committed `d -> src` is `src/x.py`)."""
    at = project.root / path.rstrip("/")
    reached = Path(os.path.realpath(at.parent)) / at.name
    try:
        names = {path.rstrip("/"), reached.relative_to(project.real_root).as_posix()}
    except ValueError:
        return True  # outside the project (check_paths_inside refuses it): never deleted
    return any(name == "." or name in held for name in names)
