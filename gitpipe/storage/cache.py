"""The local content-addressed cache: objects, checkout into the workspace, the run-cache.

Layout (shared with remotes): `files/xxh3/ab/cdef…` objects, read-only;
a directory's manifest is an object too, named `….dir`;
`runs/<task>/<fingerprint>` maps a fingerprint to the outs it produced.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import stat as stat_module
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import xxhash

from gitpipe.core.errors import BadInputError, GitpipeError, RecordError
from gitpipe.core.nofollow import real_dir, regular_files, unlink_beneath
from gitpipe.core.trees import make_dirs, remove_tree
from gitpipe.hashing.digests import (
    DIR_SUFFIX,
    EXEC,
    ManifestEntry,
    copy_hashing_stream,
    hash_file,
    manifest_bytes,
    manifest_row,
)
from gitpipe.hashing.statsig import walk_files
from gitpipe.trust import checks as trust

FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)
LINK_TYPES = ("reflink", "copy", "hardlink", "symlink")
TMP_PREFIX = ".tmp-"  # a write in progress, beside its final name; never an object
LOCAL = "the local cache"  # where a record came from, when nothing more is known
_HEX = re.compile(r"^[0-9a-f]{3,}$")


Fetcher = Callable[[str, "Path | None"], None]  # (digest, also write here) → in the cache


class CacheError(GitpipeError):
    """An object is missing, corrupt, or cannot be written."""


@dataclass(frozen=True)
class CachedOut:
    """One out as a run produced it: path, digest, size, and whether it was an
    executable file (a directory's files say so in its manifest)."""

    path: str
    digest: str
    size: int
    executable: bool = False


def object_relpath(digest: str) -> str:
    """`xxh3:abcdef…` → `files/xxh3/ab/cdef…` (the same on every remote)."""
    algo, _, value = digest.partition(":")
    if algo != "xxh3" or not _HEX.match(value):
        raise CacheError(f"not a cacheable digest: {digest!r}")
    return f"files/{algo}/{value[:2]}/{value[2:]}"


def digest_of_relpath(relpath: str) -> str:
    """`files/xxh3/ab/cdef…[.dir]` → `xxh3:abcdef…[.dir]`: the inverse of object_relpath."""
    parts = relpath.split("/")
    return f"{parts[-3]}:{parts[-2]}{parts[-1]}"


def run_relpath(task: str, fingerprint: str) -> str:
    """`runs/<task>/<fingerprint's hex>`; CacheError for a name or fingerprint
    that would make it any other path (both can come from a lock)."""
    problem = trust.task_problem(task) or trust.fingerprint_problem(fingerprint)
    if problem is not None:
        raise CacheError(f"no run-cache key for task {task!r}: {problem}")
    return f"runs/{task}/{fingerprint.partition(':')[2]}"


def copy_hashing(src: Path | str, dst: Path | str) -> str:
    """Copy `src` to `dst` while hashing the bytes written: one read, and the
    digest proves what landed, whatever `src` did meanwhile.

    Not fsynced, like git's loose objects and DVC's cache: the rename that
    publishes an object survives any crash of the process, and after a power
    loss a truncated object fails the hash check every checkout makes (and
    `gitpipe fsck`). Flushing each object cost more than the copy itself.
    """
    with open(src, "rb", buffering=0) as reader, open(dst, "wb", buffering=0) as writer:
        digest, _ = copy_hashing_stream(reader, [writer])
    return f"xxh3:{digest}"


def _reflink(src: Path, dst: Path) -> bool:
    try:
        with open(src, "rb") as reader, open(dst, "wb") as writer:
            fcntl.ioctl(writer.fileno(), FICLONE, reader.fileno())
        return True
    except OSError:
        dst.unlink(missing_ok=True)
        return False


class Cache:
    """Objects under `.gitpipe/cache`; writes go through a temp file and a rename."""

    def __init__(self, root: Path, link_type: str = "reflink") -> None:
        if link_type not in LINK_TYPES:
            raise BadInputError(f".gitpipe/config.yaml: cache.type {link_type!r} is not one of "
                                f"{', '.join(LINK_TYPES)}")
        self.root = root
        self.link_type = link_type
        self._reflink_works = True  # until the file system says otherwise, once
        self._made_dirs: set[Path] = set()
        self._manifests: dict[str, tuple[ManifestEntry, ...]] = {}

    def path(self, digest: str) -> Path:
        suffix = DIR_SUFFIX if digest.endswith(DIR_SUFFIX) else ""
        return self.root / (object_relpath(digest.removesuffix(DIR_SUFFIX)) + suffix)

    def has(self, digest: str) -> bool:
        return self.path(digest).exists()

    def _dir(self, directory: Path) -> Path:
        """`directory`, made if need be, once per Cache (not a mkdir per object)."""
        if directory not in self._made_dirs:
            directory.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(directory)
        return directory

    def _tmp_in(self, directory: Path) -> Path:
        fd, name = tempfile.mkstemp(dir=self._dir(directory), prefix=TMP_PREFIX)
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
        tmp = self.tmp_beside(digest)
        try:
            got = copy_hashing(source, tmp)
            if got != digest:
                raise CacheError(f"{source}: changed while it was being cached "
                                 f"(expected {digest}, read {got})")
            self._publish(tmp, self.path(digest))
        finally:
            tmp.unlink(missing_ok=True)

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
        os.chmod(tmp, 0o444)
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
        naming `source`, if not). Read once per Cache: a manifest is named by its
        content, and a pull or checkout asks for the same one several times."""
        known = self._manifests.get(digest)
        if known is not None:
            return known
        record = f"directory manifest {digest}"
        try:
            rows = json.loads(self.path(digest).read_bytes())
        except FileNotFoundError:
            raise CacheError(f"object {digest} is not in the cache",
                             hint="run 'gitpipe pull' or 'gitpipe repro'") from None
        except ValueError:
            raise RecordError(f"{source}: {record} is not JSON; nothing was written") from None
        entries = trust.check_manifest(rows, record=record, source=source)
        self._manifests[digest] = entries
        return entries

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

    # -- checkout ------------------------------------------------------------------
    def checkout(self, target: Path, digest: str, executable: bool = False) -> None:
        """Make `target` hold object `digest`, replacing whatever is there, with
        the executable bits its record names."""
        missing = self.missing(digest)
        if missing:
            raise CacheError(f"{len(missing)} object(s) of {target.name!r} are not in the "
                             f"cache ({missing[0]})", hint="run 'gitpipe pull'")
        self.write_files(self.lay_out(target, digest))
        self.apply_modes(target, digest, executable)

    def apply_modes(self, target: Path, digest: str, executable: bool = False) -> None:
        """Give the files of out `target` the executable bit its record names: the
        file itself (`executable`, from the lock; taken away where it is not
        named), or a directory's flagged files.

        NOTE: with hardlink or symlink checkouts an object is shared by every
        out with the same bytes, executable or not, so an executable file gets
        a copy of its own and the object keeps its read-only mode.
        """
        if digest.endswith(DIR_SUFFIX):
            for entry in self.manifest(digest):
                if entry.executable:
                    self._set_executable(target / entry.relpath, entry.digest, True)
        else:
            self._set_executable(target, digest, executable)

    def _set_executable(self, path: Path, digest: str, executable: bool) -> None:
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return
        has_bits = stat_module.S_ISREG(info.st_mode) and bool(info.st_mode & 0o111)
        if has_bits == executable and not (executable and _shares_object(info)):
            return
        if _shares_object(info):
            path.unlink()
            self._copy_verified(self.path(digest), path)
        if executable:
            make_executable(path)
        else:
            os.chmod(path, stat_module.S_IMODE(os.lstat(path).st_mode) & ~0o111)

    def lay_out(self, target: Path, digest: str) -> list[tuple[str, Path]]:
        """Clear `target`, make its directories and symlinks, and return the
        (object, file) pairs still to write: checkout in two steps, so a pull can
        write many outs' files in one pool, straight from the download.

        `target` is an out trust.out_path accepted; the manifest is checked
        before anything is removed, and its entries then stay inside `target`."""
        entries = self.manifest(digest) if digest.endswith(DIR_SUFFIX) else ()
        remove_path(target)
        make_dirs(target.parent)
        if not digest.endswith(DIR_SUFFIX):
            return [(digest, target)]
        target.mkdir()
        made = {target}
        pairs = []
        for entry in entries:
            dest = target / entry.relpath
            if dest.parent not in made:
                make_dirs(dest.parent)
                made.add(dest.parent)
            if entry.digest.startswith("link:"):
                os.symlink(entry.digest.removeprefix("link:"), dest)
            else:
                pairs.append((entry.digest, dest))
        return pairs

    def write_files(self, pairs: list[tuple[str, Path]], fetch: Fetcher | None = None,
                    jobs: int = 8) -> None:
        """Write each pair's object to its file. With `fetch`, an object missing
        here is downloaded first; in copy mode the download writes the workspace
        file too, so the bytes are read once. Copies release the GIL, so threads
        overlap the I/O. An object that is corrupt fails at the end, after every
        other file is written."""
        copying = self.link_type in ("copy", "reflink")
        failures: list[CacheError] = []  # a corrupt object stops its file, not the others

        def one(pair: tuple[str, Path]) -> None:
            digest, dest = pair
            try:
                if fetch is not None and not self.has(digest):
                    fetch(digest, dest if copying else None)
                    if copying:
                        os.chmod(dest, 0o644)
                        return
                self._materialize(self.path(digest), dest)
            except CacheError as exc:
                failures.append(exc)

        if len(pairs) < 16 or jobs <= 1:
            for pair in pairs:
                one(pair)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=jobs) as pool:
                list(pool.map(one, pairs))
        if failures:
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            raise CacheError(failures[0].message + more, hint=failures[0].hint)

    def _materialize(self, obj: Path, dest: Path) -> None:
        if self.link_type == "symlink":
            os.symlink(obj, dest)
            return
        if self.link_type == "hardlink":
            try:
                os.link(obj, dest)
                return
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                    raise
        if self.link_type == "reflink" and self._reflink_works:
            if _reflink(obj, dest):
                os.chmod(dest, 0o644)
                return
            self._reflink_works = False
        self._copy_verified(obj, dest)

    def _copy_verified(self, obj: Path, dest: Path) -> None:
        """Copy an object out, refusing it if its bytes no longer match its name."""
        got = copy_hashing(obj, dest)
        os.chmod(dest, 0o644)
        digest = digest_of_relpath(obj.relative_to(self.root).as_posix())
        if got != digest:
            dest.unlink(missing_ok=True)
            raise CacheError(f"cache object {obj} is corrupt (its content hashes to {got}); "
                             "it was not checked out",
                             hint="run 'gitpipe fsck --repair', then 'gitpipe pull' or "
                             "'gitpipe repro'")

    # -- run-cache -----------------------------------------------------------------
    def save_run(self, task: str, fingerprint: str, outs: Iterable[CachedOut]) -> None:
        data = json.dumps([[o.path, o.digest, o.size, *([EXEC] if o.executable else [])]
                           for o in outs]).encode()
        final = self.root / run_relpath(task, fingerprint)
        tmp = self._tmp_in(final.parent)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)

    def load_run(self, task: str, fingerprint: str, declared: Iterable[str],
                 source: str = LOCAL) -> list[CachedOut] | None:
        """The outs a run entry names; None when there is none. RecordError when it
        is malformed or does not name exactly the `declared` outs."""
        rel = run_relpath(task, fingerprint)
        try:
            rows = json.loads((self.root / rel).read_bytes())
        except FileNotFoundError:
            return None
        except ValueError:
            raise RecordError(f"{source}: run-cache entry {rel} is not JSON; "
                              "it is ignored") from None
        checked = trust.check_run_entry(rows, set(declared), record=f"run-cache entry {rel}",
                                        source=source)
        return [CachedOut(*row) for row in checked]

    def malformed_records(self) -> list[str]:
        """Run entries and manifests here that break the rules for records, each
        as 'relpath: problem' (for fsck; a repro skips them with a warning)."""
        found = []
        manifests = (p.relative_to(self.root).as_posix() for p in self.all_objects()
                     if p.name.endswith(DIR_SUFFIX))
        for kind, rels in (("run", self.run_entries()), ("manifest", manifests)):
            for rel in rels:
                try:
                    problem = trust.record_problem(kind, json.loads((self.root / rel).read_bytes()))
                except ValueError:
                    problem = "is not JSON"
                if problem is not None:
                    found.append(f"{rel}: {problem}")
        return found

    def run_entries(self) -> Iterator[str]:
        """Relative paths of every run-cache entry (regular files only: a symlink
        planted in the cache is never followed, see core/nofollow.py)."""
        for rel, _ in self._files_in("runs"):
            if not rel.rsplit("/", 1)[-1].startswith(TMP_PREFIX):
                yield rel

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


def _shares_object(info: os.stat_result) -> bool:
    """Whether a checked-out file is the cache object itself (a symlink to it,
    or one of its hard links), not a copy of its own."""
    return stat_module.S_ISLNK(info.st_mode) or info.st_nlink > 1


def make_executable(path: Path) -> None:
    """Add the execute bits where the file has read bits (as `chmod +x` does
    under a 022 umask); a symlink or a missing file is left alone."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat_module.S_ISREG(info.st_mode):
        mode = stat_module.S_IMODE(info.st_mode)
        os.chmod(path, mode | (mode & 0o444) >> 2)


def remove_path(path: Path) -> None:
    """Delete a file, link or directory tree, read-only entries included."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        remove_tree(path)


@dataclass(frozen=True)
class BadObject:
    """A cache object whose content does not hash to its name."""

    digest: str
    path: Path
    actual: str


def verify_object(cache: Cache, path: Path) -> BadObject | None:
    """Hash one object file; None when it agrees with its name."""
    digest = digest_of_relpath(path.relative_to(cache.root).as_posix())
    actual = str(hash_file(path))
    if actual == digest.removesuffix(DIR_SUFFIX):
        return None
    return BadObject(digest, path, actual)
