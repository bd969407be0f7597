"""gc: what a scope keeps, the plan of what goes, then its removal, in the cache
or on a remote. Deletion is planned first (a dry run is the plan), and only
regular files inside the cache or the remote are ever removed (core/nofollow.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from gitpipe.core.errors import BadInputError, GitpipeError
from gitpipe.core.nofollow import real_dir, unlink_beneath
from gitpipe.core.progress import expect
from gitpipe.git.repo import HistoryScope, versions_in_scope
from gitpipe.hashing.digests import DIR_SUFFIX
from gitpipe.pipeline import lockfile
from gitpipe.pipeline.lockfile import LockEntry
from gitpipe.project.projectlock import ProjectLock
from gitpipe.project.root import Project
from gitpipe.storage.cache import Cache
from gitpipe.storage.objects import (
    CacheError,
    digest_of_relpath,
    names_an_object,
    verify_object,
)
from gitpipe.storage.packs import pack_key
from gitpipe.storage.packstore import PackSet, read_packs
from gitpipe.storage.remote import Remote, fetch_exactly, object_key
from gitpipe.storage.runlogs import LOGS_DIR, old_logs
from gitpipe.trust.checks import printable
from gitpipe.trust.sizes import loads_record

SCOPE_FLAGS = "--workspace, --all-branches, --all-tags, --all-commits or --rev REV"


@dataclass(frozen=True)
class GcScope:
    """What gc keeps: the work tree's lock always, and the history scope's locks.
    `workspace`: the user said so (-w), which alone is a scope for a remote."""

    history: HistoryScope = field(default_factory=HistoryScope)
    workspace: bool = False

    def explicit(self) -> bool:
        return self.workspace or self.history.explicit()

    def describe(self) -> str:
        """Whose locks are kept, in words: "the work tree's, the index's and
        every tag's". The index's is always kept beside the work tree's: a
        lock staged and not yet committed names outs a commit is about to."""
        history = self.history
        parts = ["the work tree's", "the index's"]
        parts += ["every branch tip's"] if history.branches else []
        parts += ["every tag's"] if history.tags else []
        parts += ["every commit's, stash entry's, reflog's and worktree's"] \
            if history.all_commits else []
        parts += [f"{rev}'s" for rev in history.revs]
        return ", ".join(parts[:-1]) + " and " + parts[-1]


@dataclass(frozen=True)
class NamedOut:
    """An out a kept lock names, and where that lock was found."""

    digest: str
    task: str
    path: str
    where: str


@dataclass
class GcPlan:
    """What gc removes from one place (or would, in a dry run); paths are
    relative to the cache root or the remote's base, logs to `.gitpipe/logs`."""

    where: str
    keeping: str  # GcScope.describe()
    objects: list[tuple[str, int]] = field(default_factory=list)  # (path, size)
    runs: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    kept: int = 0
    packs: list[tuple[str, int]] = field(default_factory=list)  # a remote's index and pack files
    packed: list[tuple[str, int]] = field(default_factory=list)  # (digest, size) in those packs
    # a folder remote's temp files of uploads a killed push left: (path, size)
    leftovers: list[tuple[str, int]] = field(default_factory=list)

    @property
    def removed(self) -> list[str]:
        """The digests of the objects that go."""
        return [digest_of_relpath(rel) for rel, _ in self.objects] + [d for d, _ in self.packed]

    @property
    def empty(self) -> bool:
        """Nothing goes: no object, loose or packed, pack, run entry, log or
        leftover upload."""
        return not (self.objects or self.packs or self.packed or self.runs or self.logs
                    or self.leftovers)

    @property
    def bytes_freed(self) -> int:
        return sum(size for _, size in [*self.objects, *self.packs, *self.leftovers])


Confirm = Callable[[GcPlan], bool]  # asked before anything is removed from a remote
Tick = Callable[[int], None]  # how many more items are gone (core/progress.py)
DELETE_BATCH = 500  # keys per delete call on a remote
# A push's temp file is written to as its bytes arrive: one untouched this long
# is an upload that ended half-way, never one under way.
STALE_UPLOAD_SECONDS = 24 * 3600
PUSHED_FOLDERS = ("files", "packs", "runs", "scopes")


