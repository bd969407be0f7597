"""The storage use cases: checkout, push, fetch, pull and fsck, on the lock's outs."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from gitpipe.core.errors import BadInputError
from gitpipe.core.progress import expect
from gitpipe.core.trees import make_dirs
from gitpipe.hashing.digests import DIR_SUFFIX, XXH3
from gitpipe.project.lockguard import LockedOut, check_manifests, locked_outs, trusted, would_lose
from gitpipe.project.root import Project, ProjectLock
from gitpipe.storage.cache import Cache, run_relpath
from gitpipe.storage.objects import CacheError, digest_of_relpath, verify_object
from gitpipe.storage.packs import PackedObject, pack_key
from gitpipe.storage.packstore import PackSet, fetch_packed, read_packs, refusal
from gitpipe.storage.remote import (
    Progress,
    Remote,
    Transfer,
    absent_objects,
    expect_objects,
    fetch_exactly,
    fetch_objects,
    fetch_packed_into,
    fetcher,
    locate,
    object_key,
    push,
)
from gitpipe.storage.runshare import to_publish
from gitpipe.trust import checks as trust
from gitpipe.trust.signedruns import inner
from gitpipe.usecases.dirsync import entries_within, lay_out_changed


@dataclass
class CheckoutReport:
    restored: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    missing: list[LockedOut] = field(default_factory=list)
    kept: list[LockedOut] = field(default_factory=list)  # modified by hand: left as they are
    orphaned: list[LockedOut] = field(default_factory=list)  # of stages the spec lacks: left
    never_run: list[str] = field(default_factory=list)  # stages with no lock entry yet


def checkout(project: Project, targets: Iterable[str] = (), force: bool = False) -> CheckoutReport:
    """Make the workspace outs match the lock, from the cache, running nothing.

    Outs the user modified whose content is not in the cache are left as they
    are (`kept`) unless `force`: the cache could not give them back."""
    report, todo = _compare(project, targets, force)
    cache = project.cache
    for out in todo:
        if _missing_objects(cache, out):
            report.missing.append(out)
            continue
        pairs = lay_out(project, out)
        cache.write_files(pairs)
        cache.apply_modes(project.root / out.path, out.digest, out.executable)
        (report.restored if pairs or not out.within else report.unchanged).append(out.target)
    project.state.flush()
    if not targets:
        report.never_run = never_run(project)
    return report


def never_run(project: Project) -> list[str]:
    """The stages gitpipe.yaml has that the lock has no entry for (no task of them)."""
    ran = {name.split("@", 1)[0] for name in project.lock_entries}
    return [name for name in project.pipeline.names() if name not in ran]


def _missing_objects(cache: Cache, out: LockedOut) -> list[str]:
    """The objects a checkout of `out` (or of its part) needs that the cache lacks."""
    if not out.within or cache.missing(out.digest) == [out.digest]:
        return cache.missing(out.digest)
    part = entries_within(cache.manifest(out.digest), out.within, out.path)
    return [e.digest for e in part if not e.digest.startswith("link:") and
            cache.missing(e.digest)]


def lay_out(project: Project, out: LockedOut) -> list[tuple[str, Path]]:
    """Prepare the work tree for `out` and return the (object, file) pairs to
    write: only the differing files of a directory that is already there."""
    if out.digest.endswith(DIR_SUFFIX):
        if out.within and not os.path.lexists(project.root / out.path):
            make_dirs(project.root / out.path)  # a part asked for: not the whole out
        pairs = lay_out_changed(project, out.path, out.digest, out.within)
        if pairs is not None:
            return pairs
        if out.within:  # never the whole out for a part: what is beside it stays
            raise BadInputError(f"cannot check out {out.target}: a file or symlink stands "
                                f"where a folder of the out {out.path!r} should be",
                                hint=f"check out the whole out: gitpipe checkout {out.path}")
    return project.cache.lay_out(project.root / out.path, out.digest)


def _restore_exec_bits(project: Project, outs: Iterable[LockedOut]) -> None:
    """An out whose bytes are right may still have the wrong executable bit (the
    digest is of the bytes): the lock's record sets it, or takes it away."""
    for out in outs:
        if out.executable or not out.digest.endswith(DIR_SUFFIX):
            project.cache.apply_modes(project.root / out.path, out.digest, out.executable)


