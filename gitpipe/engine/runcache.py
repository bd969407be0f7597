"""The run-cache in use: fingerprint → outs, local first, then (with --pull) the remote.

A result computed once, anywhere, is restored instead of recomputed; from a
remote, only when a key the remote's `trust:` names signed it
(storage/runshare.py, trust/signedruns.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gitpipe.core.errors import BadInputError, RecordError
from gitpipe.hashing.digests import DIR_SUFFIX
from gitpipe.pipeline.lockfile import LOCK_FILE, LockEntry
from gitpipe.pipeline.model import Task
from gitpipe.storage.cache import LOCAL, Cache, CachedOut, parse_run, run_relpath
from gitpipe.storage.workspace import PathInfo
from gitpipe.trust import checks as trust
from gitpipe.trust.signedruns import Sharing

if TYPE_CHECKING:  # the remote code loads only with --pull or --push (its fsspec is heavy)
    from gitpipe.engine.reports import ReproOptions
    from gitpipe.project.root import Project
    from gitpipe.storage.remote import Remote

NO_TRUST_HINT = ("remote {name!r} lists no 'trust:' keys, so no run-cache entry on it is "
                 "restored: name the keys that sign them, or 'trust: any', under "
                 "remotes.{name}.trust in .gitpipe/config.yaml (docs/explanation/security.md)")


class RunCache:
    """Looks up, restores and records runs; pulls and pushes when asked to."""

    def __init__(self, cache: Cache, remote: Remote | None = None, pull: bool = False,
                 push_after: bool = False, sharing: Sharing | None = None) -> None:
        self.cache = cache
        self.remote = remote
        self.pull = pull and remote is not None
        self.push_after = push_after and remote is not None
        self.sharing = sharing or Sharing()
        self._hinted = False

    def lookup(self, task: Task, fingerprint: str,
               locked: list[CachedOut] | None = None) -> list[CachedOut] | None:
        """The outs a run with this fingerprint produced, if all their objects are at hand:
        from the local run-cache, else from `locked` (the outs of the task's lock
        entry, when it has this fingerprint: the lock is as trusted as the code
        beside it, and objects are verified by their names), else (with --pull)
        from the remote's run-cache.

        A task with no outs has nothing to restore, so nothing stands in for
        its run: not a run-cache entry (`record` makes none; an older
        gitpipe's is not looked at), nor its lock entry, whose fingerprint
        alone (a hand-merged or forged lock) would vouch for it. It runs
        whenever it is stale.

        A `persist: true` task's outs are inputs of its own run, which the
        fingerprint does not name: a run entry with its fingerprint was made
        from other outs (a log appended to since), so only its lock entry,
        the state it last recorded, stands for it.

        RecordError when the entry (or a manifest it names) is malformed or names
        other paths than the task's declared outs: the caller warns and runs."""
        declared = [o.path for o in task.outs]
        if not declared:
            return None
        shared = not task.stage.persist
        outs = self.cache.load_run(task.name, fingerprint, declared) if shared else None
        if outs is not None:
            return self._at_hand(task, fingerprint, outs, LOCAL)
        if locked is not None and _fits(locked, task):
            found = self._at_hand(task, fingerprint, locked, LOCK_FILE)
            if found is not None:
                return found
        if not (self.pull and shared):
            return None
        assert self.remote is not None
        outs = self._from_remote(task, fingerprint)
        if outs is None:
            return None
        return self._at_hand(task, fingerprint, outs, f"remote {self.remote.name!r}")

    def _at_hand(self, task: Task, fingerprint: str, outs: list[CachedOut],
                 source: str) -> list[CachedOut] | None:
        """`outs`, once their objects are in the cache (with --pull, fetched and
        verified first); None when some are on hand nowhere."""
        directories = {o.path for o in task.outs if o.is_dir}
        for out in outs:
            if out.path in directories and not out.digest.endswith(DIR_SUFFIX):
                raise RecordError(f"{source}: run-cache entry "
                                  f"{run_relpath(task.name, fingerprint)}: directory out "
                                  f"{out.path!r} has the file digest {out.digest}; it is ignored")
        if self.pull:
            self._fetch_manifests(outs)
        if self.pull and any(self.cache.missing(o.digest) for o in outs):
            from gitpipe.storage.remote import fetch_objects

            assert self.remote is not None
            self.cache.note_sizes((o.digest, o.size) for o in outs)
            fetch_objects(self.remote, self.cache, [o.digest for o in outs])
        if any(self.cache.missing(o.digest) for o in outs):
            return None
        return outs

    def _from_remote(self, task: Task, fingerprint: str) -> list[CachedOut] | None:
        """The outs of the remote's entry for this fingerprint, if one is trusted.

        The one place a remote entry is admitted: RecordError, naming each
        entry found and why it is not trusted, when none is (the stage runs)."""
        from gitpipe.storage.runshare import receive

        assert self.remote is not None
        rel = run_relpath(task.name, fingerprint)
        notes: list[str] = []
        found = receive(self.remote, self.cache, rel, self.sharing, notes)
        if found is None:
            if notes:
                raise RecordError("; ".join(notes) + self._hint_once())
            return None
        return parse_run(found.key, found.data, [o.path for o in task.outs],
                         f"remote {self.remote.name!r}")

    def _hint_once(self) -> str:
        """The way out of an unconfigured trust list, said once per repro."""
        if self.sharing.trust.configured or self._hinted:
            return ""
        self._hinted = True
        assert self.remote is not None
        return f" ({NO_TRUST_HINT.format(name=self.remote.name)})"

    def _fetch_manifests(self, outs: list[CachedOut]) -> None:
        """Download the manifests the cache lacks and check each, so that a forged
        one is refused naming the remote it came from."""
        from gitpipe.storage.remote import fetch_exactly

        assert self.remote is not None
        absent = [o.digest for o in outs
                  if o.digest.endswith(DIR_SUFFIX) and not self.cache.has(o.digest)]
        fetch_exactly(self.remote, self.cache, absent)
        for digest in absent:
            if self.cache.has(digest):
                self.cache.manifest(digest, f"remote {self.remote.name!r}")

    def restore(self, root: Path, task: Task, outs: list[CachedOut]) -> None:
        """Check the outs out; each path passes trust.out_path first, so none is
        written through a symlink."""
        declared = [o.path for o in task.outs]
        record = f"run-cache entry of {task.name!r}"
        targets = [trust.out_path(root, out.path, declared, record=record, source=LOCAL)
                   for out in outs]
        for target, out in zip(targets, outs, strict=True):
            self.cache.checkout(target, out.digest, out.executable)

    def record(self, root: Path, task: Task, fingerprint: str,
               outs: dict[str, PathInfo]) -> None:
        """Store the outs as objects and the run entry; push both when asked to.

        A task with no outs gets no entry: a restore would bring back nothing,
        and would stand in for a run of a command whose only effect is its
        success (a check, a side effect). Its lock entry is still recorded.
        A `persist: true` task's outs are stored, its run is not (`lookup`)."""
        if not outs:
            return
        for path, info in outs.items():
            assert info.digest is not None
            if info.is_dir:
                self.cache.add_tree(root / path, info.digest)
            else:
                self.cache.add_file(root / path, info.digest)
        if task.stage.persist:
            return
        cached = [CachedOut(p, i.digest, i.size, i.executable)
                  for p, i in outs.items() if i.digest]
        self.cache.save_run(task.name, fingerprint, cached)
        if self.push_after:
            from gitpipe.storage.remote import push
            from gitpipe.storage.runshare import publish

            assert self.remote is not None
            push(self.remote, self.cache, [o.digest for o in cached])
            publish(self.remote, self.cache, [run_relpath(task.name, fingerprint)],
                    self.sharing)


def _fits(outs: list[CachedOut], task: Task) -> bool:
    """Whether a lock entry's outs are exactly the task's declared outs, each
    with an object name of its kind (a file or a directory)."""
    kinds = {o.path: o.is_dir for o in task.outs}
    return sorted(o.path for o in outs) == sorted(kinds) and \
        all(trust.digest_problem(o.digest, kinds[o.path]) is None for o in outs)


class FormerEntries:
    """The lock entries of tasks gitpipe.yaml no longer declares, by the outs
    they record, taken before a repro drops them. The name is no input of a
    fingerprint, so a stage renamed (and nothing else changed) has its former
    entry's fingerprint, and that entry's outs stand for its run as its own
    entry's would (DVC's run-cache, keyed without the name, restores a
    renamed stage too)."""

    def __init__(self, entries: dict[str, LockEntry] | None = None,
                 former: Sequence[str] = ()) -> None:
        # Kept apart from `entries`, which the repro then drops them from.
        self._by_outs: dict[tuple[str, ...], list[tuple[str, LockEntry]]] = {}
        for name in former:
            entry = (entries or {})[name]
            paths = tuple(sorted(out.path for out in entry.outs))
            self._by_outs.setdefault(paths, []).append((name, entry))

    def recording(self, task: Task) -> list[tuple[str, LockEntry]]:
        """(name, entry) of each former task whose entry records exactly
        `task`'s declared out paths: the ones its run could be."""
        if not self._by_outs or not task.outs:
            return []
        return self._by_outs.get(tuple(sorted(out.path for out in task.outs)), [])


def locked_outs(entry: LockEntry | None, fingerprint: str) -> list[CachedOut] | None:
    """The outs a lock entry records, when it was made with `fingerprint`."""
    if entry is None or entry.fingerprint != fingerprint:
        return None
    return [CachedOut(o.path, o.digest, o.size or 0, o.executable) for o in entry.outs]


def repro_sharing(project: Project, options: ReproOptions) -> Sharing:
    """The run-cache's trust and scopes: `--scope` names scopes read besides
    main, and with `--push` the one scope written (main without one)."""
    if options.push and len(options.scopes) > 1:
        raise BadInputError("repro --push writes one run-cache scope: name only one --scope",
                            hint="push to one scope; read more with 'gitpipe fetch --run-cache "
                            "--scope NAME'")
    write = options.scopes[0] if options.push and options.scopes else None
    return project.run_sharing(options.remote, options.scopes, write)
