"""The cache's objects: content-addressed files, written through a temp file
and a rename, listed and verified for gc and fsck.

Layout (shared with remotes): `files/xxh3/ab/cdef…` objects, read-only;
a directory's manifest is an object too, named `….dir`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import stat as stat_module
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import xxhash

from gitpipe.core.errors import GitpipeError, RecordError
from gitpipe.core.nofollow import (
    make_dir_in_real,
    make_dirs_beneath,
    real_dir,
    regular_files,
    unlink_beneath,
)
from gitpipe.hashing.digests import (
    DIR_SUFFIX,
    ManifestEntry,
    copy_hashing_stream,
    hash_file,
    manifest_bytes,
    manifest_row,
)
from gitpipe.hashing.statsig import walk_files
from gitpipe.trust import checks as trust
from gitpipe.trust.sizes import loads_record

TMP_PREFIX = ".tmp-"  # a write in progress, beside its final name; never an object
OBJECT_MODE = 0o444  # objects are never written in place
_TMP_COUNT = itertools.count()
LOCAL = "the local cache"  # where a record came from, when nothing more is known
_HEX = re.compile(r"[0-9a-f]{3,}\Z")  # \Z: `$` also matches before a final newline


class CacheError(GitpipeError):
    """An object is missing, corrupt, or cannot be written."""


def object_relpath(digest: str) -> str:
    """`xxh3:abcdef…` → `files/xxh3/ab/cdef…` (the same on every remote)."""
    algo, _, value = digest.partition(":")
    if algo != "xxh3" or not _HEX.match(value):
        raise CacheError(f"not a cacheable digest: {digest!r}")
    return f"files/{algo}/{value[:2]}/{value[2:]}"


def object_key(digest: str) -> str:
    """An object's path in a cache or on a remote, a manifest's with its `.dir`."""
    suffix = DIR_SUFFIX if digest.endswith(DIR_SUFFIX) else ""
    return object_relpath(digest.removesuffix(DIR_SUFFIX)) + suffix


def names_an_object(rel: str) -> bool:
    """Whether `rel`, listed below a remote's `files/`, is where gitpipe puts
    an object (`files/xxh3/ab/` and 30 hex digits, `.dir` for a manifest): a
    folder remote may be a folder of the user's holding other files, which
    gc and fsck never read as objects nor delete."""
    if rel.count("/") != 3:
        return False
    digest = digest_of_relpath(rel)
    return trust.digest_problem(digest) is None and object_key(digest) == rel


def digest_of_relpath(relpath: str) -> str:
    """`files/xxh3/ab/cdef…[.dir]` → `xxh3:abcdef…[.dir]`: the inverse of object_relpath."""
    parts = relpath.split("/")
    return f"{parts[-3]}:{parts[-2]}{parts[-1]}"


def _create_tmp(folder: str) -> tuple[int, str]:
    """A new, empty temp file in `folder`, open for writing. The name is this
    process's (a count, no random draw); O_EXCL skips one a crashed process
    left, and a planted symlink is refused, never followed."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(100):
        name = f"{folder}/{TMP_PREFIX}{os.getpid()}.{next(_TMP_COUNT)}"
        try:
            return os.open(name, flags, 0o600), name
        except FileExistsError:
            continue
    raise CacheError(f"{folder}: cannot create a temp file (100 names taken)")


