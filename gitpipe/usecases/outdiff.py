"""How an out of a rerun differs from the one the lock records: for a directory,
the files that changed, appeared or vanished (the two manifests compared); for
a text file, its first differing lines as a short unified diff of the locked
version (read from the cache) against the new one; a binary file just differs.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, NamedTuple

from gitpipe.core.errors import GitpipeError
from gitpipe.hashing.digests import DIR_SUFFIX, EXEC, file_digest, is_executable
from gitpipe.hashing.statsig import walk_files
from gitpipe.pipeline.lockfile import LockedPath
from gitpipe.storage.cache import Cache
from gitpipe.storage.workspace import PathInfo

DIFF_LINES = 12  # lines of a unified diff shown, headers included
FILES_SHOWN = 20  # a directory's changed, added and removed files, each list
TEXT_LIMIT = 4 * 1024 * 1024  # larger files are compared, not diffed


class OutCheck(NamedTuple):
    """One out of a rerun against the lock; `same` when its digest (and, for a
    file, its executable bit) is the recorded one."""

    path: str
    same: bool
    directory: bool = False
    diff: tuple[str, ...] = ()
    binary: bool = False
    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    note: str = ""

    def lines(self) -> list[str]:
        """What a person reads under the stage's verdict."""
        label = self.path + ("/" if self.directory else "")
        if self.same:
            return [f"{label}: same"]
        found = [f"{label}: differs" + (f" ({self.note})" if self.note else "")]
        for word, names in (("changed", self.changed), ("added", self.added),
                            ("removed", self.removed)):
            found.extend(f"    {word}: {label}{name}" for name in names)
        found.extend(f"    {line}" for line in self.diff)
        return found

    def to_json(self) -> dict[str, Any]:
        """One out of a `verify` task (docs/reference/json.md, "verify")."""
        return {"path": self.path, "same": self.same,
                "type": "directory" if self.directory else "file", "diff": list(self.diff),
                "binary": self.binary, "changed": list(self.changed),
                "added": list(self.added), "removed": list(self.removed),
                "note": self.note or None}


def compare(cache: Cache, locked: LockedPath | None, new: PathInfo, root: Path) -> OutCheck:
    """The out at `root/new.path` (the rerun's) against `locked`."""
    directory = new.is_dir or (locked is not None and locked.digest.endswith(DIR_SUFFIX))
    if locked is None:
        return OutCheck(new.path, False, directory, note="the lock records no digest for it")
    if not new.exists:
        return OutCheck(new.path, False, directory, note="the rerun did not create it")
    if locked.digest == new.digest:
        if directory or locked.executable == new.executable:
            return OutCheck(new.path, True, directory)
        return OutCheck(new.path, False, note="its executable bit differs")
    if directory != new.is_dir:
        return OutCheck(new.path, False, directory,
                        note="a directory now" if new.is_dir else "a file now")
    if directory:
        return _directory(cache, locked.digest, new.path, root / new.path)
    return _file(cache, locked.digest, new.path, root / new.path)


def _directory(cache: Cache, digest: str, path: str, folder: Path) -> OutCheck:
    try:
        before = {e.relpath: (e.digest, e.flags) for e in cache.manifest(digest)}
    except GitpipeError:
        return OutCheck(path, False, True, note="the locked manifest is not in the cache")
    after = _manifest_of(folder)
    changed = sorted(name for name in before.keys() & after.keys()
                     if before[name] != after[name])
    added = sorted(after.keys() - before.keys())
    removed = sorted(before.keys() - after.keys())
    return OutCheck(path, False, True, changed=_shown(changed), added=_shown(added),
                    removed=_shown(removed))


def _manifest_of(folder: Path) -> dict[str, tuple[str, str]]:
    """(digest, flags) of each file the directory's digest counts, by relpath,
    as a manifest names them."""
    found = {}
    for rel, _inode, _mtime, _size, mode, _ctime in walk_files(str(folder)):
        full = folder / rel
        if os.path.islink(full):
            found[rel] = ("link:" + os.readlink(full), "")
        else:
            found[rel] = (file_digest(full), EXEC if is_executable(mode) else "")
    return found


def _shown(names: list[str]) -> tuple[str, ...]:
    if len(names) <= FILES_SHOWN:
        return tuple(names)
    return (*names[:FILES_SHOWN], f"… and {len(names) - FILES_SHOWN} more")


def _file(cache: Cache, digest: str, path: str, new: Path) -> OutCheck:
    if not cache.has(digest):
        return OutCheck(path, False, note="the locked version is not in the cache")
    old_bytes, new_bytes = _head(cache.path(digest)), _head(new)
    old_text, new_text = _text(old_bytes), _text(new_bytes)
    if old_text is None or new_text is None:
        return OutCheck(path, False, binary=True, note="binary")
    diff = list(difflib.unified_diff(old_text.splitlines(), new_text.splitlines(),
                                     f"{path} (locked)", f"{path} (rerun)", n=1, lineterm=""))
    if not diff:
        return OutCheck(path, False, note="its lines read alike: line endings, or past the "
                        f"first {TEXT_LIMIT // 1024 // 1024} MiB")
    if len(diff) > DIFF_LINES:
        diff = [*diff[:DIFF_LINES], f"… ({len(diff) - DIFF_LINES} more diff lines)"]
    return OutCheck(path, False, diff=tuple(diff))


def _head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(TEXT_LIMIT)


def _text(data: bytes) -> str | None:
    """The bytes as text, or None for binary data (a NUL, or not UTF-8)."""
    if b"\0" in data:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None
