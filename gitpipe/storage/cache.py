"""The local cache: its objects (objects.py) checked out into the workspace, and
the run-cache, whose `runs/<task>/<fingerprint>` entries map a fingerprint to
the outs it produced.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import stat as stat_module
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from gitpipe.core.errors import BadInputError, RecordError
from gitpipe.core.trees import make_dirs, remove_tree
from gitpipe.hashing.digests import DIR_SUFFIX, EXEC, hash_file
from gitpipe.storage.objects import (
    LOCAL,
    TMP_PREFIX,
    CacheError,
    ObjectStore,
    copy_hashing,
    digest_of_relpath,
)
from gitpipe.trust import checks as trust
from gitpipe.trust.sizes import loads_record

FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)
LINK_TYPES = ("reflink", "copy", "hardlink", "symlink")
RUN_MODE = 0o600  # a run entry as a temp file is made: this user's
Fetcher = Callable[[str, "Path | None"], None]  # (digest, also write here) → in the cache


@dataclass(frozen=True)
class CachedOut:
    """One out as a run produced it: path, digest, size, and whether it was an
    executable file (a directory's files say so in its manifest)."""

    path: str
    digest: str
    size: int
    executable: bool = False


def run_relpath(task: str, fingerprint: str) -> str:
    """`runs/<task>/<fingerprint's hex>`; CacheError for a name or fingerprint
    that would make it any other path (both can come from a lock)."""
    problem = trust.task_problem(task) or trust.fingerprint_problem(fingerprint)
    if problem is not None:
        raise CacheError(f"no run-cache key for task {task!r}: {problem}")
    return f"runs/{task}/{fingerprint.partition(':')[2]}"


def _reflink(src: Path, dst: Path) -> bool:
    try:
        with open(src, "rb") as reader, open(dst, "wb") as writer:
            fcntl.ioctl(writer.fileno(), FICLONE, reader.fileno())
        return True
    except OSError:
        dst.unlink(missing_ok=True)
        return False


class Cache(ObjectStore):
    """The local cache under `.gitpipe/cache`: objects, checkouts, run entries."""

    def __init__(self, root: Path, link_type: str = "reflink") -> None:
        if link_type not in LINK_TYPES:
            raise BadInputError(f".gitpipe/config.yaml: cache.type {link_type!r} is not one of "
                                f"{', '.join(LINK_TYPES)}")
        super().__init__(root)
        self.link_type = link_type
        self._reflink_works = True  # until the file system says otherwise, once

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

        With hardlink or symlink checkouts an object is shared by every
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
                    else:
                        self._link(self.path(digest), dest)  # verified as it was fetched
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
        if self.link_type in ("symlink", "hardlink"):
            self._check_object(obj)
            self._link(obj, dest)
        else:
            self._copy_out(obj, dest)

    def _check_object(self, obj: Path) -> None:
        """Refuse an object whose bytes no longer match its name before a link
        hands it out: with hardlink or symlink checkouts the work-tree file *is*
        the object, and a write through it in place (root ignores the read-only
        mode) changes the object; a copy checkout checks this while it copies."""
        got = str(hash_file(obj))
        if got != digest_of_relpath(obj.relative_to(self.root).as_posix()):
            raise self._corrupt(obj, got)

    def _link(self, obj: Path, dest: Path) -> None:
        """`dest` made the object itself (a symlink or a hard link to it), or a
        copy where the file system cannot hard-link it."""
        if self.link_type == "symlink":
            os.symlink(obj, dest)
            return
        try:
            os.link(obj, dest)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                raise
            self._copy_verified(obj, dest)

    def _copy_out(self, obj: Path, dest: Path) -> None:
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
            raise self._corrupt(obj, got)

    @staticmethod
    def _corrupt(obj: Path, got: str) -> CacheError:
        return CacheError(f"cache object {obj} is corrupt (its content hashes to {got}); "
                          "it was not checked out",
                          hint="run 'gitpipe fsck --repair', then 'gitpipe pull' or "
                          "'gitpipe repro'")

    # -- run-cache -----------------------------------------------------------------
    def save_run(self, task: str, fingerprint: str, outs: Iterable[CachedOut]) -> None:
        data = json.dumps([[o.path, o.digest, o.size, *([EXEC] if o.executable else [])]
                           for o in outs]).encode()
        self.put_run(run_relpath(task, fingerprint), data)

    def put_run(self, rel: str, data: bytes) -> None:
        """Store a run entry's bytes under `rel` (a run_relpath), atomically."""
        self.write_beside(self.root / rel, lambda writer: writer.write(data), RUN_MODE)

    def load_run(self, task: str, fingerprint: str, declared: Iterable[str],
                 source: str = LOCAL) -> list[CachedOut] | None:
        """The outs a run entry names; None when there is none. RecordError when it
        is malformed or does not name exactly the `declared` outs."""
        rel = run_relpath(task, fingerprint)
        try:
            data = (self.root / rel).read_bytes()
        except FileNotFoundError:
            return None
        return parse_run(rel, data, declared, source)

    def malformed_records(self) -> list[str]:
        """Run entries and manifests here that break the rules for records, each
        as 'relpath: problem' (for fsck; a repro skips them with a warning)."""
        found = []
        manifests = (p.relative_to(self.root).as_posix() for p in self.all_objects()
                     if p.name.endswith(DIR_SUFFIX))
        for kind, rels in (("run", self.run_entries()), ("manifest", manifests)):
            for rel in rels:
                try:
                    rows = loads_record((self.root / rel).read_bytes())
                    problem = trust.record_problem(kind, rows)
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


def parse_run(rel: str, data: bytes, declared: Iterable[str],
              source: str = LOCAL) -> list[CachedOut]:
    """The outs a run entry's bytes name; RecordError when they are malformed or
    do not name exactly the `declared` outs."""
    try:
        rows = loads_record(data)
    except ValueError:
        raise RecordError(f"{source}: run-cache entry {rel} is not JSON; "
                          "it is ignored") from None
    checked = trust.check_run_entry(rows, set(declared), record=f"run-cache entry {rel}",
                                    source=source)
    return [CachedOut(*row) for row in checked]


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
    """Delete a file, link or directory tree, read-only entries included;
    anything else (nothing there, a fifo) is left. One `lstat` says which: a
    stage's outs are removed before each of its runs."""
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        if exc.errno in _NOTHING_THERE:
            return
        raise
    if stat_module.S_ISLNK(mode) or stat_module.S_ISREG(mode):
        path.unlink()
    elif stat_module.S_ISDIR(mode):
        remove_tree(path)


# What pathlib's is_* take for "not there" rather than an error.
_NOTHING_THERE = frozenset((errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP))