def _compare(project: Project, targets: Iterable[str],
             force: bool) -> tuple[CheckoutReport, list[LockedOut]]:
    """The report with the unchanged and kept outs filled in, and the outs to write.
    Every out is checked against the rules for records first (nothing is
    written if one fails), and so is each manifest already in the cache."""
    report = CheckoutReport()
    todo, unchanged = [], []
    accepted, report.orphaned = trusted(project, locked_outs(project.lock_entries, targets))
    for out in accepted:
        info = project.workspace.info(out.target, XXH3)
        if info.digest == out.digest and not out.within:
            report.unchanged.append(out.path)
            unchanged.append(out)
        elif info.exists and not force and would_lose(project, out.target, str(info.digest)):
            report.kept.append(out)
        else:
            todo.append(out)
    check_manifests(project.cache, [o for o in todo if project.cache.has(o.digest)])
    _restore_exec_bits(project, unchanged)
    return report, todo


PRODUCE_THEN_PUSH = "run 'gitpipe repro' where they were produced, then 'gitpipe push'"
PULL_OR_REPRO = ("run 'gitpipe pull' to fetch them from the remote, or 'gitpipe repro' "
                 "to compute them here")


def missing_error(missing: list[LockedOut], where: str,
                  hint: str = PRODUCE_THEN_PUSH) -> CacheError:
    lines = [f"{m.path} (stage {m.task!r}, {m.digest})" for m in missing[:10]]
    more = f"\n... and {len(missing) - 10} more" if len(missing) > 10 else ""
    return CacheError(f"{len(missing)} out(s) are not in {where}:\n  " + "\n  ".join(lines)
                      + more, hint=hint)


def push_outs(project: Project, remote: Remote, targets: Iterable[str] = (), jobs: int = 8,
              progress: Progress | None = None, scope: str | None = None) -> Transfer:
    """Upload the lock's out objects and their run-cache entries that the remote
    lacks, the entries signed and under `scope` (None: main; storage/runshare.py)."""
    entries = project.lock_entries
    outs = locked_outs(entries, targets)
    absent = [o for o in outs if project.cache.missing(o.digest)]
    if absent:
        raise missing_error(absent, "the local cache")
    tasks = {o.task for o in outs}
    runs = [rel for rel in (run_relpath(t, entries[t].fingerprint) for t in sorted(tasks))
            if (project.cache.root / rel).exists()]
    sharing = project.run_sharing(remote.name, write_scope=scope)
    # Decided before the objects move, so the progress total counts them from
    # the start; push uploads them last, after every object they name.
    entries_todo = to_publish(remote, project.cache, runs, sharing)
    return push(remote, project.cache, [o.digest for o in outs], entries_todo, jobs, progress)


def fetch_outs(project: Project, remote: Remote, targets: Iterable[str] = (), jobs: int = 8,
               progress: Progress | None = None) -> Transfer:
    """Download the lock's out objects missing from the cache, verifying each."""
    outs = locked_outs(project.lock_entries, targets)
    summary = fetch_objects(remote, project.cache, [o.digest for o in outs], jobs, progress)
    absent = [o for o in outs if project.cache.missing(o.digest)]
    if absent:
        raise missing_error(absent, f"remote {remote.name!r} ({remote.url})")
    return summary


def pull(project: Project, remote: Remote, targets: Iterable[str] = (), jobs: int = 8,
         progress: Progress | None = None, force: bool = False,
         ) -> tuple[Transfer, CheckoutReport]:
    """Fetch + checkout, with each missing file downloaded once: written to the
    cache and (in copy mode) to the workspace from the same verified read."""
    with ProjectLock(project.gitpipe_dir, project.config.lock_wait):
        cache = project.cache
        report, todo = _compare(project, targets, force)
        summary = Transfer()
        packed: dict[str, PackedObject] = {}
        if any(cache.missing(o.digest) for o in todo):
            absent = [o for o in todo if o.digest.endswith(DIR_SUFFIX) and not cache.has(o.digest)]
            fetch_exactly(remote, cache, [o.digest for o in absent], jobs, progress,
                          summary=summary)
            check_manifests(cache, [o for o in absent if cache.has(o.digest)],
                            f"remote {remote.name!r}")
            wanted = {d for o in todo for d in cache.missing(o.digest)}
            present = locate(remote, wanted)
            if summary.failed or absent_objects(remote, wanted, present):
                # Fetch what can be fetched, check out every out that is whole,
                # then fail naming what is absent (as DVC's pull does).
                try:
                    fetch_outs(project, remote, targets, jobs, progress)
                except CacheError as exc:
                    _checkout_whole(project, todo, report)
                    restored = f"; checked out the other {len(report.restored)} out(s)" \
                        if report.restored else ""
                    raise CacheError(exc.message + restored, hint=exc.hint) from None
            else:  # the files downloaded below, for the progress's total
                expect_objects(progress, wanted, present)
                packed = present.packed(wanted)
        pairs = []
        for out in todo:
            pairs += lay_out(project, out)
            report.restored.append(out.target)
        try:
            pairs, refused = _write_packed(remote, cache, packed, pairs, (summary, progress),
                                           jobs)
            cache.write_files(pairs, fetcher(remote, cache, summary, progress), jobs)
            for out in todo:
                cache.apply_modes(project.root / out.path, out.digest, out.executable)
            if refused:
                raise refusal(refused)
        except CacheError as exc:  # a corrupt object: every other file was written
            whole = sum(1 for out in todo if not cache.missing(out.digest))
            done = f"; checked out the other {whole} out(s)" if whole else ""
            raise CacheError(exc.message + done, hint=exc.hint) from None
        finally:
            project.state.flush()
        return summary, report


