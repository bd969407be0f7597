"""Git hooks: install one-line hooks that call gitpipe, and what each hook does.

Hooks go where git runs them, chain any hook already there (kept beside
them as `<name>.pre-gitpipe`, or `.2`… when that name is taken) and exit 0
outside a gitpipe project.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitpipe.core.errors import GitpipeError, NotAProjectError
from gitpipe.git.plumbing import ONLY_OWN_REPOSITORY
from gitpipe.git.repo import GitRepo

if TYPE_CHECKING:
    from gitpipe.git.repo import StagedCommit
    from gitpipe.project.root import Project

HOOKS = ("pre-commit", "pre-merge-commit", "post-checkout", "pre-push")
# git runs pre-merge-commit, not pre-commit, for a merge that needs no hand:
# the lock a merge makes is as much in need of the check.
COMMIT_HOOKS = ("pre-commit", "pre-merge-commit")
MARKER = "# installed by gitpipe hooks install"
CHAINED = ".pre-gitpipe"
CHAINS = "# chains: "  # the line naming the hook this one runs first
RUNNING = "GITPIPE_HOOK_RUNNING"
# What a hook runs: gitpipe, with the folder git starts it in (the top of the
# work tree, whatever the branch checked out holds) taken off Python's import
# path before anything is imported; `python -m gitpipe` would import a
# branch's `click.py` or `gitpipe/` instead of the installed ones.
HOOK_ENTRY = ("import sys; sys.path[:1] = [p for p in sys.path[:1] if p]; "
              'sys.argv[0] = "gitpipe"; from gitpipe.cli.launch import main; main()')


def hook_script(name: str, python: str = sys.executable, project: str = "",
                chained: str | None = None) -> str:
    """The hook: run the chained hook first (the one it replaced, kept beside it),
    then gitpipe with an absolute interpreter, so GUI git clients with a bare
    PATH still find it. git runs hooks from the top of the work tree; `project`
    is the project's directory relative to it.

    Another tool may have installed its hook over an earlier gitpipe hook and
    call that one in turn; such a nested gitpipe hook runs what it chains but
    not gitpipe, which the outer one runs once."""
    where = f"-C {shlex.quote(project)} " if project else ""
    lines = ["#!/bin/sh", MARKER]
    if chained is not None:
        lines.append(f"{CHAINS}{chained}")
    # The marker names the hook and the repository (git starts hooks at
    # the top of its work tree), so a hook that commits in another repository
    # still gets that repository's gitpipe hook.
    lines.append(f'nested="${{{RUNNING}-}}"; {RUNNING}="{name}:$PWD"; export {RUNNING}')
    if chained is not None:
        path = f'"$(dirname "$0")"/{shlex.quote(chained)}'
        lines.append(f'if [ -x {path} ]; then {path} "$@" || exit $?; fi')
    lines.append(f'[ "$nested" = "{name}:$PWD" ] && exit 0')
    lines.append(f"exec {shlex.quote(python)} -c {shlex.quote(HOOK_ENTRY)} "
                 f"{where}hooks run {name} \"$@\"")
    return "\n".join(lines) + "\n"


def hooks_dir(git: GitRepo) -> Path:
    """Where git runs hooks from: `git rev-parse --git-path hooks` asked at the top
    of the work tree, so core.hooksPath (the last one set, `~` expanded, relative
    to the top) and a linked worktree's common hooks are git's own answer."""
    try:
        done = subprocess.run(["git", *ONLY_OWN_REPOSITORY, "rev-parse", "--git-path", "hooks"],
                              cwd=git.workdir, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        raise GitpipeError(f"cannot ask git where its hooks are: {detail}".strip()) from None
    return Path(os.path.normpath(git.workdir / done.stdout.strip()))


@dataclass(frozen=True)
class InstallReport:
    installed: tuple[str, ...]
    chained: tuple[str, ...]
    directory: Path
    kept_as: tuple[str, ...] = ()  # where each chained hook now is, beside it


def install(git: GitRepo, python: str = sys.executable) -> InstallReport:
    """Hooks for the project at `git.prefix` (a repository's hooks serve one
    project: installing from another project's directory moves them there).

    A hook that is not gitpipe's is never overwritten: it is kept beside ours
    under a name no other hook holds and runs first; installing again keeps
    what the gitpipe hook already chains."""
    directory = hooks_dir(git)
    directory.mkdir(parents=True, exist_ok=True)
    chained, kept = [], []
    for name in HOOKS:
        path = directory / name
        runs_first = _chained_by(path) if _is_ours(path) else None
        if os.path.lexists(path) and not _is_ours(path):
            runs_first = _free_name(directory, name)
            os.replace(path, directory / runs_first)
            chained.append(name)
            kept.append(runs_first)
        _write_executable(path, hook_script(name, python, git.prefix, runs_first))
    return InstallReport(HOOKS, tuple(chained), directory, tuple(kept))


def uninstall(git: GitRepo) -> list[str]:
    """Remove gitpipe's hooks, each replaced by the hook it chained (wherever
    another tool had moved it): what was there before each install is back."""
    directory = hooks_dir(git)
    if not directory.is_dir():
        return []
    removed = []
    pending = [p for p in sorted(directory.iterdir())
               if any(p.name == name or p.name.startswith(f"{name}.") for name in HOOKS)]
    for _ in range(len(pending) + 1):
        ours = [p for p in pending if _is_ours(p)]
        if not ours:
            break
        for path in ours:
            previous = _chained_by(path)
            if previous is not None and os.path.lexists(directory / previous):
                os.replace(directory / previous, path)
            else:
                path.unlink()
                pending.remove(path)
            removed.append(path.name)
    return sorted(set(removed))


def _is_ours(path: Path) -> bool:
    """A regular file (never a symlink) that gitpipe wrote."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        head = handle.read(4096).decode(errors="replace")
    # Lines end at a newline alone, as sh and git read them: `str.splitlines`
    # also breaks at `\x1c` or U+2028, inside what is one comment to them.
    return MARKER in head.split("\n")[:3]


