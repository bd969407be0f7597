"""Git hooks: install one-line hooks that call gitpipe, and what each hook does.

Hooks chain any hook already there (kept as `<name>.pre-gitpipe`), honour
`core.hooksPath` and worktrees, and exit 0 outside a gitpipe project.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitpipe.errors import GitpipeError, NotAProjectError
from gitpipe.gitrepo import GitRepo

if TYPE_CHECKING:
    from gitpipe.dag import Dag
    from gitpipe.gitrepo import StagedCommit
    from gitpipe.lockfile import LockEntry
    from gitpipe.params import ParamsReader
    from gitpipe.project import Project

HOOKS = ("pre-commit", "pre-merge-commit", "post-checkout", "pre-push")
# git runs pre-merge-commit, not pre-commit, for a merge that needs no hand:
# the lock a merge makes is as much in need of the check.
COMMIT_HOOKS = ("pre-commit", "pre-merge-commit")
MARKER = "# installed by gitpipe hooks install"
CHAINED = ".pre-gitpipe"


def hook_script(name: str, python: str = sys.executable, project: str = "") -> str:
    """The hook: run the chained hook first, then gitpipe with an absolute interpreter,
    so GUI git clients with a bare PATH still find it. git runs hooks from the top
    of the work tree; `project` is the project's directory relative to it."""
    chained = f'"$(dirname "$0")/{name}{CHAINED}"'
    where = f"-C {shlex.quote(project)} " if project else ""
    return (f"#!/bin/sh\n{MARKER}\n"
            f"if [ -x {chained} ]; then {chained} \"$@\" || exit $?; fi\n"
            f"exec {shlex.quote(python)} -m gitpipe {where}hooks run {name} \"$@\"\n")


def hooks_dir(git: GitRepo) -> Path:
    """core.hooksPath if set, else the common git dir's hooks/ (shared by worktrees)."""
    configured = git.hooks_dir()
    gitdir = Path(git.repo.path)
    if configured != gitdir / "hooks":
        return configured
    common = gitdir / "commondir"
    if common.exists():
        return (gitdir / common.read_text().strip()).resolve() / "hooks"
    return gitdir / "hooks"


@dataclass(frozen=True)
class InstallReport:
    installed: tuple[str, ...]
    chained: tuple[str, ...]
    directory: Path


def install(git: GitRepo, python: str = sys.executable) -> InstallReport:
    """Hooks for the project at `git.prefix` (a repository's hooks serve one
    project: installing from another project's directory moves them there)."""
    directory = hooks_dir(git)
    directory.mkdir(parents=True, exist_ok=True)
    chained = []
    for name in HOOKS:
        path = directory / name
        if path.exists() and MARKER not in path.read_text(errors="replace"):
            path.replace(directory / f"{name}{CHAINED}")
            chained.append(name)
        path.write_text(hook_script(name, python, git.prefix))
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return InstallReport(HOOKS, tuple(chained), directory)


def uninstall(git: GitRepo) -> list[str]:
    """Remove gitpipe's hooks and put chained ones back."""
    directory = hooks_dir(git)
    removed = []
    for name in HOOKS:
        path = directory / name
        if path.exists() and MARKER in path.read_text(errors="replace"):
            path.unlink()
            removed.append(name)
            previous = directory / f"{name}{CHAINED}"
            if previous.exists():
                previous.replace(path)
    return removed


# -- what the hooks do -------------------------------------------------------------

def lock_problems(graph: Dag, params: ParamsReader,
                  entries: dict[str, LockEntry]) -> list[str]:
    """Where gitpipe.lock disagrees with gitpipe.yaml and params: a stage without an
    entry, or whose cmd, params or declared deps/outs differ. Nothing is hashed or run."""
    from gitpipe.params import same

    problems = []
    for node in graph:
        task = graph.nodes[node]["task"]
        entry = entries.get(task.name)
        if entry is None:
            problems.append(f"{task.name}: not in gitpipe.lock")
            continue
        if entry.cmd != task.cmd:
            problems.append(f"{task.name}: cmd changed")
        if not same(entry.params, params.values(task.stage)):  # NaN equals NaN there
            problems.append(f"{task.name}: params changed")
        if {d.path for d in entry.deps} != set(task.deps):
            problems.append(f"{task.name}: deps changed")
        if {o.path for o in entry.outs} != {o.path for o in task.outs}:
            problems.append(f"{task.name}: outs changed")
    return problems