def gc(project: Project, scope: GcScope, remote: Remote | None = None, dry_run: bool = False,
       confirm: Confirm | None = None, progress: Tick | None = None) -> GcPlan:
    """Remove what no lock in `scope` names from the cache or, with `remote`,
    from that remote (which needs an explicit scope: others' pushes live there).
    `progress` is told how many items go, then each one gone (core/progress.py)."""
    if remote is None:
        return _gc_local(project, scope, dry_run, confirm, progress)
    if not scope.explicit():
        raise BadInputError(f"gc --remote needs a scope: {SCOPE_FLAGS}",
                            hint="the remote holds what every clone and branch pushed; say "
                            "which commits' locks to keep (as 'dvc gc --cloud' asks), and "
                            "look first with --dry-run")
    cache = project.cache
    _real_dirs(cache.root, cache.root / "files" / "xxh3")
    kept = kept_objects(cache, named_outs(project, scope), _fetcher(remote, cache),
                        f"remote {remote.name!r}")
    plan = _plan_remote(remote, kept, scope.describe())
    if not dry_run and _confirmed(plan, confirm):
        _remove_remote(remote, plan, progress)
    return plan


def _gc_local(project: Project, scope: GcScope, dry_run: bool,
              confirm: Confirm | None, progress: Tick | None) -> GcPlan:
    with ProjectLock(project.gitpipe_dir, project.config.lock_wait):
        cache = project.cache
        for part in ("files/xxh3", "runs", "tmp"):  # what gc deletes from: no planted link
            _real_dirs(cache.root, cache.root / part)
        kept = kept_objects(cache, named_outs(project, scope),
                            _default_remote_fetcher(project, cache), "the default remote")
        plan = _plan_local(cache, kept, scope.describe())
        plan.logs = sorted(path.name for path in old_logs(project.gitpipe_dir / LOGS_DIR,
                                                             project.config.log_retention))
        if not dry_run and _confirmed(plan, confirm):
            _remove_local(cache, plan, project.gitpipe_dir / "logs", progress)
        return plan


def _confirmed(plan: GcPlan, confirm: Confirm | None) -> bool:
    """True to go ahead; GitpipeError when `confirm` says no."""
    if confirm is None or plan.empty:
        return True
    if not confirm(plan):
        raise GitpipeError(f"gc: nothing was deleted from {plan.where}")
    return True


# -- what is kept --------------------------------------------------------------------

def named_outs(project: Project, scope: GcScope) -> list[NamedOut]:
    """Every out the locks in `scope` name. The work tree's lock must be there and
    parse unless a history scope is given: gc deletes everything else, so a
    truncated or missing lock would keep nothing. A damaged lock in history
    keeps nothing of its own (it names nothing anyone can check out)."""
    path = project.root / lockfile.LOCK_FILE
    if not path.exists() and not scope.history.explicit():
        raise BadInputError(f"{lockfile.LOCK_FILE} not found: gc keeps what it names, so it "
                            "would remove every object",
                            hint="run 'gitpipe repro' (or restore the lock) first, or keep "
                            "what any commit names with --all-commits")
    named: list[NamedOut] = []
    if path.exists():
        # Read as every command reads it: a committed link (to /dev/zero, or out
        # of the repository) is refused, and so is a file past the size bound.
        named += _outs_of(project.lock_entries, "the work tree")
    for version in versions_in_scope(project.git, lockfile.LOCK_FILE, scope.history):
        try:
            named += _outs_of(lockfile.parse(version.text), version.where)
        except BadInputError:
            continue
    return named


def _outs_of(entries: dict[str, LockEntry], where: str) -> list[NamedOut]:
    return [NamedOut(out.digest, task, out.path, where)
            for task, entry in entries.items() for out in entry.outs]


Fetch = Callable[[list[str]], None]  # bring these objects into the cache, if it can


def _fetcher(remote: Remote, cache: Cache) -> Fetch:
    def fetch(digests: list[str]) -> None:
        fetch_exactly(remote, cache, digests)
    return fetch