class FdFile:
    """An open descriptor read and written as a file object would be (the
    calls `copy_hashing_stream` makes), each call one system call; the
    caller closes the descriptor."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def readinto(self, buffer: memoryview | bytearray) -> int:
        return os.readv(self.fd, [buffer])

    def write(self, data: bytes | memoryview) -> int:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]
        return len(data)


def copy_hashing(src: Path | str, dst: Path | str) -> str:
    """Copy `src` to `dst` while hashing the bytes written: one read, and the
    digest proves what landed, whatever `src` did meanwhile.

    Not fsynced, like git's loose objects and DVC's cache: the rename that
    publishes an object survives any crash of the process, and after a power
    loss a truncated object fails the hash check every checkout makes (and
    `gitpipe fsck`). Flushing each object costs more than the copy itself.
    """
    with open(src, "rb", buffering=0) as reader, open(dst, "wb", buffering=0) as writer:
        digest, _ = copy_hashing_stream(reader, [writer])
    return f"xxh3:{digest}"


class ObjectStore:
    """Objects under a cache root; writes go through a temp file and a rename."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root_text = str(root)
        self._made_dirs: set[Path] = set()
        self._manifests: dict[str, tuple[ManifestEntry, ...]] = {}
        self._sizes: dict[str, int] = {}  # file object: the size records give it
        self._sized: set[str] = set()  # manifests whose rows are in _sizes

    def path(self, digest: str) -> Path:
        suffix = DIR_SUFFIX if digest.endswith(DIR_SUFFIX) else ""
        return self.root / (object_relpath(digest.removesuffix(DIR_SUFFIX)) + suffix)

    def has(self, digest: str) -> bool:
        # A string path and os.stat: a push or pull asks this of every file of
        # a directory out, and building a Path each time cost more than the stat.
        algo, _, value = digest.removesuffix(DIR_SUFFIX).partition(":")
        if algo != "xxh3" or not _HEX.match(value):
            raise CacheError(f"not a cacheable digest: {digest!r}")
        suffix = DIR_SUFFIX if digest.endswith(DIR_SUFFIX) else ""
        return os.path.exists(f"{self._root_text}/files/xxh3/{value[:2]}/{value[2:]}{suffix}")

    def _dir(self, directory: Path) -> Path:
        """`directory`, made if need be and checked to be a real folder at every
        level below the cache root (never a planted symlink), once per store:
        not a mkdir per object. Every write into the cache goes through here.
        The walk starts at the deepest folder already made and checked: a new
        `files/xxh3/ab` or `runs/<task>` costs one mkdir, not one per level."""
        if directory in self._made_dirs:
            return directory
        if directory.parent in self._made_dirs:  # one level: `runs/<task>`, `files/xxh3/ab`
            make_dir_in_real(directory)
            self._made_dirs.add(directory)
        else:
            made = [directory]
            for parent in directory.parents:
                if parent in self._made_dirs or parent == self.root:
                    break
                made.append(parent)
            else:
                parent = self.root  # not below the root: make_dirs_beneath refuses it
            make_dirs_beneath(parent, directory)
            self._made_dirs.update(made)
        return directory

    def _tmp_in(self, directory: Path) -> Path:
        fd, name = _create_tmp(str(self._dir(directory)))
        os.close(fd)
        return Path(name)

    def _tmp(self) -> Path:
        """A temp file for content whose name is not known yet (it is hashed first)."""
        return self._tmp_in(self.root / "tmp")

    def tmp_beside(self, digest: str) -> Path:
        """A temp file in the directory object `digest` will live in. The rename
        that publishes it then stays inside one directory: Linux serializes
        renames across directories file-system-wide, which made parallel
        downloads queue behind each other."""
        return self._tmp_in(self.path(digest).parent)

    def add_file(self, source: Path, digest: str) -> None:
        """Store `source` as object `digest`; CacheError if its bytes disagree."""
        if self.has(digest):
            return
        fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
        try:
            self._copy_in(fd, digest, str(source))
        finally:
            os.close(fd)

    def add_open(self, fd: int, digest: str, name: str) -> None:
        """Store the file open as `fd`, from its current offset, as object
        `digest` (`name` in messages); CacheError if its bytes disagree."""
        if self.has(digest):
            return
        self._copy_in(fd, digest, name)

    def _copy_in(self, fd: int, digest: str, name: str) -> None:
        """`add_open` of an object known to be missing: one stat for an out, not two."""

        def copy(writer: FdFile) -> None:
            got = f"xxh3:{copy_hashing_stream(FdFile(fd), [writer])[0]}"
            if got != digest:
                raise CacheError(f"{name}: changed while it was being cached "
                                 f"(expected {digest}, read {got})")

        self.write_beside(self.path(digest), copy, OBJECT_MODE)

    def write_beside(self, final: Path, write: Callable[[FdFile], object], mode: int) -> None:
        """Make `final` through a temp file beside it: created (never through a
        planted file or symlink), written by `write`, given `mode` and renamed
        over `final` in one pass, with no second open; gone if `write` raises.

        A stage's outs and run entry are small files, so the syscalls around
        the bytes are most of the cost of caching them: the descriptor is
        written as it is, with no file object (whose making asks the kernel
        for the file's stat and position)."""
        folder = str(self._dir(final.parent))
        fd, tmp = _create_tmp(folder)
        try:
            try:
                write(FdFile(fd))
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def add_bytes(self, data: bytes, digest: str) -> None:
        if self.has(digest):
            return
        tmp = self.tmp_beside(digest)
        try:
            tmp.write_bytes(data)
            self._publish(tmp, self.path(digest))
        finally:
            tmp.unlink(missing_ok=True)

    def _publish(self, tmp: Path, final: Path) -> None:
        os.chmod(tmp, OBJECT_MODE)
        self._dir(final.parent)
        os.replace(tmp, final)

    def add_tree(self, workspace_dir: Path, digest: str) -> None:
        """Store every file of a directory out, then its manifest (last: it vouches
        that everything it names is present)."""
        if self.has(digest):
            return
        entries: list[ManifestEntry] = []
        for rel, _, _, _, mode, _ in walk_files(str(workspace_dir)):
            full = workspace_dir / rel
            unfit = trust.path_problem(rel)
            if unfit is not None:
                raise CacheError(f"{workspace_dir}: file {rel!r} {unfit}; a checkout could "
                                 "not restore it safely")
            if stat_module.S_ISLNK(mode):
                entries.append(_link_entry(workspace_dir, rel))
                continue
            tmp = self._tmp()
            try:
                got = copy_hashing(full, tmp)
                size = tmp.stat().st_size
                if not self.has(got):
                    self._publish(tmp, self.path(got))
            finally:
                tmp.unlink(missing_ok=True)
            entries.append(ManifestEntry(*manifest_row(rel, got, size, mode)))
        data = manifest_bytes(entries)
        if f"xxh3:{xxhash.xxh3_128_hexdigest(data)}{DIR_SUFFIX}" != digest:
            raise CacheError(f"{workspace_dir}: changed while it was being cached")
        self.add_bytes(data, digest)

    def manifest(self, digest: str, source: str = LOCAL) -> tuple[ManifestEntry, ...]:
        """A directory's entries, once they pass trust.check_manifest (RecordError,
        naming `source`, if not). Read once per store: a manifest is named by its
        content, and a pull or checkout asks for the same one several times."""
        known = self._manifests.get(digest)
        if known is not None:
            return known
        record = f"directory manifest {digest}"
        try:
            rows = loads_record(self.path(digest).read_bytes())
        except FileNotFoundError:
            raise CacheError(f"object {digest} is not in the cache",
                             hint="run 'gitpipe pull' or 'gitpipe repro'") from None
        except ValueError:
            raise RecordError(f"{source}: {record} is not JSON; nothing was written") from None
        entries = trust.check_manifest(rows, record=record, source=source)
        self._manifests[digest] = entries
        return entries

    def note_sizes(self, sized: Iterable[tuple[str, object]]) -> None:
        """Remember the sizes records (a lock, a run entry) give file objects;
        where two records differ, the larger counts."""
        for digest, size in sized:
            if type(size) is int and size >= 0 and not digest.endswith(DIR_SUFFIX):
                self._sizes[digest] = max(size, self._sizes.get(digest, size))

    def recorded_size(self, digest: str) -> int | None:
        """The size a record gives the file object `digest`: a noted one, or a
        row's of a manifest read so far; None when none does. A download from
        a remote reads no more than that (trust/sizes.py)."""
        for manifest in [d for d in list(self._manifests) if d not in self._sized]:
            self._sized.add(manifest)
            self.note_sizes((e.digest, e.size) for e in self._manifests[manifest])
        return self._sizes.get(digest)

    def missing(self, digest: str) -> list[str]:
        """Digests needed to check out `digest` that are not here (manifest first)."""
        if not digest.endswith(DIR_SUFFIX):
            return [] if self.has(digest) else [digest]
        if not self.has(digest):
            return [digest]
        return [e.digest for e in self.manifest(digest)
                if not e.digest.startswith("link:") and not self.has(e.digest)]

    def objects_of(self, digest: str) -> list[str]:
        """Every object `digest` consists of (itself, and a manifest's files)."""
        if not digest.endswith(DIR_SUFFIX) or not self.has(digest):
            return [digest]
        return [digest, *(e.digest for e in self.manifest(digest)
                          if not e.digest.startswith("link:"))]

    # -- listing ------------------------------------------------------------------
    def all_objects(self) -> Iterator[Path]:
        """Every object file, as `files/<algo>/<ab>/<rest>` names it; symlinks and
        stray files at other depths are not objects."""
        for rel, _ in self._files_in("files"):
            if rel.count("/") == 3 and not rel.rsplit("/", 1)[-1].startswith(TMP_PREFIX):
                yield self.root / rel

    def stale_temp_files(self, older_than: float = 3600.0) -> Iterator[str]:
        """Temp files an interrupted write left behind (old enough not to be live),
        relative to the cache root."""
        import time

        limit = time.time() - older_than
        for part in ("files", "runs", "tmp"):
            for rel, info in self._files_in(part):
                name = rel.rsplit("/", 1)[-1]
                if (name.startswith(TMP_PREFIX) or part == "tmp") and info.st_mtime < limit:
                    yield rel

    def _files_in(self, part: str) -> Iterator[tuple[str, os.stat_result]]:
        """Regular files below `part` of the cache, relative to the cache root."""
        if not real_dir(self.root):
            return
        for rel, info in regular_files(self.root / part):
            yield f"{part}/{rel}", info

    def discard(self, rel: str) -> bool:
        """Remove the regular file `rel` (relative to the cache root) without
        following a symlink on the way; False when it was already gone."""
        return unlink_beneath(self.root, rel)


def _link_entry(directory: Path, rel: str) -> ManifestEntry:
    """A symlink of a directory out as a manifest entry; one that points outside
    the directory is refused here, as every checkout would refuse it."""
    target = os.readlink(directory / rel)
    problem = trust.link_problem(rel, target)
    if problem is not None:
        raise CacheError(f"{directory}: {problem}; a checkout could not restore it safely",
                         hint="make it a relative link inside the directory, or copy the "
                         "file it points to")
    return ManifestEntry(rel, f"{trust.LINK_PREFIX}{target}", 0)


@dataclass(frozen=True)
class BadObject:
    """A cache object whose content does not hash to its name."""

    digest: str
    path: Path
    actual: str


def verify_object(store: ObjectStore, path: Path) -> BadObject | None:
    """Hash one object file; None when it agrees with its name."""
    digest = digest_of_relpath(path.relative_to(store.root).as_posix())
    actual = str(hash_file(path))
    if actual == digest.removesuffix(DIR_SUFFIX):
        return None
    return BadObject(digest, path, actual)
