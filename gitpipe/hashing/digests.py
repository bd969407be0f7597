"""Digests: xxh3-128 for data, git blob ids for tracked code; directory manifests.

A Digest always says which algorithm made it (`xxh3:…`, `git:…`), so hashes of
different kinds never compare equal by accident.
"""

from __future__ import annotations

import gc
import json
import mmap
import os
import stat as stat_module
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, NamedTuple

import xxhash

from gitpipe.hashing.forkmap import fork_map, usable_workers

CHUNK = 1024 * 1024  # what counts as a large file; remote reads use a multiple
# The hashing and copying loops read this much at a time: a buffer that stays
# in the L2 cache is hashed from there, and larger reads hash more slowly.
BUFFER = 256 * 1024
# os.read(fd, n) allocates n bytes before it reads. Past glibc's mmap
# threshold (128 KiB) that is an mmap, page faults and an munmap per call,
# which for a small file cost several times the read itself. Small files fit
# in the first read.
FIRST_READ = 64 * 1024
XXH3 = "xxh3"
GIT = "git"
# A directory's digest names its manifest object and says so, as DVC's
# `.dir`: checkout and gc must tell a manifest from a file without reading it.
DIR_SUFFIX = ".dir"


class Digest(NamedTuple):
    """A content hash with its algorithm, and the size of what it hashed."""

    algo: str
    value: str

    def __str__(self) -> str:
        return f"{self.algo}:{self.value}"

    @classmethod
    def parse(cls, text: str) -> Digest:
        algo, sep, value = str(text).partition(":")
        if not sep or not value:
            raise ValueError(f"not a digest: {text!r}")
        return cls(algo, value)


def hash_bytes(data: bytes) -> Digest:
    return Digest(XXH3, xxhash.xxh3_128_hexdigest(data))


def hash_file(path: str | os.PathLike[str]) -> Digest:
    """Stream a file through xxh3-128 (xxhash releases the GIL)."""
    return Digest.parse(file_digest(path))


def file_digest(path: str | os.PathLike[str]) -> str:
    """`str(hash_file(path))`, without the Digest: for a directory of many
    small files, making and formatting those objects costs more than hashing.

    A small file is read in one call and hashed at once: no buffer to
    allocate, and os.open/os.read rather than a file object, whose set-up
    costs as much as hashing a small file (docs/dev/performance-log.md).
    """
    fd = os.open(path, _READ_FLAGS)
    try:
        return descriptor_digest(fd)
    finally:
        os.close(fd)


def descriptor_digest(fd: int) -> str:
    """`file_digest` of a file already open (the cold scan opens it to fstat it)."""
    head = os.read(fd, FIRST_READ)
    if len(head) < FIRST_READ:
        return "xxh3:" + xxhash.xxh3_128_hexdigest(head)
    with open(fd, "rb", buffering=0, closefd=False) as handle:
        return "xxh3:" + _hash_rest(handle, xxhash.xxh3_128(head))


_READ_FLAGS = os.O_RDONLY | os.O_CLOEXEC


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic GC while big lists are built: a 20,000-file directory's stat
    results, tuples and entries (none in a cycle) set off dozens of
    collections that cost a tenth of hashing it, and as much again when its
    stat-cache rows are written."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_buffers = threading.local()


def chunk_buffer() -> memoryview:
    """This thread's reusable BUFFER-sized buffer. A fresh one per file is a fresh
    allocation, page faults and a memset each time."""
    view: memoryview | None = getattr(_buffers, "view", None)
    if view is None:
        # A page-aligned anonymous mapping, not a bytearray: the kernel copies
        # out of the page cache faster into a cache-line-aligned buffer, and
        # malloc gives a 256 KiB bytearray's bytes 16 bytes past a page
        # boundary.
        # Private: a shared mapping would be one buffer for a forked child and
        # its parent.
        view = _buffers.view = memoryview(
            mmap.mmap(-1, BUFFER, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS))
    return view


def copy_hashing_stream(reader: Any, writers: list[Any]) -> tuple[str, int]:
    """Copy `reader` (anything with readinto) to every writer while hashing the
    bytes: one read serves the hash and all copies. Returns (xxh3 hex, size)."""
    hasher = xxhash.xxh3_128()
    view = chunk_buffer()
    size = 0
    while count := reader.readinto(view):
        chunk = view[:count]
        hasher.update(chunk)
        for writer in writers:
            writer.write(chunk)
        size += count
    return hasher.hexdigest(), size


def _hash_rest(handle: Any, hasher: Any) -> str:
    """The rest of a large file, into this thread's reused buffer."""
    # Plain reads into one buffer: reading on one thread while another hashes
    # (both release the GIL) gains nothing on a few CPUs, and mmap, a little
    # faster, lets a file truncated while mapped kill the process (SIGBUS).
    view = chunk_buffer()
    while count := handle.readinto(view):
        hasher.update(view[:count])
    return str(hasher.hexdigest())


# A manifest row is [path, digest, size], and [path, digest, size, "exec"]
# for a file its owner may execute: cache objects are read-only bytes without a
# mode, so checkout takes the executable bit from here. A row without the flag
# keeps three elements, so a directory without executable files has the digest
# it has always had.
EXEC = "exec"
_EXEC_BITS = stat_module.S_IXUSR


