"""Where a stage's deps and outs lead through symlinks: a path that a symlink
leads outside the project, or into `.git` or `.gitpipe`, may be neither read
nor written (`Project.check_paths_inside`, before every judgement and run).

Each folder is resolved once, with the verdict on it, so a path costs one
`lstat` (is it a link itself?) and a dictionary lookup: status asks this of
every dep and out before it reads any."""

from __future__ import annotations

import os

from gitpipe.core.nofollow import realpath_below
from gitpipe.pipeline.model import SPEC_FILE, own_file, own_file_problem
from gitpipe.trust.checks import reserved_name

OUTSIDE = "resolves outside the repository (through a symlink)"


def _into(part: str) -> str:
    return f"resolves into {part!r} (through a symlink), which belongs to git or gitpipe"


class PathPlaces:
    """Answers, for project paths below one real root, why each may not be used."""

    def __init__(self, real_root: str) -> None:
        self.root = real_root
        self._folders: dict[str, tuple[str, str | None]] = {}  # folder -> (real, problem)

    def problem(self, path: str, written: bool = False) -> str | None:
        """Why `path` may not be used (`OUTSIDE`, or the part of `.git` or
        `.gitpipe` it reaches), or None. `written` (an out, which a run
        removes and a checkout replaces where its folder really is): nor may
        that place be one of gitpipe's own files (model.own_file)."""
        parent, _, name = path.rpartition("/")
        folder = self._folders.get(parent)
        if folder is None:
            real = realpath_below(self.root, parent)
            folder = self._folders[parent] = (real, self._fault(real))
        if folder[1] is not None:  # before the name: a link out there may lead back in
            return folder[1]
        if written and folder[0] == self.root and own_file(name):
            how = "resolves (through a symlink) to the root's" if parent else "names"
            return f"{how} {own_file_problem(name)}"
        full = f"{folder[0]}/{name}" if folder[0] != "/" else f"/{name}"
        if os.path.islink(full):
            real = os.path.realpath(full)
            if not checked_out_object(self.root, real):
                return self._fault(real)
        return _into(name) if reserved_name(name) else None

    def problems(self, paths: dict[str, list[str]], written: bool = False) -> list[str]:
        """'gitpipe.yaml: stage …: path problem' for each path of `paths`
        ({task: [paths]}) that may not be used (`written`: as outs)."""
        found, seen = [], set[str]()
        for name, task_paths in paths.items():
            for path in task_paths:
                if path in seen:  # a path the stage's nodes share is resolved once
                    continue
                seen.add(path)
                problem = self.problem(path, written)
                if problem is not None:
                    found.append(f"{SPEC_FILE}: stage {name!r}: {path!r} {problem}")
        return found

    def _fault(self, real: str) -> str | None:
        if real != self.root and not real.startswith(self.root + os.sep):
            return OUTSIDE
        own = next((part for part in real[len(self.root) + 1:].split(os.sep)
                    if reserved_name(part)), None)
        # As written, gitpipe.yaml refuses such a path; a committed `sub -> .git`
        # reaches the same place.
        return None if own is None else _into(own)


def checked_out_object(real_root: str, real: str) -> bool:
    """Whether `real` (where a path's own symlink leads) is a file object of
    the project's cache: what a `cache.type: symlink` checkout makes an out
    (and a downstream stage's dep) point to, read-only bytes the cache already
    holds, never a way out of the project."""
    from gitpipe.storage.objects import DIR_SUFFIX, names_an_object

    cache = f"{real_root}{os.sep}.gitpipe{os.sep}cache{os.sep}"
    rel = real.removeprefix(cache)
    return rel != real and not rel.endswith(DIR_SUFFIX) and names_an_object(rel)