def run(name: str, args: list[str], start: Path) -> tuple[int, str]:
    """Run hook `name`; (exit code, message). Outside a gitpipe project: (0, '')."""
    from gitpipe.project import Project

    try:
        project = Project(start)
        if name in COMMIT_HOOKS:
            return _pre_commit(project)  # reads the commit's files, not the work tree's
        _ = project.pipeline
    except NotAProjectError:
        return 0, ""
    if name == "post-checkout":
        return _post_checkout(project, args)
    if name == "pre-push":
        return _pre_push(project)
    if name == "lock-check":
        return _lock_check(project)
    return 2, f"unknown hook {name!r}"


def _pre_commit(project: Project) -> tuple[int, str]:
    """gitpipe.yaml, params and gitpipe.lock as the commit being made records
    them (the index, or the temporary one `git commit -a` and `git commit
    <paths>` name) must agree; unstaged edits are not being committed. Only
    when the commit touches one of them; never when it carries no pipeline."""
    from gitpipe.lockfile import LOCK_FILE
    from gitpipe.revision import load_snapshot
    from gitpipe.spec import SPEC_FILE

    commit = project.git.staged()
    if commit.text(SPEC_FILE) is None:
        return 0, ""
    try:
        graph, params, entries = load_snapshot(project, _committed_text(project, commit),
                                               "in the commit", " (staged)")
        staged = commit.paths()
        watched = {SPEC_FILE, LOCK_FILE} | {ref.file for node in graph
                                            for ref in graph.nodes[node]["task"].stage.params}
        if staged is not None and not staged & watched:
            return 0, ""
        return _verdict(lock_problems(graph, params, entries))
    except GitpipeError as exc:
        return exc.exit_code, f"gitpipe: {exc}"


def _committed_text(project: Project, commit: StagedCommit) -> Callable[[str], str | None]:
    """A project file as the commit records it; one git does not track (a params
    file a stage writes, an ignored one) only exists in the work tree."""
    def read(path: str) -> str | None:
        text = commit.text(path)
        if text is None and not project.git.is_tracked(path):
            try:
                return (project.root / path).read_text(encoding="utf-8")
            except (FileNotFoundError, IsADirectoryError):
                return None
        return text
    return read


def _lock_check(project: Project) -> tuple[int, str]:
    """`lock-check`, for the pre-commit framework: the work tree, which that
    framework stashes unstaged edits from itself (and `pre-commit run
    --all-files` means as it is)."""
    try:
        return _verdict(lock_problems(project.graph, project.params_reader(),
                                      project.lock_entries))
    except GitpipeError as exc:
        return exc.exit_code, f"gitpipe: {exc}"


def _verdict(problems: list[str]) -> tuple[int, str]:
    if not problems:
        return 0, ""
    lines = "\n".join(f"  {p}" for p in problems[:20])
    return 1, (f"gitpipe: gitpipe.lock does not match gitpipe.yaml and params:\n{lines}\n"
               "hint: run 'gitpipe repro' (or 'gitpipe commit' for outs made by hand), "
               "then stage gitpipe.lock")


def _post_checkout(project: object, args: list[str]) -> tuple[int, str]:
    """Outs follow the branch; never fails the checkout."""
    if len(args) >= 3 and args[2] != "1":
        return 0, ""  # a file checkout, not a branch switch
    from gitpipe.project import Project
    from gitpipe.transfer import checkout

    assert isinstance(project, Project)
    try:
        report = checkout(project)
    except (GitpipeError, OSError) as exc:
        return 0, f"gitpipe: outs not checked out: {exc}"
    if report.missing:
        return 0, (f"gitpipe: {len(report.missing)} out(s) are not in the cache; "
                   "run 'gitpipe pull'")
    return 0, ""


def _pre_push(project: object) -> tuple[int, str]:
    from gitpipe.project import Project
    from gitpipe.transfer import push_outs

    assert isinstance(project, Project)
    core = project.config.raw.get("core") or {}
    if not core.get("remote") and len(project.config.raw.get("remotes") or {}) != 1:
        return 0, ""
    try:
        summary = push_outs(project, project.remote())
    except GitpipeError as exc:
        return 1, f"gitpipe: push failed: {exc}"
    return 0, f"gitpipe: pushed {summary.files} object(s)" if summary.files else ""


def env_python() -> str:
    return os.environ.get("GITPIPE_PYTHON", sys.executable)