class ManifestEntry(NamedTuple):
    """One file of a directory: its path relative to the directory, hash and size,
    and EXEC for an executable file. (A NamedTuple: a directory of 20,000 files
    makes 20,000 of them.)"""

    relpath: str
    digest: str
    size: int
    flags: str = ""

    @property
    def executable(self) -> bool:
        return self.flags == EXEC


ManifestRow = tuple[str, str, int] | tuple[str, str, int, str]


def manifest_row(path: str, digest: str, size: int, mode: int) -> ManifestRow:
    """The row of one listed file; `mode` is its st_mode (0 for none)."""
    if mode & _EXEC_BITS and stat_module.S_ISREG(mode):
        return (path, digest, size, EXEC)
    return (path, digest, size)


def is_executable(mode: int) -> bool:
    """Is a file of this st_mode one its owner may execute (and so recorded as such)?"""
    return bool(mode & _EXEC_BITS) and stat_module.S_ISREG(mode)


def manifest_bytes(entries: Sequence[Sequence[Any]]) -> bytes:
    """The canonical bytes of a manifest, `json.dumps(sorted(rows))` without
    spaces; its xxh3 is the directory's hash. Rows are (path, digest, size) or
    (path, digest, size, flags); empty flags are left out."""
    ordered = sorted(_row(entry) for entry in entries)  # relpaths are unique
    flagged = [index for index, row in enumerate(ordered) if len(row) > 3]
    text = plain_manifest_text([row[:3] for row in ordered], flagged)
    if text is not None:
        return f"[{text}]".encode()
    return json.dumps(ordered, separators=(",", ":")).encode()


def _row(entry: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(entry) if len(entry) == 3 or entry[3] else tuple(entry[:3])


def plain_manifest_text(ordered: Iterable[tuple[str, str, int]],
                        executable: Sequence[int] = ()) -> str | None:
    """The manifest's rows, in the given order, as manifest_bytes writes them
    between its brackets, the rows at the `executable` indexes flagged EXEC;
    None where a path or digest would need escaping.

    JSON writes a string's characters as they are when they are printable ASCII
    other than `"` and `\\`; for such entries the text is formatted directly,
    in a fraction of the time json takes.
    """
    texts = [f'["{path}","{digest}",{size}]' for path, digest, size in ordered]
    for index in executable:
        texts[index] = f'{texts[index][:-1]},"{EXEC}"]'
    text = ",".join(texts)
    if (text.isascii() and text.isprintable() and "\\" not in text
            and text.count('"') == 4 * len(texts) + 2 * len(executable)):
        return text
    return None


def executable_indexes(modes: Iterable[int]) -> list[int]:
    """Which of the files with these st_modes are flagged EXEC in a manifest."""
    return [index for index, mode in enumerate(modes)
            if mode & _EXEC_BITS and stat_module.S_ISREG(mode)]


def hash_manifest(entries: Sequence[Sequence[Any]]) -> Digest:
    return hash_bytes(manifest_bytes(entries))


def listing_digest(listing: Sequence[tuple[str, int, int, int, int, int]],
                   digests: Sequence[str]) -> tuple[str, int]:
    """A directory's digest ("xxh3:….dir") and size from its listing (path,
    inode, mtime_ns, size, mode, ctime_ns per file, as statsig.walk_files gives it) and
    each file's digest. A symlink's size is 0: its digest names its target,
    not bytes stored."""
    sizes = [0 if stat_module.S_ISLNK(item[4]) else item[3] for item in listing]
    paths = [item[0] for item in listing]
    executable = executable_indexes([item[4] for item in listing])
    # a listing is sorted by path already: its rows are in manifest order
    text = plain_manifest_text(zip(paths, digests, sizes, strict=True), executable)
    if text is not None:
        return f"{hash_bytes(f'[{text}]'.encode())}{DIR_SUFFIX}", sum(sizes)
    rows = [manifest_row(item[0], digest, size, item[4])
            for item, digest, size in zip(listing, digests, sizes, strict=True)]
    return str(hash_manifest(rows)) + DIR_SUFFIX, sum(sizes)


def hash_many(paths: list[str], hasher: Callable[[str], str] = file_digest,
              sizes: list[int] | None = None) -> list[str]:
    """Digests ("xxh3:…") of several files; in threads when there is enough data
    to gain from it, in forked processes when there are enough files."""
    # Threads pay off only for large files (xxhash releases the GIL on
    # big buffers); for many small files they cost more than they save, and
    # processes share out their system calls instead (hashing/forkmap.py).
    large = sizes is not None and sum(1 for s in sizes if s >= CHUNK) >= 2
    if len(paths) < 2 or not large:
        processes = usable_workers(len(paths))
        with gc_paused():
            if processes < 2:
                return [hasher(path) for path in paths]
            shares = fork_map(partial(_hash_each, hasher),
                              [paths[k::processes] for k in range(processes)])
        digests = [""] * len(paths)
        for k, share in enumerate(shares):
            digests[k::processes] = share
        return digests
    workers = min(len(paths), (os.cpu_count() or 2) * 2)
    from concurrent.futures import ThreadPoolExecutor  # only when there is work

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(hasher, paths))


def _hash_each(hasher: Callable[[str], str], paths: list[str]) -> list[str]:
    return [hasher(path) for path in paths]
