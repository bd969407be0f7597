"""Symlinks inside a directory dep that lead out of it, said when a stage is recorded.

A directory's digest holds each symlink in it as its text (`link:<target>`),
never its target's bytes: every walker (the stat cache, the seal, the cold
scan, `status --rev`, the monitor) agrees on that. A target inside the same
directory is hashed as one of its files; one outside it is not, so an edit
of it changes no digest and leaves the stage up to date. Following such
links is one change to all the walkers at once; until then the stage that
records such a directory is told, with the remedy: declare the target as a
dep, which is hashed by its bytes (a symlink dep is followed). A link
leading out of the project cannot be a dep: its bytes belong in the project.
A directory out never holds such a link (a manifest's link must stay inside
its directory: trust/checks.check_manifest), so only deps are looked at.
"""

from __future__ import annotations

import os
import posixpath
import stat as stat_module
from collections.abc import Iterable

from gitpipe.hashing.statsig import walk_files
from gitpipe.storage.state import State
from gitpipe.storage.workspace import PathInfo
from gitpipe.trust.checks import LINK_PREFIX, printable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpipe.project.root import Project

SHOWN = 3  # links named in one warning; the rest counted


def links_inside(root: str, state: State, infos: Iterable[PathInfo]) -> list[tuple[str, str]]:
    """(link's project path, its target as written) for each symlink inside
    the directories among `infos` as just hashed that leads out of its
    directory, sorted."""
    found: list[tuple[str, str]] = []
    for info in infos:
        if not info.is_dir or not info.exists:
            continue
        entries = state.directory_entries(info.path)
        if len(entries) == info.files:  # the row of its last hashing holds every file
            named = [(name, digest.removeprefix(LINK_PREFIX))
                     for name, (_, digest) in entries.items() if digest.startswith(LINK_PREFIX)]
        else:  # files too recent to keep in that row (just written), or a name it cannot hold
            named = _listed_links(os.path.join(root, info.path))
        found += [(f"{info.path}/{name}", target) for name, target in named
                  if not _within(info.path, _target(f"{info.path}/{name}", target))]
    return sorted(found)


def _listed_links(full: str) -> list[tuple[str, str]]:
    """(name, target) of the symlinks a walk of the folder `full` lists; none
    where it cannot be walked now (changed since it was hashed: a warning is
    no reason to fail a recording)."""
    try:
        return [(item[0], os.readlink(f"{full}/{item[0]}")) for item in walk_files(full)
                if stat_module.S_ISLNK(item[4])]
    except OSError:
        return []


def _within(directory: str, path: str | None) -> bool:
    return path is not None and (path == directory or path.startswith(directory + "/"))


def links_warning(links: list[tuple[str, str]]) -> str | None:
    """What recording a stage says of the `links` inside its directory deps
    (links_inside), or None."""
    if not links:
        return None
    said = ", ".join(f"{printable(link)} -> {printable(target)}" for link, target in links[:SHOWN])
    more = f" and {len(links) - SHOWN} more" if len(links) > SHOWN else ""
    inside = [t for t in (_target(link, target) for link, target in links) if t is not None]
    remedy = (f"declare the target as a dep (deps: [{printable(inside[0])}])" if inside
              else "copy the target into the project and declare it as a dep")
    return (f"a directory dep holds a symlink to a file outside it "
            f"({said}{more}): gitpipe records a link's text, not its target's bytes, so an "
            f"edit of the target leaves the stage up to date; {remedy}")


def _target(link: str, target: str) -> str | None:
    """The project path `target` leads to from `link`, or None outside the project."""
    if target.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(link), target))
    return None if joined == ".." or joined.startswith("../") or joined == "." else joined


def recorded_links_warning(project: Project, infos: Iterable[PathInfo],
                           said: set[tuple[str, str]]) -> str | None:
    """What recording a task whose deps are `infos` says of the symlinks
    inside its directories that `said` (the links one command has named
    already, then these too) does not hold, or None (links_warning): the
    partitions of a backfill that share a folder are told of its links once."""
    links = [link for link in links_inside(str(project.root), project.state, infos)
             if link not in said]
    said.update(links)
    return links_warning(links)