def _default_remote_fetcher(project: Project, cache: Cache) -> Fetch | None:
    """Missing manifests come from the default remote, as 'dvc gc' fetches them:
    a fresh clone lacks the manifests of older commits."""
    if not project.has_remote():
        return None

    def fetch(digests: list[str]) -> None:
        fetch_exactly(project.remote(), cache, digests)
    return fetch


def kept_objects(cache: Cache, named: list[NamedOut], fetch: Fetch | None,
                 source: str) -> set[str]:
    """The digests the named outs consist of: each out and, for a directory, its
    manifest's files. A directory whose manifest is neither here nor (with
    `fetch`) at `source`, or does not match its name, makes gc refuse: it cannot
    tell that directory's files from garbage, and would delete them."""
    valid = [out for out in named if _is_object_name(out.digest)]
    kept = {out.digest for out in valid}
    dirs = {out.digest: out for out in valid if out.digest.endswith(DIR_SUFFIX)}
    absent = [digest for digest in dirs if not cache.has(digest)]
    if absent and fetch is not None:
        for digest in absent:  # a fetch writes there: never through a planted link
            _real_dirs(cache.root, cache.path(digest).parent)
        with contextlib.suppress(GitpipeError):  # what is still absent is named below
            fetch(absent)
    lost = []
    for digest, out in sorted(dirs.items()):
        files = _manifest_files(cache, digest)
        if files is None:
            lost.append(out)
        else:
            kept.update(files)
    if lost:
        raise _lost_manifests(lost, source if fetch is not None else None)
    return kept


def _real_dirs(root: Path, folder: Path) -> None:
    """SymlinkRefusedError unless `root` and every folder from it to `folder` is a
    directory itself (or absent), not a symlink."""
    path = root
    real_dir(path)
    for part in folder.relative_to(root).parts:
        path = path / part
        real_dir(path)


def _is_object_name(digest: str) -> bool:
    try:
        object_key(digest)
    except CacheError:
        return False  # a forged lock's odd digest names no object
    return True


def _manifest_files(cache: Cache, digest: str) -> list[str] | None:
    """The objects a directory manifest names; None when it is absent, damaged or
    does not hash to its name (a manifest read wrong would keep the wrong files)."""
    path = cache.path(digest)
    try:
        if not path.is_file() or path.is_symlink() or verify_object(cache, path) is not None:
            return None
        return [entry.digest for entry in cache.manifest(digest)
                if not str(entry.digest).startswith("link:")]
    except (OSError, ValueError, TypeError, CacheError):
        return None


def _lost_manifests(lost: list[NamedOut], source: str | None) -> CacheError:
    lines = [f"{printable(out.path)} (stage {out.task!r}, {out.digest}) in "
             f"{lockfile.LOCK_FILE} of {out.where}" for out in lost[:10]]
    more = f"\n  ... and {len(lost) - 10} more" if len(lost) > 10 else ""
    looked = "the local cache" + (f" or {source}" if source else "")
    return CacheError(f"gc removes nothing: {len(lost)} directory manifest(s) that kept locks "
                      f"name are not in {looked} (or are damaged), so gc cannot tell their "
                      "files from garbage:\n  " + "\n  ".join(lines) + more,
                      hint="push them from a clone that has them ('gitpipe push'), or narrow "
                      "the scope so that it does not keep those commits")


def run_entry_digests(data: bytes) -> list[str] | None:
    """The objects a run-cache entry (local, or a remote's signed envelope)
    names; None for one of the wrong shape."""
    from gitpipe.trust.signedruns import inner

    try:
        rows = loads_record(inner(data))
    except ValueError:
        return None
    if not isinstance(rows, list) or not all(
            isinstance(row, list) and len(row) == 3 and isinstance(row[1], str) for row in rows):
        return None
    return [row[1] for row in rows]


def _run_kept(data: bytes | None, kept: set[str]) -> bool:
    """A run entry stays while every object it restores stays (DVC's run-cache is
    likewise only as good as the objects it names); a malformed one goes."""
    digests = run_entry_digests(data) if data is not None else None
    return digests is not None and all(digest in kept for digest in digests)


