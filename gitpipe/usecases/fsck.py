"""fsck: every object in the cache, or on a remote (loose and packed), checked
against its name; --repair removes what is bad."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from gitpipe.core.errors import GitpipeError
from gitpipe.core.progress import expect
from gitpipe.hashing.digests import DIR_SUFFIX
from gitpipe.project.lockguard import LockedOut, locked_outs
from gitpipe.project.projectlock import ProjectLock
from gitpipe.project.root import Project
from gitpipe.storage.cache import Cache
from gitpipe.storage.objects import (
    CacheError,
    digest_of_relpath,
    names_an_object,
    verify_object,
)
from gitpipe.storage.packs import PackedObject, pack_key
from gitpipe.storage.packstore import PackSet, fetch_packed, read_packs
from gitpipe.storage.remote import (
    Remote,
    object_key,
)
from gitpipe.trust import checks as trust
from gitpipe.trust import packindex
from gitpipe.trust.signedruns import inner
from gitpipe.trust.sizes import ReadLimit, check_read_limit, loads_record
from gitpipe.usecases.transfer import note_lock_sizes


def _drop_runs_naming(cache: Cache, removed: set[str]) -> None:
    """A run entry naming a removed object can no longer restore its outs."""
    from gitpipe.usecases.garbage import run_entry_digests

    for rel in list(cache.run_entries()):
        try:
            digests = run_entry_digests((cache.root / rel).read_bytes())
        except OSError:
            continue
        if digests is not None and removed.intersection(digests):
            cache.discard(rel)


@dataclass
class FsckReport:
    checked: int = 0
    bad: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    missing: list[LockedOut] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)  # records a repro skips, with why
    actual: dict[str, str] = field(default_factory=dict)  # a bad object: what it hashes to


Tick = Callable[[int], None]  # how many more items are done (core/progress.py)


def fsck(project: Project, repair: bool = False, progress: Tick | None = None) -> FsckReport:
    """Hash every cache object against its name; with `repair`, remove the bad ones
    (and the run entries that named them). Also lists lock outs absent from the cache."""
    report = FsckReport()
    with ProjectLock(project.gitpipe_dir, project.config.lock_wait):
        cache = project.cache
        paths = list(cache.all_objects())
        expect(progress, len(paths))
        for path in paths:
            report.checked += 1
            if progress is not None:
                progress(1)
            bad = verify_object(cache, path)
            if bad is None:
                continue
            report.bad.append(bad.digest)
            report.actual[bad.digest] = bad.actual
            if repair and cache.discard(path.relative_to(cache.root).as_posix()):
                report.removed.append(bad.digest)
        if repair and report.removed:
            _drop_runs_naming(cache, set(report.removed))
        report.missing = [o for o in locked_outs(project.lock_entries)
                          if cache.missing(o.digest)]
        report.malformed = cache.malformed_records()
    return report


def malformed_on(remote: Remote, keys: Iterable[str]) -> list[str]:
    """The remote's run entries and manifests (among `keys`, its `files/`) that
    break the rules for records, as 'key: problem'."""

    found = []
    runs = [*remote.listing("runs"),
            *(key for key in remote.listing("scopes") if _scoped_run_key(key))]
    for kind, rels in (("run", sorted(runs)),
                       ("manifest", [k for k in keys if k.endswith(DIR_SUFFIX)])):
        for rel in rels:
            try:
                body = inner(remote.get_bytes(rel) or b"[]")  # a run entry's envelope opened
                problem = trust.record_problem(kind, loads_record(body))
            except ValueError:
                problem = "is not JSON"
            if problem is not None:
                found.append(f"{rel}: {problem}")
    return found


def _scoped_run_key(key: str) -> bool:
    """`scopes/<scope>/runs/...`: a run entry pushed with `push --scope`."""
    parts = key.split("/")
    return len(parts) > 3 and parts[2] == "runs"


def fsck_remote(project: Project, remote: Remote, repair: bool = False,
                jobs: int = 8, progress: Tick | None = None) -> FsckReport:
    """Download every object of `remote`, loose or packed, and hash it against
    its name (push checks names only, so a damaged object would stay there for
    good); with `repair`, delete the bad ones (a pack with a bad object or a
    malformed index goes whole), for a push from a good copy to replace."""
    from concurrent.futures import ThreadPoolExecutor

    report = FsckReport()
    # Listed without following symlinks (a folder remote): --repair deletes from it,
    # so only what names an object is read, or ever deleted.
    listed = {rel: size for rel, size in remote.sizes("files").items() if names_an_object(rel)}
    keys = sorted(listed)
    packs = read_packs(remote, jobs)
    limits = _read_limits(project, listed)

    def check(rel: str) -> str | None:
        digest = digest_of_relpath(rel)
        try:
            return digest if remote.check_object(rel, digest, limits[rel]) else None
        except CacheError:
            return digest
        finally:
            if progress is not None:
                progress(1)

    expect(progress, len(keys) + len(packs.objects))

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        verdicts = list(pool.map(check, keys))
    report.checked = len(keys)
    for rel, bad in zip(keys, verdicts, strict=True):
        if bad is None:
            continue
        report.bad.append(bad)
        if repair:
            remote.delete([rel])
            report.removed.append(bad)
    gone = _fsck_packs(remote, packs, report, repair, jobs, progress)
    report.malformed = malformed_on(remote, keys)
    report.malformed += [f"{trust.printable(index)}: {problem}"
                         for index, problem in sorted(packs.problems.items())]
    present = (set(keys) - {object_key(digest) for digest in report.removed}) | {
        object_key(digest) for digest in set(packs.objects) - gone}
    report.missing = [o for o in locked_outs(project.lock_entries)
                      if object_key(o.digest) not in present]
    return report


def _read_limits(project: Project, listed: dict[str, int]) -> dict[str, ReadLimit]:
    """How much of each listed object fsck reads (trust/sizes.check_read_limit),
    with the sizes the lock and the cached manifests give. Nothing read is kept."""
    note_lock_sizes(project)
    cache = project.cache
    for digest in {o.digest for o in locked_outs(project.lock_entries)}:
        if digest.endswith(DIR_SUFFIX) and cache.has(digest):
            with contextlib.suppress(GitpipeError):
                cache.manifest(digest)  # its rows size its files
    return {rel: check_read_limit(digest_of_relpath(rel), size,
                                  cache.recorded_size(digest_of_relpath(rel)))
            for rel, size in listed.items()}


def _fsck_packs(remote: Remote, packs: PackSet, report: FsckReport, repair: bool, jobs: int,
                progress: Tick | None) -> set[str]:
    """Read every packed object, verified, into `report`; with `repair`, delete
    each pack holding a bad one, and each malformed index with its pack. The
    digests no longer packed on the remote."""
    def count(_digest: str, _data: bytes) -> None:
        if progress is not None:
            progress(1)

    damaged: set[str] = set()
    bad: set[str] = set()
    for copies in _each_copy(packs):
        refused = fetch_packed(remote, copies, count, jobs)
        report.checked += len(copies)
        bad |= set(refused)
        damaged |= {copies[digest].pack for digest in refused}
    report.bad += sorted(bad)
    if not repair:
        return set()
    doomed = [index for index in packs.indexes if pack_key(index) in damaged]
    doomed += [index for index in packs.problems if packindex.PACK_INDEX_NAME.match(index)]
    left = {digest for index in packs.indexes if index not in doomed
            for digest in packs.indexes[index]}
    gone = {digest for index in doomed for digest in packs.indexes.get(index, [])} - left
    if doomed:  # each index before its pack: no index ever names a missing pack
        remote.delete(sorted(doomed))
        remote.delete(sorted(pack_key(index) for index in doomed))
    report.removed += sorted(bad)  # the bad ones; the good ones beside them went too
    return gone


def _each_copy(packs: PackSet) -> list[dict[str, PackedObject]]:
    """Every packed object's copies as rounds to check: the first copy of each,
    then the second of those named twice, and so on; each copy alone (a bad
    one is reported, not replaced by a good one elsewhere)."""
    rounds: list[dict[str, PackedObject]] = []
    pending: dict[str, PackedObject | None] = dict(packs.objects)
    while pending:
        current = {digest: where for digest, where in pending.items() if where is not None}
        if not current:
            break
        rounds.append({digest: replace(where, elsewhere=()) for digest, where in current.items()})
        pending = {digest: where.next_copy() for digest, where in current.items()}
    return rounds
