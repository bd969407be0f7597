"""The storage use cases: checkout, push, fetch and pull, on the lock's outs
(fsck: usecases/fsck.py)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitpipe.core.errors import BadInputError, GitpipeError
from gitpipe.core.nofollow import open_beneath
from gitpipe.core.trees import make_dirs
from gitpipe.hashing.digests import DIR_SUFFIX, XXH3
from gitpipe.pipeline.lockfile import LOCK_FILE
from gitpipe.project.lockguard import (
    LockedOut,
    check_manifests,
    declared_in_spec,
    target_outs,
    trusted,
    would_lose,
)
from gitpipe.project.projectlock import ProjectLock
from gitpipe.project.root import Project
from gitpipe.storage.cache import Cache, run_relpath
from gitpipe.storage.objects import CacheError
from gitpipe.storage.packs import PackedObject
from gitpipe.storage.packstore import refusal
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
    push,
)
from gitpipe.storage.runshare import to_publish
from gitpipe.trust.checks import printable
from gitpipe.trust.sizes import UNSIZED_HINT
from gitpipe.usecases.dirsync import entries_within, lay_out_changed

log = logging.getLogger(__name__)


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
    report, todo, _ = _compare(project, targets, force)
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
             force: bool) -> tuple[CheckoutReport, list[LockedOut], list[LockedOut]]:
    """The report with the unchanged and kept outs filled in, the outs to
    write, and the (whole) outs the work tree already holds as the lock says.
    Every out is checked against the rules for records first (nothing is
    written if one fails), and so is each manifest already in the cache."""
    report = CheckoutReport()
    todo, unchanged = [], []
    accepted, report.orphaned = trusted(project, target_outs(project, targets))
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
    return report, todo, unchanged


PRODUCE_THEN_PUSH = "run 'gitpipe repro' where they were produced, then 'gitpipe push'"
PULL_OR_REPRO = ("run 'gitpipe pull' to fetch them from the remote, or 'gitpipe repro' "
                 "to compute them here")


def missing_error(missing: list[LockedOut], where: str,
                  hint: str = PRODUCE_THEN_PUSH) -> CacheError:
    # A lock's out path comes from git: one listing line each, whatever it holds.
    lines = [f"{printable(m.path)} (stage {m.task!r}, {m.digest})" for m in missing[:10]]
    more = f"\n... and {len(missing) - 10} more" if len(missing) > 10 else ""
    return CacheError(f"{len(missing)} out(s) are not in {where}:\n  " + "\n  ".join(lines)
                      + more, hint=hint)


def push_outs(project: Project, remote: Remote, targets: Iterable[str] = (), jobs: int = 8,
              progress: Progress | None = None, scope: str | None = None) -> Transfer:
    """Upload the lock's out objects and their run-cache entries that the remote
    lacks, the entries signed and under `scope` (None: main; storage/runshare.py)."""
    entries = project.lock_entries
    outs = target_outs(project, targets)
    absent = [o for o in outs if project.cache.missing(o.digest)]
    if absent:
        undeclared = _cache_from_work_tree(project, absent)
        if absent := [o for o in absent if project.cache.missing(o.digest)]:
            raise missing_error(absent, "the local cache", _not_read_hint(absent, undeclared))
    tasks = {o.task for o in outs}
    runs = [rel for rel in (run_relpath(t, entries[t].fingerprint) for t in sorted(tasks))
            if (project.cache.root / rel).exists()]
    sharing = project.run_sharing(remote.name, write_scope=scope)
    # Decided before the objects move, so the progress total counts them from
    # the start; push uploads them last, after every object they name.
    entries_todo = to_publish(remote, project.cache, runs, sharing)
    return push(remote, project.cache, [o.digest for o in outs], entries_todo, jobs, progress)


def _not_read_hint(absent: list[LockedOut], undeclared: list[LockedOut]) -> str:
    """The advice for outs a push lacks: produce them, and where the lock
    names outs gitpipe.yaml does not declare, why the work tree's were not read."""
    named = [printable(o.path) for o in absent if o in undeclared]
    if not named:
        return PRODUCE_THEN_PUSH
    listed = ", ".join(named[:3]) + (f" and {len(named) - 3} more" if len(named) > 3 else "")
    return (f"gitpipe.yaml does not declare {listed} for its stage (a stage since removed, "
            "or a lock from elsewhere), and push reads from the work tree only the outs "
            f"it declares; {PRODUCE_THEN_PUSH}")


def _cache_from_work_tree(project: Project, outs: list[LockedOut]) -> list[LockedOut]:
    """Cache each file out the work tree holds with the bytes the lock names:
    a clone has a metrics file from git, never from its cache. The push then
    checks the remote as for any object (storage/pushcheck.py): what the
    remote says it holds is never taken for the bytes. A link, a file of
    another kind or other bytes is left out, and the push refuses it; so is
    an out gitpipe.yaml does not declare for its stage (returned: the
    refusal says why)."""
    declared = declared_in_spec(project, outs)
    for out in declared:
        if out.digest.endswith(DIR_SUFFIX) or out.within:
            continue
        try:
            fd = open_beneath(project.root, out.path)
        except (OSError, GitpipeError):
            continue
        try:
            project.cache.add_open(fd, out.digest, out.path)
        except CacheError:
            continue
        finally:
            os.close(fd)
    return [out for out in outs if out not in declared]


