"""A directory the stat cache has never seen: each file opened once, over forked processes.

A known directory is walked with one lstat per file, so that an unchanged one
is recognized without reading a byte (storage/workspace.py). A directory hashed for the
first time gains nothing from that walk: every file is read anyway. Here the
walk lists names only (scandir's d_type, no system call per file), and each
regular file is opened by name relative to its directory's descriptor,
fstat-ed, read and hashed: three system calls and one short path lookup per
file instead of four calls and two full lookups. Directories are opened
relative to their parent without following symlinks, and files with
O_NOFOLLOW: whatever changes kind during the scan fails it (None), and the
caller walks as for a known directory.

The sorted paths are cut into contiguous shares, one per process (hashing/forkmap.py),
and each process also makes its share of everything the workspace keeps: the
packed stat numbers of the listing's signature and of the stat-cache row, and
the manifest's text. The parent only joins the pieces, which are in order.
"""

from __future__ import annotations

import os
import stat as stat_module
import time
from array import array
from collections.abc import Callable
from typing import NamedTuple

from gitpipe.hashing.digests import (
    DIR_SUFFIX,
    descriptor_digest,
    executable_indexes,
    hash_bytes,
    listing_digest,
    plain_manifest_text,
)
from gitpipe.hashing.forkmap import fork_map, usable_workers
from gitpipe.hashing.ignore import DEFAULT_LAST, Ignore, default_ignored
from gitpipe.hashing.statsig import RACY_NS, FileSignature, ListedFile, pack_numbers, signature_of

# O_NONBLOCK: a file replaced by a fifo since it was listed must not block the open
_OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
_DIR_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_DIRECTORY


# (directory, files hashed, files in all), for a progress bar; the last call has
# done == total. Only directories of PROGRESS_FILES files or more report.
HashProgress = Callable[[str, int, int], None]
PROGRESS_FILES = 2000
_TICK_EVERY = 512  # files between reports: a report costs nothing next to them
# One process's part: the directory, its paths, the symlinks among them, and
# (the parent's own part only) what reports progress.
_Part = tuple[str, list[str], frozenset[str], Callable[[int], None] | None]


class Changed(Exception):
    """A file changed kind or vanished while the directory was scanned."""


class ColdScan(NamedTuple):
    """What the workspace keeps of a directory hashed for the first time."""

    signature: FileSignature  # listing_signature of the listing walk_files gives
    digest: str  # the directory's digest, "xxh3:….dir"
    size: int  # of its regular files
    files: int
    digests: list[str]  # of each file, in path order
    row: tuple[str, bytes, str] | None  # for State.record_directory_row
    listing: list[ListedFile]  # when `row` is None, for State.record_directory


class _Share(NamedTuple):
    """One process's share: contiguous, in path order."""

    signature_numbers: bytes  # (inode, mtime_ns, size, mode, ctime_ns) per file
    row_numbers: bytes | None  # (inode, mtime_ns, size, ctime_ns); None past 2**63
    digests: list[str]
    manifest_text: str | None  # its manifest entries; None if one needs escaping
    newest: int
    size: int