def _write_packed(remote: Remote, cache: Cache, packed: Mapping[str, PackedObject],
                  pairs: list[tuple[str, Path]], told: tuple[Transfer, Progress | None],
                  jobs: int) -> tuple[list[tuple[str, Path]], dict[str, CacheError]]:
    """Read the packed objects in a few ranged reads, each verified, into the
    cache and (in copy mode) straight into the work-tree files that hold them,
    as write_files does for a loose one. The pairs left to write, and the
    objects refused (their files are not written)."""
    if not packed:
        return pairs, {}
    files: dict[str, list[Path]] = {}
    if cache.link_type in ("copy", "reflink"):
        for digest, dest in pairs:
            if digest in packed:
                files.setdefault(digest, []).append(dest)
    refused = fetch_packed_into(remote, cache, packed, *told, jobs, files)
    return [(d, dest) for d, dest in pairs if d not in refused and d not in files], refused


def _checkout_whole(project: Project, todo: list[LockedOut], report: CheckoutReport) -> None:
    for out in todo:
        if not project.cache.missing(out.digest):
            project.cache.checkout(project.root / out.path, out.digest, out.executable)
            report.restored.append(out.path)
    project.state.flush()


# -- fsck ----------------------------------------------------------------------------

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
    import json

    found = []
    for kind, rels in (("run", sorted(remote.listing("runs"))),
                       ("manifest", [k for k in keys if k.endswith(DIR_SUFFIX)])):
        for rel in rels:
            try:
                body = inner(remote.get_bytes(rel) or b"[]")  # a run entry's envelope opened
                problem = trust.record_problem(kind, json.loads(body))
            except ValueError:
                problem = "is not JSON"
            if problem is not None:
                found.append(f"{rel}: {problem}")
    return found


def fsck_remote(project: Project, remote: Remote, repair: bool = False,
                jobs: int = 8, progress: Tick | None = None) -> FsckReport:
    """Download every object of `remote`, loose or packed, and hash it against
    its name (push checks names only, so a damaged object would stay there for
    good); with `repair`, delete the bad ones (a pack with a bad object or a
    malformed index goes whole), for a push from a good copy to replace."""
    from concurrent.futures import ThreadPoolExecutor

    report = FsckReport()
    # Listed without following symlinks (a folder remote): --repair deletes from it.
    keys = sorted(rel for rel in remote.sizes("files") if rel.count("/") == 3)
    packs = read_packs(remote, jobs)
    scratch = project.cache.root / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)

    def check(rel: str) -> str | None:
        digest = digest_of_relpath(rel)
        tmp = scratch / f".fsck-{os.getpid()}-{threading.get_ident()}"
        try:
            remote.download_verified(rel, tmp, digest)
        except CacheError:
            return digest
        finally:
            tmp.unlink(missing_ok=True)
            if progress is not None:
                progress(1)
        return None

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
    report.malformed += [f"{index}: {problem}" for index, problem in sorted(packs.problems.items())]
    present = (set(keys) - {object_key(digest) for digest in report.removed}) | {
        object_key(digest) for digest in set(packs.objects) - gone}
    report.missing = [o for o in locked_outs(project.lock_entries)
                      if object_key(o.digest) not in present]
    return report


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
    doomed += [index for index in packs.problems if trust.PACK_INDEX_NAME.match(index)]
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
