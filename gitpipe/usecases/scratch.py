"""A scratch copy of one task's world, for `gitpipe verify`: the repository's
tracked files as the work tree holds them and every declared dep, in a
temporary folder outside the project, where the task's command runs again.

It isolates by copy, not by sandbox (docs/howto/verify.md): the command sees
the copy as its working directory and GITPIPE_ROOT, but nothing stops it from
writing to an absolute path it names itself.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gitpipe.core.errors import BadInputError, GitpipeError, RecordError
from gitpipe.executors.base import Context, RunResult
from gitpipe.executors.local import LocalExecutor
from gitpipe.hashing.digests import XXH3
from gitpipe.hashing.ignore import forget_outer_rules
from gitpipe.pipeline.lockfile import LockEntry
from gitpipe.pipeline.model import Task
from gitpipe.project.root import Project
from gitpipe.storage.cache import Cache, remove_path
from gitpipe.storage.state import State
from gitpipe.storage.workspace import PathInfo, Workspace
from gitpipe.trust import checks as trust

COPY_DIR = "project"  # the copy of the project, inside the scratch folder
LOG_FILE = "verify.log"  # the rerun's output, beside it


@contextmanager
def scratch_folder(project: Project) -> Iterator[Path]:
    """A new temporary folder outside the project, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="gitpipe-verify-")).resolve()
    try:
        if folder.is_relative_to(project.root.resolve()):
            raise BadInputError(f"the temporary folder {str(folder)!r} is inside the project; "
                                "verify copies the project elsewhere",
                                hint="set TMPDIR to a folder outside the repository")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def lay_out(project: Project, task: Task, entry: LockEntry, folder: Path) -> Path:
    """Fill `folder/project` with the task's world; the outs are left out (a
    rerun starts without them, as in a repro) and their folders made."""
    root = folder / COPY_DIR
    root.mkdir()
    _copy_tracked(project, root)
    _check_inside(task, root)
    _copy_deps(project, task, entry, root)
    for ref in task.stage.params:
        _copy_path(project.root / ref.file, root / ref.file)
    for out in task.outs:
        remove_path(root / out.path)
        (root / out.path).parent.mkdir(parents=True, exist_ok=True)
    (root / task.stage.wdir).mkdir(parents=True, exist_ok=True)
    _refuse_links_home(project, task, root)
    return root


def _refuse_links_home(project: Project, task: Task, root: Path) -> None:
    """Refuse a symlink anywhere in the copy that leads back into the real
    project (an absolute one, from git or a dep folder): the rerun would read
    and write the project's files through it, as if they were the copy's."""
    home = project.root.resolve()
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            path = Path(folder, name)
            if path.is_symlink() and not trust.resolves_inside(root, path) \
                    and trust.resolves_inside(home, path):
                rel = path.relative_to(root).as_posix()
                raise RecordError(f"stage {task.stage.name!r}: {rel!r} is a symlink that "
                                  "leads from the scratch copy back into the project; it "
                                  "is not rerun", hint="make the symlink relative")


def _check_inside(task: Task, root: Path) -> None:
    """Refuse a dep, out or wdir that a tracked symlink leads out of the copy:
    an absolute link that stays inside the work tree points into the real
    project from the copy, where the rerun would delete and write its outs."""
    paths = [*task.deps, *(out.path for out in task.outs), task.stage.wdir]
    for path in paths:
        if not trust.resolves_inside(root, root / path):
            raise RecordError(f"stage {task.stage.name!r}: {path!r} leads out of the scratch "
                              "copy through a symlink git tracks; it is not rerun",
                              hint="make the symlink relative")


def _copy_tracked(project: Project, root: Path) -> None:
    """Every file git tracks, with the bytes and mode the work tree has now; a
    symlink stays a symlink, as git stores it."""
    for rel in project.git.tracked_paths():
        source = project.root / rel
        if not os.path.lexists(source) or (source.is_dir() and not source.is_symlink()):
            continue  # deleted in the work tree, or a submodule
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
        else:
            shutil.copy2(source, target)


def _copy_deps(project: Project, task: Task, entry: LockEntry, root: Path) -> None:
    """Each declared dep: an object the cache holds (another stage's out) is
    copied from there, its bytes checked; anything else from the work tree."""
    copier = Cache(project.cache.root, "copy")  # never a link into the cache
    for path in task.deps:
        locked = entry.dep(path)
        if locked is not None and locked.digest.startswith(f"{XXH3}:") \
                and not copier.missing(locked.digest):
            copier.checkout(root / path, locked.digest, locked.executable)
        else:
            _copy_path(project.root / path, root / path)


def _copy_path(source: Path, target: Path) -> None:
    """A file or directory from the work tree into the copy (a file already
    there from git is kept; a directory gets the files git does not track)."""
    if not source.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True,
                        ignore=_already_copied(source, target))
    elif not os.path.lexists(target):
        shutil.copy2(source, target)


def _already_copied(source: Path, target: Path) -> Callable[[str, list[str]], set[str]]:
    """copytree's `ignore`: the entries git already put into the copy (a file or
    a symlink; a folder is entered), which copytree cannot write over."""
    def ignored(folder: str, names: list[str]) -> set[str]:
        there = target / os.path.relpath(folder, source)
        return {name for name in names if os.path.lexists(there / name)
                and ((there / name).is_symlink() or not (there / name).is_dir())}
    return ignored


def rerun(project: Project, task: Task, root: Path, log: Path) -> RunResult:
    """The task's command in the copy, through the local executor's own run
    (the environment a repro gives it, GITPIPE_ROOT the copy)."""
    return LocalExecutor(Context(project)).run_in(root, task, log)


def hash_outs(project: Project, task: Task, root: Path) -> dict[str, PathInfo]:
    """Each out of the rerun as the project hashes outs; a stat cache of its
    own, thrown away with the copy."""
    state = State(root.parent / "state.db")
    try:
        hasher = Workspace(root, state, None)
        return {out.path: _info(hasher, out.path) for out in task.outs}
    finally:
        state.close()
        # `.gitpipeignore` rules are read per project root: the project's again.
        forget_outer_rules(str(project.root))


def _info(hasher: Workspace, path: str) -> PathInfo:
    try:
        return hasher.info(path, XXH3)
    except GitpipeError:  # a fifo or device where an out should be
        return PathInfo(path, None)


def log_tail(log: Path, lines: int = 10) -> list[str]:
    """The last lines the rerun printed."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]
