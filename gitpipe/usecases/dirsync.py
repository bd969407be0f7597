"""Checking out a directory out file by file: only what differs is written.

A directory out with one file missing or changed gets that file back, and the
files that already hold their recorded bytes are not touched (their mtimes,
inodes and the stat cache's knowledge of them stay). Files the manifest does
not name are removed, as a full checkout would; files `.gitpipeignore` keeps
out of the out are not the out's and stay. Where the folder is not a plain
directory all the way down (a symlink or a file where a folder should be),
the out is laid out whole instead, as before.
"""

from __future__ import annotations

import os
import stat as stat_module
from pathlib import Path

from gitpipe.core.errors import BadInputError
from gitpipe.core.trees import make_dirs
from gitpipe.hashing.digests import XXH3, ManifestEntry
from gitpipe.hashing.statsig import walk_files
from gitpipe.project.root import Project
from gitpipe.storage.cache import remove_path
from gitpipe.trust import checks as trust

Pairs = list[tuple[str, Path]]


def entries_within(entries: tuple[ManifestEntry, ...], within: str, where: str
                   ) -> list[ManifestEntry]:
    """The manifest's entries at or below `within` (all for ""); BadInputError
    when it names none."""
    if not within:
        return list(entries)
    chosen = [e for e in entries if e.relpath == within or e.relpath.startswith(within + "/")]
    if not chosen:
        raise BadInputError(f"{where}/{within}: no such file in the out {where!r} as "
                            "gitpipe.lock records it")
    return chosen


def lay_out_changed(project: Project, path: str, digest: str, within: str = "") -> Pairs | None:
    """Make directory out `path` (or its part `within`) hold what manifest `digest`
    names, touching only what differs: returns the (object, file) pairs still
    to write, or None when the out must be laid out whole (not a plain folder)."""
    root = project.root
    if not _plain_dir(root, path) or (within and _blocked(root, f"{path}/{within}")):
        return None
    entries = entries_within(project.cache.manifest(digest), within, path)
    folders = {e.relpath.rpartition("/")[0] for e in entries}
    if any(_blocked(root, f"{path}/{folder}/-" if folder else f"{path}/-")
           for folder in folders):
        return None
    target = root / path
    pairs: Pairs = []
    for entry in entries:
        _sync_one(project, path, target, entry, pairs)
    if not within:
        _remove_extras(target, {e.relpath for e in entries})
    return pairs


def _plain_dir(root: Path, path: str) -> bool:
    try:
        return stat_module.S_ISDIR(os.lstat(root / path).st_mode) and not _blocked(root, path)
    except OSError:
        return False


def _blocked(root: Path, path: str) -> bool:
    return trust.blocking_parent(root, path) is not None


def _sync_one(project: Project, path: str, target: Path, entry: ManifestEntry,
              pairs: Pairs) -> None:
    dest = target / entry.relpath
    if entry.digest.startswith("link:"):
        wanted = entry.digest.removeprefix("link:")
        if dest.is_symlink() and os.readlink(dest) == wanted:
            return
        remove_path(dest)
        make_dirs(dest.parent)
        os.symlink(wanted, dest)
        return
    if not dest.is_symlink() and dest.is_file():
        held = project.workspace.info(f"{path}/{entry.relpath}", XXH3)
        if held.digest == entry.digest:
            if held.executable != entry.executable:
                project.cache.apply_modes(dest, entry.digest, entry.executable)
            return
    remove_path(dest)
    make_dirs(dest.parent)
    pairs.append((entry.digest, dest))


def _remove_extras(target: Path, named: set[str]) -> None:
    """Files the manifest does not name go, then folders left empty that it
    does not need (deepest first)."""
    for rel, *_ in walk_files(str(target)):
        if rel not in named:
            (target / rel).unlink()
    needed = {parent for rel in named for parent in _parents(rel)}
    for folder in reversed(folders_below(target)):  # deepest first; no recursion: outs can be deep
        if folder not in needed and not os.listdir(target / folder):
            os.rmdir(target / folder)


def folders_below(target: Path) -> list[str]:
    """Every real folder below `target`, relative, parents before children (never
    through a symlink)."""
    found: list[str] = []
    pending = [""]
    while pending:
        rel = pending.pop()
        with os.scandir(target / rel if rel else target) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    child = f"{rel}/{entry.name}" if rel else entry.name
                    found.append(child)
                    pending.append(child)
    return sorted(found, key=lambda folder: folder.count("/"))


def _parents(rel: str) -> list[str]:
    parts = rel.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
