"""The storage use cases: checkout, push, fetch, pull and gc, on the lock's outs."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from gitpipe import lockfile
from gitpipe.cache import (
    Cache,
    CacheError,
    digest_of_relpath,
    remove_path,
    run_relpath,
)
from gitpipe.errors import BadInputError, did_you_mean
from gitpipe.gitrepo import lockfile_texts_in_history
from gitpipe.hashing import DIR_SUFFIX, XXH3
from gitpipe.lockfile import LockEntry
from gitpipe.project import Project, ProjectLock
from gitpipe.remote import (
    Progress,
    Remote,
    Transfer,
    absent_objects,
    fetch_exactly,
    fetch_objects,
    fetcher,
    object_key,
    push,
)


@dataclass(frozen=True)
class LockedOut:
    """An out the lock records: which task wrote it, where, which object."""

    task: str
    path: str
    digest: str
    executable: bool = False


def locked_outs(entries: dict[str, LockEntry], targets: Iterable[str] = ()) -> list[LockedOut]:
    """The outs of the lock entries the targets name (all entries without targets)."""
    wanted = set(targets)
    stages = {name.split("@", 1)[0] for name in entries}
    for target in wanted:
        if target not in entries and target not in stages:
            raise BadInputError(f"no lock entry for {target!r}",
                                hint=did_you_mean(target, stages))
    return [LockedOut(name, out.path, out.digest, out.executable)
            for name, entry in sorted(entries.items())
            if not wanted or name in wanted or name.split("@", 1)[0] in wanted
            for out in entry.outs]


@dataclass
class CheckoutReport:
    restored: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    missing: list[LockedOut] = field(default_factory=list)


def checkout(project: Project, targets: Iterable[str] = ()) -> CheckoutReport:
    """Make the workspace outs match the lock, from the cache, running nothing."""
    report, todo = _compare(project, targets)
    cache = project.cache
    for out in todo:
        if cache.missing(out.digest):
            report.missing.append(out)
        else:
            cache.checkout(project.root / out.path, out.digest, out.executable)
            report.restored.append(out.path)
    project.state.flush()
    return report


def _restore_exec_bits(project: Project, outs: Iterable[LockedOut]) -> None:
    """An out whose bytes are right may still have lost its executable bit (the
    digest is of the bytes): the lock's record puts it back."""
    for out in outs:
        if out.executable:
            project.cache.apply_modes(project.root / out.path, out.digest, True)


def _compare(project: Project, targets: Iterable[str]) -> tuple[CheckoutReport, list[LockedOut]]:
    """The report with the unchanged outs filled in, and the outs that differ."""
    report = CheckoutReport()
    todo, unchanged = [], []
    for out in locked_outs(project.lock_entries, targets):
        if project.workspace.info(out.path, XXH3).digest == out.digest:
            report.unchanged.append(out.path)
            unchanged.append(out)
        else:
            todo.append(out)
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
              progress: Progress | None = None) -> Transfer:
    """Upload the lock's out objects and their run-cache entries that the remote lacks."""
    entries = project.lock_entries
    outs = locked_outs(entries, targets)
    absent = [o for o in outs if project.cache.missing(o.digest)]
    if absent:
        raise missing_error(absent, "the local cache")
    tasks = {o.task for o in outs}
    runs = [rel for rel in (run_relpath(t, entries[t].fingerprint) for t in sorted(tasks))
            if (project.cache.root / rel).exists()]
    return push(remote, project.cache, [o.digest for o in outs], runs, jobs, progress)


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
         progress: Progress | None = None) -> tuple[Transfer, CheckoutReport]:
    """Fetch + checkout, with each missing file downloaded once: written to the
    cache and (in copy mode) to the workspace from the same verified read."""
    with ProjectLock(project.gitpipe_dir, project.config.lock_wait):
        cache = project.cache
        report, todo = _compare(project, targets)
        summary = Transfer()
        if any(cache.missing(o.digest) for o in todo):
            # One listing serves both: which manifests, then which files, exist.
            present = remote.listing("files")
            manifests = [o.digest for o in todo if o.digest.endswith(DIR_SUFFIX)]
            fetch_exactly(remote, cache, manifests, jobs, progress, present, summary)
            wanted = {d for o in todo for d in cache.missing(o.digest)}
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
        pairs = []
        for out in todo:
            pairs += cache.lay_out(project.root / out.path, out.digest)
            report.restored.append(out.path)
        try:
            cache.write_files(pairs, fetcher(remote, cache, summary, progress), jobs)
            for out in todo:
                cache.apply_modes(project.root / out.path, out.digest, out.executable)
        except CacheError as exc:  # a corrupt object: every other file was written
            whole = sum(1 for out in todo if not cache.missing(out.digest))
            done = f"; checked out the other {whole} out(s)" if whole else ""
            raise CacheError(exc.message + done, hint=exc.hint) from None
        finally:
            project.state.flush()
        return summary, report


def _checkout_whole(project: Project, todo: list[LockedOut], report: CheckoutReport) -> None:
    for out in todo:
        if not project.cache.missing(out.digest):
            project.cache.checkout(project.root / out.path, out.digest, out.executable)
            report.restored.append(out.path)
    project.state.flush()


# -- gc ----------------------------------------------------------------------------

@dataclass
class GcReport:
    removed: list[str] = field(default_factory=list)
    kept: int = 0
    bytes_freed: int = 0