def fetch_outs(project: Project, remote: Remote, targets: Iterable[str] = (), jobs: int = 8,
               progress: Progress | None = None) -> Transfer:
    """Download the lock's out objects missing from the cache, verifying each."""
    outs = target_outs(project, targets)
    note_lock_sizes(project)
    refuse_unsized(project, outs)
    summary = fetch_objects(remote, project.cache, [o.digest for o in outs], jobs, progress)
    absent = [o for o in outs if project.cache.missing(o.digest)]
    if absent:
        if remote.is_local and not os.path.isdir(remote.base):
            # A relative folder remote resolves against each clone's root: a clone
            # elsewhere names a folder that is not there, not one missing the outs.
            raise missing_error(absent, f"remote {remote.name!r}, whose folder {remote.base} "
                                "does not exist", f"point the remote at its folder: gitpipe "
                                f"remote modify {remote.name} url PATH (an absolute path "
                                "works from every clone)")
        raise missing_error(absent, f"remote {remote.name!r} ({remote.url})")
    return summary


def note_lock_sizes(project: Project) -> None:
    """The sizes the lock gives its file outs, so a download reads no more
    (a directory's files are sized by its manifest)."""
    project.cache.note_sizes((out.digest, out.size) for entry in project.lock_entries.values()
                             for out in entry.outs)


def refuse_unsized(project: Project, outs: Iterable[LockedOut]) -> None:
    """Refuse, before a byte moves, to download a file out its lock entry gives
    no size: nothing would bound what the remote sends (trust/sizes.py)."""
    sizes = {(task, out.path): out.size for task, entry in project.lock_entries.items()
             for out in entry.outs}
    unsized = [o for o in outs if not o.digest.endswith(DIR_SUFFIX)
               and sizes.get((o.task, o.path), 0) is None and project.cache.missing(o.digest)]
    if unsized:
        more = f" (and {len(unsized) - 1} more out(s))" if len(unsized) > 1 else ""
        raise CacheError(f"{LOCK_FILE}: stage {unsized[0].task!r}: out {unsized[0].path!r} "
                         "has no size, so its download could not be bounded; nothing was "
                         f"downloaded{more}", hint=UNSIZED_HINT)


def pull(project: Project, remote: Remote, targets: Iterable[str] = (), jobs: int = 8,
         progress: Progress | None = None, force: bool = False,
         ) -> tuple[Transfer, CheckoutReport]:
    """Fetch + checkout, with each missing file downloaded once: written to the
    cache and (in copy mode) to the workspace from the same verified read."""
    with ProjectLock(project.gitpipe_dir, project.config.lock_wait):
        cache = project.cache
        report, todo, unchanged = _compare(project, targets, force)
        note_lock_sizes(project)
        refuse_unsized(project, todo)
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
                # then fail naming what is absent (as DVC's pull does): of the
                # outs to write, not those the work tree holds already (a
                # metrics file from git).
                try:
                    fetch_outs(project, remote, [o.target for o in todo], jobs, progress)
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
        _fill_cache(project, remote, unchanged, jobs, (summary, progress))
        return summary, report


def _fill_cache(project: Project, remote: Remote, outs: list[LockedOut], jobs: int,
                told: tuple[Transfer, Progress | None]) -> None:
    """Download the outs of `outs`, which the work tree holds as the lock says
    already, that the cache lacks: a pull is a fetch and a checkout (as `dvc
    pull`), and leaves the cache holding the lock's outs for a checkout, a
    push elsewhere, a gc. An out counts as held by its object alone (a
    directory's manifest): one stat each, where reading the manifest would
    double a no-op pull of a large directory; `gitpipe fetch` checks every
    file. What the remote lacks of them, or holds corrupt, fails nothing: the
    work tree has them, and the checkout is done."""
    lacking = [out.digest for out in outs if not project.cache.has(out.digest)]
    if lacking:
        failed_before = len(told[0].failed)
        try:
            fetch_objects(remote, project.cache, lacking, jobs, told[1], summary=told[0])
        except GitpipeError as exc:
            log.warning("warning: %s; the cache was not filled with it (the work tree holds "
                        "the outs already)", exc.message)
        del told[0].failed[failed_before:]


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
    return [(d, dest) for d, dest in pairs
            if d not in refused and not (d in files and cache.has(d))], refused


def _checkout_whole(project: Project, todo: list[LockedOut], report: CheckoutReport) -> None:
    for out in todo:
        if not project.cache.missing(out.digest):
            project.cache.checkout(project.root / out.path, out.digest, out.executable)
            report.restored.append(out.path)
    project.state.flush()


# -- fsck ----------------------------------------------------------------------------
