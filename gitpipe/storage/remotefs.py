"""A remote's storage: the cache layout on any fsspec URL, opened once, with
the few operations transfers need (list, look up, read, ranged read, upload,
delete), retried on network errors; a folder remote is never read, written or
cleaned through a symlink.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitpipe.core.errors import BadInputError, GitpipeError
from gitpipe.core.nofollow import (
    SymlinkRefusedError,
    open_beneath,
    regular_files,
    unlink_beneath,
)
from gitpipe.hashing.digests import DIR_SUFFIX, copy_hashing_stream
from gitpipe.storage.boundedread import Capped, open_range, read_range
from gitpipe.storage.kernelcopy import kernel_copy
from gitpipe.storage.objects import CacheError
from gitpipe.storage.openfs import open_fs
from gitpipe.storage.urls import masked_url, storage_identity
from gitpipe.trust.sizes import (
    MAX_RECORD_BYTES,
    UNSIZED_HINT,
    ReadLimit,
    read_limit,
    size_problem,
)
from gitpipe.trust.uploads import left_by_a_push

log = logging.getLogger(__name__)
RETRIES = 4
# (relative path done, bytes); with an `expect(files, bytes)` method, told each
# batch's totals before it starts (core/progress.py)
Progress = Callable[[str, int], None]


class RemoteError(GitpipeError):
    """A remote cannot be reached, or refuses a transfer after retries."""


@dataclass
class Transfer:
    """What moved, for the summary line."""

    files: int = 0
    bytes: int = 0
    skipped: int = 0
    runs: int = 0
    failed: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, size: int) -> None:
        """Count one transferred file; called from worker threads."""
        with self._lock:
            self.files += 1
            self.bytes += size


def _retrying(what: str, action: Callable[[], Any]) -> Any:
    """Run a transfer with exponential backoff on network-ish failures."""
    for attempt in range(RETRIES):
        try:
            return action()
        except (FileNotFoundError, CacheError):
            raise
        except (OSError, ConnectionError, TimeoutError) as exc:
            if attempt == RETRIES - 1:
                raise RemoteError(f"{what}: {exc}") from None
            time.sleep(0.2 * 2 ** attempt)
    return None


class Remote:
    """One named remote: an fsspec filesystem and a base path."""

    def __init__(self, name: str, url: str, options: dict[str, Any] | None = None) -> None:
        self.name = name
        self.url = masked_url(url)  # what messages name; only fsspec gets the credentials
        self.identity = storage_identity(url, dict(options or {}))  # storage/seen.py's key
        self.fs, base = open_fs(url, dict(options or {}))
        self.base = base.rstrip("/")
        self.is_local = "file" in (self.fs.protocol if isinstance(self.fs.protocol, tuple)
                                   else (self.fs.protocol,))
        self.warned: set[str] = set()  # pack index problems already said (packstore.py)

    def full(self, rel: str) -> str:
        """The remote's name for `rel`, which stays below the base: every key is
        built from an object name or a run-cache key, never `..` or absolute."""
        if rel.startswith("/") or any(part in ("", ".", "..") for part in rel.split("/")):
            raise BadInputError(f"remote {self.name!r}: refusing the key {rel!r}, which is not "
                                "a plain relative path below the remote")
        return f"{self.base}/{rel}"

    def listing(self, prefix: str) -> set[str]:
        """Every file below `prefix`, relative to the base: one recursive listing."""
        return set(self._find(prefix, detail=False))

    def listed(self, prefix: str) -> dict[str, int]:
        """The same listing with each file's size (the same one call to fsspec,
        which walks with details either way): a transfer's total before it starts."""
        return self._find(prefix, detail=True)

    def sizes(self, prefix: str) -> dict[str, int]:
        """The same listing with each file's size, for gc and fsck, which delete
        from it: a folder remote is walked without following symlinks, so only
        regular files inside it are ever listed."""
        if not self.is_local:
            return self._find(prefix, detail=True)
        return {f"{prefix}/{rel}": info.st_size
                for rel, info in regular_files(self._real_base() / prefix) if ".tmp-" not in rel}

    def stale_uploads(self, folders: tuple[str, ...], idle: float) -> dict[str, int]:
        """A folder remote's temp files (write_beneath's names) below `folders`
        untouched for `idle` seconds, by size: uploads a killed push left
        half-way. None elsewhere: other remotes' uploads make no temp file."""
        if not self.is_local:
            return {}
        before = time.time() - idle
        return {f"{folder}/{rel}": info.st_size for folder in folders
                for rel, info in regular_files(self._real_base() / folder)
                if left_by_a_push(f"{folder}/{rel}") and info.st_mtime < before}

    def delete(self, rels: list[str]) -> None:
        """Remove these files; in a folder remote, never through a symlink."""
        if self.is_local:
            base = self._real_base()
            for rel in rels:
                unlink_beneath(base, rel)
        elif rels:
            paths = [self.full(rel) for rel in rels]
            _retrying(f"delete {len(rels)} file(s) from {self.name!r}", lambda: self.fs.rm(paths))

    def _real_base(self) -> Path:
        """A folder remote's base as the user configured it, links resolved: the
        user's own path may pass through a symlink; nothing inside it may."""
        return Path(os.path.realpath(self.base))

    def _find(self, prefix: str, detail: bool) -> dict[str, int]:
        root = self.full(prefix)
        try:
            self.fs.invalidate_cache(root)  # others push and gc too: never a stale listing
            found = self.fs.find(root, detail=detail)
        except FileNotFoundError:
            return {}
        except Exception as exc:  # network and credential errors come in many types
            raise RemoteError(f"remote {self.name!r} ({self.url}): cannot list: {exc}") from None
        cut = len(self.base) + 1
        bare = self.base.split("://", 1)[-1]
        rels = {}
        for path, info in (found.items() if detail else ((p, None) for p in found)):
            path = str(path)
            rel = path[cut:] if path.startswith(self.base) else path[len(bare) + 1:]
            if ".tmp-" not in rel:
                rels[rel] = int(info.get("size") or 0) if info else 0
        return rels

    def probe(self, rels: list[str], jobs: int = 8) -> dict[str, int]:
        """Which of these files exist, with sizes: one request each, in parallel
        (cheaper than a listing for a few); in a folder remote, regular files only."""
        def one(rel: str) -> int | None:
            if self.is_local:
                try:
                    info = os.lstat(self.full(rel))
                except (FileNotFoundError, NotADirectoryError):
                    return None
                if stat.S_ISREG(info.st_mode):
                    return info.st_size
                log.warning("warning: remote %r: %s is not a regular file (a symlink?); a "
                            "folder remote holds regular files only, so it counts as missing",
                            self.name, rel)
                return None
            try:
                info = _retrying(f"look up {rel} on {self.name!r}",
                                 lambda: self.fs.info(self.full(rel)))
            except FileNotFoundError:
                return None
            return int(info.get("size") or 0) if info.get("type") == "file" else None

        if not self.is_local:
            self.fs.invalidate_cache()  # a listing made earlier must not answer for now
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            sizes = list(pool.map(one, rels))
        return {rel: size for rel, size in zip(rels, sizes, strict=True) if size is not None}

    def read_range(self, rel: str, start: int, end: int) -> bytes:
        """Bytes [start, end) of `rel` (fewer when it is shorter): one ranged read."""
        def get() -> bytes:
            if not self.is_local:
                return read_range(self.fs, self.full(rel), start, end)
            fd = self._open_local(rel)
            try:
                return os.pread(fd, end - start, start)
            finally:
                os.close(fd)

        return bytes(_retrying(f"read {rel} from {self.name!r}", get))

    def _open_local(self, rel: str) -> int:
        """A folder remote's file, never through a symlink: a shared folder is
        written by others, and a link there could make a fetch read any file."""
        self.full(rel)  # the same rule for the key as anywhere
        try:
            return open_beneath(self._real_base(), rel)
        except SymlinkRefusedError as exc:
            raise CacheError(f"remote {self.name!r}: {rel} is not a regular file inside the "
                             f"remote ({exc.message}); it was not used",
                             hint="a folder remote holds regular files only: remove the "
                             "link there, and push again from a clone that has the object"
                             ) from None

    def upload(self, local: Path, rel: str) -> int:
        """Upload atomically: a local folder gets temp name + rename; object stores
        publish a single PUT (or a completed multipart upload) at once."""
        from gitpipe.core.nofollow import write_beneath

        target = self.full(rel)

        def put() -> int:
            if self.is_local:  # never through a symlink a writer of the folder planted
                try:
                    write_beneath(self._real_base(), rel, local)
                except SymlinkRefusedError as exc:
                    raise CacheError(f"remote {self.name!r}: cannot write {rel}: "
                                     f"{exc.message}", hint=exc.hint) from None
            else:
                self.fs.put_file(str(local), target)
            return local.stat().st_size

        try:
            return int(_retrying(f"upload {rel} to {self.name!r}", put))
        except FileNotFoundError as exc:
            if self.is_local:
                raise
            # An object store writes any key of a bucket that exists: not
            # found is the bucket (or container) itself.
            raise RemoteError(f"remote {self.name!r} ({self.url}): cannot upload {rel}: {exc}",
                              hint="create the bucket first, or correct the remote's URL "
                                   "('gitpipe remote list' shows it)") from None

    def put_bytes(self, rel: str, data: bytes) -> None:
        """A small record (job, result, heartbeat), written atomically like an object."""
        import tempfile

        with tempfile.NamedTemporaryFile(delete=False) as handle:
            handle.write(data)
        try:
            self.upload(Path(handle.name), rel)
        finally:
            Path(handle.name).unlink(missing_ok=True)

    def get_bytes(self, rel: str, most: int = MAX_RECORD_BYTES) -> bytes | None:
        """A small record, or None when it is not there (yet); RemoteError when
        it holds more than `most` bytes (never read whole)."""
        def get() -> bytes:
            self.fs.invalidate_cache()
            data = (self.read_range(rel, 0, most + 1) if self.is_local  # never through a link
                    else read_range(self.fs, self.full(rel), 0, most + 1))
            if len(data) > most:
                raise RemoteError(f"remote {self.name!r}: {rel} holds more than "
                                  f"{most:,} bytes, more than a record may")
            return data

        try:
            return bytes(_retrying(f"read {rel} from {self.name!r}", get))
        except FileNotFoundError:
            return None

    def download_verified(self, rel: str, dest: Path, digest: str | None,
                          also: Path | None = None, recorded: object = None) -> int:
        """Stream `rel` into `dest` (and `also`, when given), checking it hashes to
        `digest` when given; on a mismatch neither file is left behind. No more
        is read than trust/sizes.py allows (`recorded`: the size the record
        naming the object gives), plus one byte to tell a larger file."""
        limit = read_limit(digest, recorded)
        if limit is None:
            raise CacheError(f"remote {self.name!r}: object {rel}: no record at hand gives "
                             "its size, so its download could not be bounded; it was not "
                             "downloaded", hint=UNSIZED_HINT)

        def get() -> int:
            copied = self._copy_local(rel, dest, also, limit.most + 1) if self.is_local \
                else None
            if copied is None:
                copied = self._copy_streaming(rel, [dest] if also is None else [dest, also],
                                              limit.most + 1)
            problem = _problem(digest, limit, *copied)
            if problem is not None:
                dest.unlink(missing_ok=True)
                if also is not None:
                    also.unlink(missing_ok=True)
                raise CacheError(f"remote {self.name!r}: {_what(digest)} {rel} {problem}")
            return copied[1]

        return int(_retrying(f"download {rel} from {self.name!r}", get))

    def check_object(self, rel: str, digest: str, limit: ReadLimit) -> str | None:
        """Why `rel` is not the object `digest` (hashed as it is read, no more
        than `limit` allows plus one byte, nothing of it kept), or None."""
        def get() -> str | None:
            return _problem(digest, limit, *self._copy_streaming(rel, [], limit.most + 1))

        problem: str | None = _retrying(f"read {rel} from {self.name!r}", get)
        return problem

    def _copy_local(self, rel: str, dest: Path, also: Path | None,
                    cap: int | None) -> tuple[str, int] | None:
        """A folder remote's file (its first `cap` bytes) copied by the kernel
        (copy_file_range) into `dest`, then hashed as it landed there, then
        `dest` copied by the kernel into `also`: no byte passes through Python
        but the hash's read of `dest`, and a file system that can share extents
        (btrfs, XFS) shares them. None where the kernel cannot copy between
        these files."""
        if not hasattr(os, "copy_file_range"):
            return None
        source = self._open_local(rel)
        try:
            with open(dest, "w+b", buffering=0) as landed:
                if kernel_copy(source, landed.fileno(), cap) is None:
                    return None
                hexdigest, size = copy_hashing_stream(landed, [])
                if also is not None:
                    with open(also, "wb", buffering=0) as copy:
                        if kernel_copy(landed.fileno(), copy.fileno()) is None:
                            landed.seek(0)
                            copy_hashing_stream(landed, [copy])
        finally:
            os.close(source)
        return hexdigest, size

    def _copy_streaming(self, rel: str, targets: list[Path], cap: int) -> tuple[str, int]:
        """`rel` (its first `cap` bytes) read once into one reused buffer, hashed
        and written to `targets` (none: only hashed)."""
        # A folder remote is read with plain unbuffered reads; fsspec's file
        # objects cost far more kernel time there.
        source = (Capped(open(self._open_local(rel), "rb", buffering=0), cap)  # noqa: SIM115
                  if self.is_local else open_range(self.fs, self.full(rel), 0, cap))
        with source as reader, contextlib.ExitStack() as files:
            writers = [files.enter_context(open(t, "wb", buffering=0)) for t in targets]
            return copy_hashing_stream(reader, writers)


def _what(digest: str | None) -> str:
    if digest is None:
        return "record"
    return "directory manifest" if digest.endswith(DIR_SUFFIX) else "object"


def _problem(digest: str | None, limit: ReadLimit, hexdigest: str, size: int) -> str | None:
    """Why bytes read (at most one past `limit`) that hash to `hexdigest` are
    not the object `digest`, ending in what became of them; None when they are."""
    problem = size_problem(limit, size)
    if problem is not None:
        return (f"{problem}; gitpipe stopped reading at {size:,} bytes and kept none of "
                "them; it was not used")
    got = f"xxh3:{hexdigest}"
    if digest is not None and got != digest.removesuffix(DIR_SUFFIX):
        return f"is corrupt (its content hashes to {got}); it was not used"
    return None


def url_exists(url: str, root: Path) -> bool:
    """Does a path (relative to the project root) or any fsspec URL exist now?"""
    if "://" not in url:
        return (root / url).exists()
    fs, path = open_fs(url, {})
    fs.invalidate_cache()
    return bool(fs.exists(path))
