"""A path gitpipe.yaml names (a dep, an out, a params file, a wdir) as a
normal project path: joined onto the stage's wdir, inside the repository,
clear of git's and gitpipe's folders, and for a path a stage writes, none of
gitpipe's own files (pipeline/model.own_file: the one rule, which the checks
of paths reached through symlinks ask too)."""

from __future__ import annotations

import posixpath
import re

from gitpipe.pipeline.model import own_file_problem
from gitpipe.trust.checks import reserved_name

_PLAIN_PATH = re.compile(
    r"^(?!\.{1,2}(?:/|$))(?!.*/\.{1,2}(?:/|$))[A-Za-z0-9_@${}=+,:%-][^\\\x00]*?/?$")


def normalize_path(path: str, wdir: str, written: bool = False) -> str:
    """Join `path` onto `wdir` and normalize; ValueError if it leaves the
    repository, or names gitpipe's own file where a stage `written` writes it."""
    if wdir == "." and isinstance(path, str) and "//" not in path and path[1:2] != ":" and \
            path.isascii() and "git" not in path.lower() and _PLAIN_PATH.match(path):
        return path.rstrip("/")  # the common case: already normal, nothing to check
    if not isinstance(path, str) or not path.strip():
        raise ValueError("empty path")
    if "\0" in path:
        raise ValueError("it holds a NUL character, which no file's name can")
    if path.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", path) or "\\" in path:
        raise ValueError("absolute paths are not allowed")
    joined = posixpath.normpath(posixpath.join(wdir, path))
    if joined == ".." or joined.startswith("../"):
        raise ValueError("it resolves outside the repository")
    if joined == ".":
        raise ValueError("the repository root itself cannot be a path here")
    for part in joined.split("/"):
        if reserved_name(part):
            raise ValueError(f"paths under '{part}/' belong to git or gitpipe")
    if written and (problem := own_file_problem(joined)):
        raise ValueError(f"it names {problem}")
    return joined
