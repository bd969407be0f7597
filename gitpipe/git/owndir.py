"""Which git folder gitpipe takes for a work tree's repository.

git's discovery, and libgit2's, take a repository's own folder where they
find one on the way up (a bare repository; one whose config names a work
tree with core.worktree), not only a `.git`. A clone may commit such a
folder's files (`sub/HEAD`, `sub/config`, `sub/objects/…`): in `sub/`, git
would then read the clone's config, whose filter driver or fsmonitor
command it runs, and a gitpipe command that only reads (`status --rev`)
would have run it. gitpipe takes a repository only through the `.git` of
its work tree, or as GIT_DIR names it.
"""

from __future__ import annotations

import os
from pathlib import Path

from gitpipe.core.errors import NotAProjectError


def refuse_foreign_git_dir(found: str, workdir: Path) -> None:
    """NotAProjectError unless `found` (the git folder discovered) is
    `workdir`'s own, or the one GIT_DIR names (a hook's environment holds
    GIT_DIR whichever folder the hook then runs gitpipe in)."""
    named = os.environ.get("GIT_DIR")
    if _own_git_dir(found, workdir) or (
            named and Path(named).resolve() == Path(found).resolve()):
        return
    raise NotAProjectError(
        f"{found!r} was found as a git repository's own folder, not through a '.git' in "
        "its work tree: a repository committed inside another's files (its config could "
        "name commands for git to run), which gitpipe does not take",
        hint="run gitpipe in the repository's own work tree, or name the repository with "
             "GIT_DIR")


def _own_git_dir(found: str, workdir: Path) -> bool:
    """Whether `found` is the work tree's `.git` folder, or the folder its
    `.git` file names (a linked worktree, a submodule)."""
    dot = workdir / ".git"
    target = dot
    if dot.is_file():
        try:
            text = dot.read_text(errors="replace").strip()
        except OSError:
            return False
        if not text.startswith("gitdir:"):
            return False
        target = workdir / text.removeprefix("gitdir:").strip()
    return target.resolve() == Path(found).resolve()