def scan_directory(directory: str, progress: HashProgress | None = None) -> ColdScan | None:
    """Hash every file below `directory`, as the known-directory path would.

    None where this path does not apply (a file changing kind or vanishing
    under the scan, an unreadable one): the caller walks and hashes as usual,
    which also raises any real error. `progress` hears of a large directory.
    """
    try:
        paths, links = _list_names(directory)
    except (Changed, OSError):
        return None
    workers = max(1, min(usable_workers(len(paths)), len(paths)))
    cut = [len(paths) * k // workers for k in range(workers + 1)]
    parts: list[_Part] = [(directory, paths[cut[k]:cut[k + 1]], links, None)
                          for k in range(workers)]
    if progress is not None and len(paths) >= PROGRESS_FILES:
        parts[0] = (*parts[0][:3], _ticker(directory, len(paths), cut[1], progress))
    try:
        shares = [_Share(*share) for share in fork_map(_scan_part, parts)]
    except (Changed, OSError):
        return None
    finally:
        tick = parts[0][3]
        if tick is not None:
            tick(cut[1])
    return _assemble(paths, shares)


def _ticker(directory: str, total: int, share: int,
            progress: HashProgress) -> Callable[[int], None]:
    """Reports from this process's share, in which the others' are estimated:
    the shares are equal and hashed at the same pace. The forked children
    never report (their output is not theirs to draw)."""
    def tick(done: int) -> None:
        progress(directory, min(total, done * total // share), total)

    tick(0)
    return tick


def _assemble(paths: list[str], shares: list[_Share]) -> ColdScan:
    names = "\0".join(paths)
    newest = max((share.newest for share in shares), default=0)
    size = sum(share.size for share in shares)
    signature = signature_of(names, [share.signature_numbers for share in shares], newest, size)
    digests = [digest for share in shares for digest in share.digests]
    rows = [share.row_numbers for share in shares]
    texts = [share.manifest_text for share in shares]
    # Files written within RACY_NS are not kept (State.record_directory filters
    # a listing): a directory a stage has just written needs its listing, and
    # so does a manifest with a name JSON must escape.
    row = None
    if newest + RACY_NS < time.time_ns() and None not in rows:
        row = (names, b"".join(numbers for numbers in rows if numbers), "\0".join(digests))
    listing = _listing(paths, shares) if row is None or None in texts else []
    if None in texts:  # a name JSON must escape: the general encoder
        digest = listing_digest(listing, digests)[0]
    else:
        manifest = "[" + ",".join(text for text in texts if text) + "]"
        digest = f"{hash_bytes(manifest.encode())}{DIR_SUFFIX}"
    return ColdScan(signature, digest, size, len(paths), digests, row, listing)


def _listing(paths: list[str], shares: list[_Share]) -> list[ListedFile]:
    numbers = array("q")
    for share in shares:
        numbers.frombytes(share.signature_numbers)
    return [(path, numbers[5 * k], numbers[5 * k + 1], numbers[5 * k + 2], numbers[5 * k + 3],
             numbers[5 * k + 4]) for k, path in enumerate(paths)]


def _list_names(directory: str) -> tuple[list[str], frozenset[str]]:
    """Every path below `directory` that is a regular file or a symlink, sorted
    as walk_files sorts them, and which of them are symlinks: from d_type alone."""
    paths: list[str] = []
    links: list[str] = []
    stack = [("", Ignore.above(directory))]
    while stack:
        rel, outer = stack.pop()
        prefix = f"{rel}/" if rel else ""
        folder = f"{directory}/{rel}" if rel else directory
        with os.scandir(folder) as listed:
            entries = list(listed)
        names = [entry.name for entry in entries]
        rules = outer.entering(folder, rel, names)
        custom = rules.custom
        ignored = rules.ignored if custom else _by_default
        for entry, name in zip(entries, names, strict=True):
            if entry.is_file(follow_symlinks=False):  # the most, first: one call each
                # The defaults alone are tested without a call, as walk_files does
                if not (ignored(prefix + name, name, False) if custom else
                        name[-1] in DEFAULT_LAST and default_ignored(name, False)):
                    paths.append(prefix + name)
            elif entry.is_dir(follow_symlinks=False):
                if not ignored(prefix + name, name, True):
                    stack.append((prefix + name, rules))
            elif entry.is_symlink() and not ignored(prefix + name, name, False):
                links.append(prefix + name)
            # a fifo, socket or device: left out, as walk_files leaves it
    paths.extend(links)
    paths.sort()
    return paths, frozenset(links)


def _by_default(rel: str, name: str, is_dir: bool) -> bool:
    return default_ignored(name, is_dir)


def _scan_part(part: _Part) -> tuple[object, ...]:
    """One share, in a worker process (or the parent): a _Share's fields as a
    plain tuple, which marshal carries."""
    # The loop runs once per file and its system calls are most of its cost,
    # so the rest is kept small: os's functions bound to local names, the
    # symlink check skipped when there are none, and the row's numbers cut
    # from the signature's after the loop.
    directory, paths, links, tick = part
    open_at, fstat, close, is_regular = os.open, os.fstat, os.close, stat_module.S_ISREG
    numbers: list[int] = []  # (inode, mtime_ns, size, mode, ctime_ns) per file
    digests: list[str] = []
    stored: list[int] = []  # manifest sizes
    folders = _Folders(directory)
    folder, folder_rel = -1, None
    try:
        for index, path in enumerate(paths):
            if tick is not None and not index % _TICK_EVERY:
                tick(index)
            parent, _, name = path.rpartition("/")
            if parent != folder_rel:
                folder, folder_rel = folders.enter(parent), parent
            if links and path in links:
                info = os.stat(name, dir_fd=folder, follow_symlinks=False)
                if not stat_module.S_ISLNK(info.st_mode):
                    raise Changed(path)
                digests.append("link:" + os.readlink(name, dir_fd=folder))
                stored.append(0)  # a link's digest names its target, not bytes stored
            else:
                fd = open_at(name, _OPEN_FLAGS, dir_fd=folder)  # ELOOP: now a symlink
                try:
                    info = fstat(fd)
                    if not is_regular(info.st_mode):
                        raise Changed(path)  # now a directory or a fifo
                    digests.append(descriptor_digest(fd))
                finally:
                    close(fd)
                stored.append(info.st_size)
            numbers += (info.st_ino, info.st_mtime_ns, info.st_size, info.st_mode,
                        info.st_ctime_ns)
    finally:
        folders.close()
    row: bytes | None = None
    try:
        packed = array("q", numbers)
    except OverflowError:  # an inode number past 2**63: no row, as record_directory
        signature_numbers = pack_numbers(numbers)
    else:
        signature_numbers = packed.tobytes()
        del packed[3::5]  # (inode, mtime_ns, size, ctime_ns)
        row = packed.tobytes()
    return (signature_numbers, row, digests,
            plain_manifest_text(zip(paths, digests, stored, strict=True),
                                executable_indexes(numbers[3::5])),
            max(max(numbers[1::5], default=0), max(numbers[4::5], default=0)), sum(stored))


class _Folders:
    """Descriptors of the directories from the scanned one down to the current
    one, each opened relative to its parent without following a symlink: a
    directory swapped for a link during the scan fails the scan instead of
    pulling outside files in. Paths come sorted, so each directory is opened
    about once."""

    def __init__(self, directory: str) -> None:
        self.names: list[str] = []
        self.fds = [os.open(directory, _DIR_FLAGS)]

    def enter(self, parent: str) -> int:
        names = parent.split("/") if parent else []
        keep = 0
        while keep < min(len(names), len(self.names)) and names[keep] == self.names[keep]:
            keep += 1
        while len(self.names) > keep:
            self.names.pop()
            os.close(self.fds.pop())
        for name in names[keep:]:
            self.fds.append(os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=self.fds[-1]))
            self.names.append(name)
        return self.fds[-1]

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds.clear()