def _chained_by(path: Path) -> str | None:
    """The hook a gitpipe hook runs first; hooks written before the chain was
    named in them chained `<name>.pre-gitpipe`."""
    text = path.read_text(errors="replace")
    old = f"{path.name}{CHAINED}"
    for line in text.split("\n"):  # as sh reads it (_is_ours)
        if line.startswith(CHAINS):  # a hooks folder in the work tree holds a branch's files
            named = line[len(CHAINS):].strip()
            kept = "/" not in named and named.startswith(tuple(f"{h}{CHAINED}" for h in HOOKS))
            return named if kept else None  # a name _free_name gives, beside: uninstall moves it
    return old if old in text else None


def _free_name(directory: Path, name: str) -> str:
    """`<name>.pre-gitpipe`, or `.2`, `.3`… after it: a name no file holds."""
    candidate, number = f"{name}{CHAINED}", 1
    while os.path.lexists(directory / candidate):
        number += 1
        candidate = f"{name}{CHAINED}.{number}"
    return candidate


def _write_executable(path: Path, text: str) -> None:
    """Write beside, then rename over: a symlink at `path` is replaced, never
    written through."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


# -- what the hooks do -------------------------------------------------------------

def run(name: str, args: list[str], start: Path) -> tuple[int, str]:
    """Run hook `name`; (exit code, message). Outside a gitpipe project: (0, '')."""
    from gitpipe.project.root import Project

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
    from gitpipe.pipeline.lockfile import LOCK_FILE
    from gitpipe.pipeline.model import SPEC_FILE
    from gitpipe.usecases.revision import load_snapshot

    commit = project.git.staged()
    try:
        if commit.text(SPEC_FILE) is None:
            return 0, ""
        read = _committed_text(project, commit)
        loaded: set[str] = set()  # every file the pipeline was made from: vars files too

        def read_noting(path: str) -> str | None:
            loaded.add(path)
            return read(path)

        graph, params, entries = load_snapshot(project, read_noting, "in the commit",
                                               " (staged)")
        staged = commit.paths()
        watched = {SPEC_FILE, LOCK_FILE} | loaded | {
            ref.file for node in graph for ref in graph.nodes[node]["task"].stage.params}
        if staged is not None and not staged & watched:
            return 0, ""
        from gitpipe.usecases.envbefore import env_lookup
        from gitpipe.usecases.lockcheck import lock_problems, verdict

        return verdict(lock_problems(graph, params, entries, env_lookup(project, entries)))
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
        from gitpipe.usecases.envbefore import env_lookup
        from gitpipe.usecases.lockcheck import lock_problems, verdict

        entries = project.lock_entries
        return verdict(lock_problems(project.graph, project.params_reader(), entries,
                                     env_lookup(project, entries)))
    except GitpipeError as exc:
        return exc.exit_code, f"gitpipe: {exc}"


def _post_checkout(project: object, args: list[str]) -> tuple[int, str]:
    """Outs follow the branch; never fails the checkout."""
    if len(args) >= 3 and args[2] != "1":
        return 0, ""  # a file checkout, not a branch switch
    from gitpipe.project.root import Project
    from gitpipe.usecases.leftovers import remove_leftovers
    from gitpipe.usecases.transfer import checkout

    assert isinstance(project, Project)
    try:
        report = checkout(project)
        leftovers = remove_leftovers(project, args[0]) if args else None
    except (GitpipeError, OSError) as exc:
        return 0, f"gitpipe: outs not checked out: {exc}"
    kept = "".join(f"gitpipe: {out.path} (stage {out.task!r}) was modified and its content "
                   "is not in the cache; it was left as it is\n" for out in report.kept)
    if leftovers is not None:
        kept += leftovers.removed_text()
        kept += "".join(f"gitpipe: left {line.replace(': ', ' (', 1)}), an out this branch's "
                        "lock does not have\n" for line in leftovers.kept)
    if report.missing:
        return 0, (f"{kept}gitpipe: {len(report.missing)} out(s) are not in the cache; "
                   "run 'gitpipe pull'")
    return 0, kept.rstrip("\n")


def _pre_push(project: object) -> tuple[int, str]:
    from gitpipe.pipeline.config import SEVERAL, default_remote, why_no_default
    from gitpipe.project.root import Project
    from gitpipe.usecases.transfer import push_outs

    assert isinstance(project, Project)
    if not default_remote(project.config)[0]:
        # No remote, or none by the user's choice: nothing to push to. Several
        # and none chosen: the commits go, their outs do not, and that is said.
        if why_no_default(project.config) != SEVERAL:
            return 0, ""
        return 0, ("gitpipe: outs not pushed: several remotes and no default "
                   "('gitpipe remote default NAME' chooses one; 'gitpipe push -r NAME' now)")
    try:
        summary = push_outs(project, project.remote())
    except GitpipeError as exc:
        return 1, f"gitpipe: push failed: {exc}"
    return 0, f"gitpipe: pushed {summary.files} object(s)" if summary.files else ""


def env_python() -> str:
    return os.environ.get("GITPIPE_PYTHON", sys.executable)