# -- the cache -------------------------------------------------------------------------

def _plan_local(cache: Cache, kept: set[str], keeping: str) -> GcPlan:
    plan = GcPlan("the cache", keeping)
    for path in cache.all_objects():
        rel = path.relative_to(cache.root).as_posix()
        if digest_of_relpath(rel) in kept:
            plan.kept += 1
        else:
            plan.objects.append((rel, path.lstat().st_size))
    plan.runs = [rel for rel in cache.run_entries()
                 if not _run_kept(_read(cache.root / rel), kept)]
    return plan


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _remove_local(cache: Cache, plan: GcPlan, logs: Path, progress: Tick | None) -> None:
    """Run entries first, then manifests, then files: the reverse of a push, so
    what is left never names what is gone."""
    rels = [*plan.runs, *_manifests_first(plan.objects)]
    expect(progress, len(rels))
    for rel in rels:
        cache.discard(rel)
        if progress is not None:
            progress(1)
    for rel in list(cache.stale_temp_files()):
        cache.discard(rel)
    for name in plan.logs:
        unlink_beneath(logs, name)


def _manifests_first(objects: Iterable[tuple[str, int]]) -> list[str]:
    rels = [rel for rel, _ in objects]
    return sorted(rels, key=lambda rel: not rel.endswith(DIR_SUFFIX))


# -- a remote --------------------------------------------------------------------------

def _plan_remote(remote: Remote, kept: set[str], keeping: str) -> GcPlan:
    plan = GcPlan(f"remote {remote.name!r} ({remote.url})", keeping)
    for rel, size in sorted(remote.sizes("files").items()):
        if not names_an_object(rel):
            continue  # not an object gitpipe wrote (the folder may be anyone's): left alone
        if digest_of_relpath(rel) in kept:
            plan.kept += 1
        else:
            plan.objects.append((rel, size))
    _plan_packs(plan, read_packs(remote), kept)
    # The main scope's entries and every named scope's (scopes/<name>/runs/…).
    runs = sorted([*remote.sizes("runs"),
                   *(rel for rel in remote.sizes("scopes") if rel.count("/") == 4)])
    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(remote.get_bytes, runs))
    plan.runs = [rel for rel, data in zip(runs, bodies, strict=True)
                 if not _run_kept(data, kept)]
    plan.leftovers = sorted(remote.stale_uploads(PUSHED_FOLDERS, STALE_UPLOAD_SECONDS).items())
    return plan


def _plan_packs(plan: GcPlan, packs: PackSet, kept: set[str]) -> None:
    """A pack goes when none of its objects is kept; one with any kept object
    stays whole (its dead objects with it: no repacking). Only the packs listed
    now are planned: a pack pushed meanwhile has an index gc never read, and
    names only objects in its own pack, so nothing it needs is removed. A pack
    without an index (a push between its two uploads) is left alone."""
    for index, digests in sorted(packs.indexes.items()):
        live = sum(1 for digest in digests if digest in kept)
        if live:
            plan.kept += live
            continue
        plan.packs += [(index, packs.sizes[index]), (pack_key(index), packs.sizes[pack_key(index)])]
        plan.packed += [(digest, packs.objects[digest].length) for digest in digests
                        if packs.objects[digest].pack == pack_key(index)]


def _remove_remote(remote: Remote, plan: GcPlan, progress: Tick | None) -> None:
    """In batches, in the same order as locally, so progress can be shown; a
    pack's index goes before the pack, so no index names a missing pack."""
    manifests_then_files = _manifests_first(plan.objects)
    manifests = [rel for rel in manifests_then_files if rel.endswith(DIR_SUFFIX)]
    packs = sorted((rel for rel, _ in plan.packs), key=lambda rel: not rel.endswith(".idx"))
    rels = [*plan.runs, *manifests, *packs, *manifests_then_files[len(manifests):],
            *(rel for rel, _ in plan.leftovers)]
    expect(progress, len(rels))
    for start in range(0, len(rels), DELETE_BATCH):
        batch = rels[start:start + DELETE_BATCH]
        remote.delete(batch)
        if progress is not None:
            progress(len(batch))
