"""Signatures from stat calls alone: of a file, a directory's listing, the git index.

What the stat cache, the workspace and the no-op seal (seal.py) compare to
know that nothing changed without reading a byte. Kept free of heavy imports:
the seal's fast path runs before anything else of gitpipe is loaded.
"""

from __future__ import annotations

import os
import stat as stat_module
from collections.abc import Iterator

import xxhash

# NOTE: git's "racy" rule: a file modified within this window of being hashed
# could change again without its mtime changing, so such an entry is re-hashed
# next time instead of trusted.
RACY_NS = 1_000_000_000

FileSignature = tuple[int, int, int]  # (inode, mtime_ns, size), as state.StatKey


def file_signature(info: os.stat_result) -> FileSignature:
    return (info.st_ino, info.st_mtime_ns, info.st_size)


def walk_files(directory: str) -> Iterator[tuple[str, os.stat_result]]:
    """(relative POSIX path, lstat) of every regular file and symlink below `directory`.

    Symlinks are reported, never followed, so a link out of the repository
    cannot pull outside data into a hash or the cache.
    """
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(directory, rel) if rel else directory) as entries:
            for entry in entries:
                child = f"{rel}/{entry.name}" if rel else entry.name
                info = entry.stat(follow_symlinks=False)
                if stat_module.S_ISDIR(info.st_mode):
                    stack.append(child)
                else:
                    yield child, info


def listing_signature(listing: list[tuple[str, os.stat_result]]) -> FileSignature:
    """One signature for a whole directory: a hash of every (path, inode, mtime,
    size, mode) in place of an inode, the newest mtime (so the racy rule
    applies), the total size of its regular files."""
    rows = sorted(listing, key=lambda item: item[0])
    text = "\n".join([f"{rel}\0{i.st_ino}\0{i.st_mtime_ns}\0{i.st_size}\0{i.st_mode}"
                      for rel, i in rows])
    newest = max((i.st_mtime_ns for _, i in rows), default=0)
    total = sum(i.st_size for _, i in rows if stat_module.S_ISREG(i.st_mode))
    return (xxhash.xxh3_64_intdigest(text.encode()) >> 1, newest, total)


def index_signature(root: str | os.PathLike[str]) -> str | None:
    """Identifies the current version of the git index of the work tree holding
    `root`, without pygit2: git replaces the index by rename on every write, so
    (inode, mtime, size) changes whenever what is tracked may have. None where
    the index cannot be found this way (GIT_DIR or GIT_INDEX_FILE set, no .git)."""
    if "GIT_DIR" in os.environ or "GIT_INDEX_FILE" in os.environ:
        return None
    candidate = os.fspath(root)
    while True:
        dotgit = os.path.join(candidate, ".git")
        if os.path.isdir(dotgit):
            index = os.path.join(dotgit, "index")
            break
        if os.path.isfile(dotgit):
            with open(dotgit, encoding="utf-8", errors="replace") as handle:
                text = handle.read().strip()
            if not text.startswith("gitdir:"):
                return None
            gitdir = os.path.join(candidate, text.removeprefix("gitdir:").strip())
            index = os.path.join(gitdir, "index")
            break
        parent = os.path.dirname(candidate)
        if parent == candidate:
            return None
        candidate = parent
    try:
        info = os.stat(index)
    except FileNotFoundError:
        return "none"
    return f"{info.st_ino}.{info.st_mtime_ns}.{info.st_size}"