def referenced(project: Project, all_commits: bool) -> set[str]:
    """Digests the current lock (and, with all_commits, any commit's lock) refers to.

    gc deletes everything else, so the work tree's lock must be there and
    parse: a truncated or conflicted lock would otherwise keep nothing, and
    gc would empty the cache and the shared remote. A damaged lock in old
    history keeps nothing of its own (it names nothing anyone can check out).
    """
    path = project.root / lockfile.LOCK_FILE
    if not path.exists() and not all_commits:
        raise BadInputError(f"{lockfile.LOCK_FILE} not found: gc keeps what it names, so it "
                            "would remove every object",
                            hint="run 'gitpipe repro' (or restore the lock) first, or keep "
                            "what any commit names with --all-commits")
    digests: set[str] = set()
    if path.exists():
        entries = lockfile.parse(path.read_text())
        digests |= {out.digest for entry in entries.values() for out in entry.outs}
    for text in lockfile_texts_in_history(project.git, lockfile.LOCK_FILE) if all_commits else []:
        try:
            entries = lockfile.parse(text)
        except BadInputError:
            continue
        digests |= {out.digest for entry in entries.values() for out in entry.outs}
    return digests


def _expand_kept(cache: Cache, digests: set[str]) -> set[str]:
    kept = set(digests)
    for digest in digests:
        if digest.endswith(DIR_SUFFIX) and cache.has(digest):
            kept |= set(cache.objects_of(digest))
    return kept


def gc_local(project: Project, all_commits: bool = False, dry_run: bool = False) -> GcReport:
    """Remove cache objects and run entries that no kept lock refers to."""
    with ProjectLock(project.gitpipe_dir, project.config.lock_wait):
        cache = project.cache
        kept = _expand_kept(cache, referenced(project, all_commits))
        report = GcReport()
        for path in list(cache.all_objects()):
            digest = digest_of_relpath(path.relative_to(cache.root).as_posix())
            if digest in kept:
                report.kept += 1
                continue
            report.removed.append(digest)
            report.bytes_freed += path.stat().st_size
            if not dry_run:
                remove_path(path)
        if not dry_run:
            _drop_dangling_runs(cache)
            for leftover in list(cache.stale_temp_files()):
                leftover.unlink(missing_ok=True)
        return report


def _drop_dangling_runs(cache: Cache) -> None:
    """A run entry whose objects are gone can no longer restore anything."""
    import json

    for rel in list(cache.run_entries()):
        path = cache.root / rel
        try:
            rows = json.loads(path.read_bytes())
        except ValueError:
            path.unlink(missing_ok=True)
            continue
        if any(cache.missing(row[1]) for row in rows):
            path.unlink(missing_ok=True)


def gc_remote(project: Project, remote: Remote, all_commits: bool = False,
              dry_run: bool = False) -> GcReport:
    """The same on a remote; manifests are read from the local cache or fetched."""
    digests = referenced(project, all_commits)
    fetch_objects(remote, project.cache, [d for d in digests if d.endswith(DIR_SUFFIX)])
    kept = _expand_kept(project.cache, digests)
    report = GcReport()
    for rel, size in sorted(remote.sizes("files").items()):
        digest = digest_of_relpath(rel)
        if digest in kept:
            report.kept += 1
            continue
        report.removed.append(digest)
        report.bytes_freed += size
        if not dry_run:
            remote.fs.rm_file(remote.full(rel))
    return report


# -- fsck ----------------------------------------------------------------------------

@dataclass
class FsckReport:
    checked: int = 0
    bad: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    missing: list[LockedOut] = field(default_factory=list)


def fsck(project: Project, repair: bool = False) -> FsckReport:
    """Hash every cache object against its name; with `repair`, remove the bad ones
    (and the run entries that named them). Also lists lock outs absent from the cache."""
    from gitpipe.cache import verify_object

    report = FsckReport()
    with ProjectLock(project.gitpipe_dir, project.config.lock_wait):
        cache = project.cache
        for path in list(cache.all_objects()):
            report.checked += 1
            bad = verify_object(cache, path)
            if bad is None:
                continue
            report.bad.append(bad.digest)
            if repair:
                remove_path(path)
                report.removed.append(bad.digest)
        if repair and report.removed:
            _drop_dangling_runs(cache)
        report.missing = [o for o in locked_outs(project.lock_entries)
                          if cache.missing(o.digest)]
    return report


def fsck_remote(project: Project, remote: Remote, repair: bool = False,
                jobs: int = 8) -> FsckReport:
    """Download every object of `remote` and hash it against its name (push
    checks names only, so a damaged object would stay there for good); with
    `repair`, delete the bad ones, for a push from a good copy to replace."""
    from concurrent.futures import ThreadPoolExecutor

    report = FsckReport()
    keys = sorted(remote.listing("files"))
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
        return None

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        verdicts = list(pool.map(check, keys))
    report.checked = len(keys)
    for rel, bad in zip(keys, verdicts, strict=True):
        if bad is None:
            continue
        report.bad.append(bad)
        if repair:
            remote.fs.rm_file(remote.full(rel))
            report.removed.append(bad)
    present = set(keys) - {object_key(digest) for digest in report.removed}
    report.missing = [o for o in locked_outs(project.lock_entries)
                      if object_key(o.digest) not in present]
    return report
