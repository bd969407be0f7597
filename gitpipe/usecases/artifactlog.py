"""`gitpipe log PATH`: an artifact's history from git alone. Every commit whose
`gitpipe.lock` changed the artifact's recorded digest (or the task recorded
as producing it), newest first, with what the lock recorded for that version:
the task, its command, param values and dep digests, and the chain of tasks
upstream of it in the same lock.

Commits whose lock blob equals a parent's are passed over by blob id alone
(git/history.py); each lock blob is parsed once, through the validating
reader (pipeline/lockfile.py, entry by entry: pipeline/lockentries.py) and
the path check (trust/checks.py). A lock that fails either is a note naming
the commit, never a traceback. Nothing is checked out or written; a file
inside a directory out is followed through the directory's manifest when the
local cache holds it.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from gitpipe.core.errors import BadInputError, GitpipeError, RecordError, did_you_mean
from gitpipe.core.jsondoc import header, plain
from gitpipe.core.yamlio import parse_plain
from gitpipe.git import history
from gitpipe.git.blobtext import bounded_blob
from gitpipe.git.history import CommitInfo
from gitpipe.hashing.digests import DIR_SUFFIX
from gitpipe.pipeline.lockentries import EntryParser
from gitpipe.pipeline.lockfile import LOCK_FILE, LockedPath, LockEntry
from gitpipe.pipeline.model import SPEC_FILE
from gitpipe.trust.checks import digest_problem, shown_path_problem
from gitpipe.trust.plaintext import shell_word

if TYPE_CHECKING:
    from gitpipe.project.root import Project

# How deep the upstream chain of a version goes; a lock is any size, and
# each task is expanded once per version, so the chain stays small.
UPSTREAM_DEPTH = 12


@dataclass(frozen=True)
class Upstream:
    """A dep that another task's out provides, as the same lock records it."""

    dep: str  # the path the consumer depends on
    task: str
    out: str  # that task's out: the dep itself, or the directory holding it
    digest: str
    upstream: tuple[Upstream, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"dep": self.dep, "task": self.task, "out": self.out, "hash": self.digest,
                "upstream": [u.to_json() for u in self.upstream]}


@dataclass(frozen=True)
class ArtifactVersion:
    """One version of the artifact: the commit that recorded it and what made it.
    `digest` None: from this commit on, no lock entry records the artifact."""

    commit: CommitInfo
    digest: str | None
    size: int | None = None
    task: str | None = None
    out: str | None = None  # the out recorded: the path, or the directory holding it
    entry: LockEntry | None = None
    upstream: tuple[Upstream, ...] = ()

    @property
    def stage(self) -> str | None:
        return None if self.task is None else self.task.partition("@")[0]

    @property
    def key(self) -> str | None:
        """The partition or foreach item of the task, if it has one."""
        return None if self.task is None else self.task.partition("@")[2] or None

    def to_json(self) -> dict[str, Any]:
        entry = self.entry
        return {"commit": self.commit.id, "author": self.commit.author,
                "email": self.commit.email, "date": self.commit.date,
                "subject": self.commit.subject, "hash": self.digest, "size": self.size,
                "task": self.task, "stage": self.stage, "partition": self.key,
                "out": self.out, "cmd": entry.cmd if entry else None,
                "params": plain(entry.params) if entry else {},
                "deps": [d.to_dict() for d in entry.deps] if entry else [],
                "python": [m.to_dict() for m in entry.python] if entry else [],
                "upstream": [u.to_json() for u in self.upstream]}


@dataclass
class ArtifactLog:
    """The versions of `path` reachable from `rev`, newest first, and notes on
    what could not be read."""

    path: str
    rev: str
    versions: list[ArtifactVersion] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {**header("log"), "ok": True, "path": self.path, "rev": self.rev,
                "versions": [v.to_json() for v in self.versions], "notes": list(self.notes)}


class _Found(NamedTuple):
    """Where a lock records the artifact: the task, its out, and the artifact's
    own digest and size (a file inside a directory out: from the manifest)."""

    task: str
    out: LockedPath
    digest: str | None
    size: int | None


# What is compared from commit to commit: the artifact's digest and the task
# recorded as producing it (a renamed stage is a new version), None where no
# lock entry records it, UNREADABLE where the lock cannot be read.
_Key = tuple[str | None, str] | str | None
UNREADABLE = "unreadable"


class _Lock:
    """One parsed, checked gitpipe.lock, its outs by path, and the stages the
    commit's gitpipe.yaml declares (None when it cannot be read)."""

    def __init__(self, entries: dict[str, LockEntry], declared: set[str] | None = None) -> None:
        self.entries = entries
        self.declared = declared
        self.outs: dict[str, list[tuple[str, LockedPath]]] = {}
        for task in sorted(entries):
            for out in entries[task].outs:
                self.outs.setdefault(out.path, []).append((task, out))

    def producer(self, path: str) -> tuple[str, LockedPath] | None:
        """The task whose out is `path` or a directory holding it. A lock keeps
        the entry of a stage renamed or removed until it is cleaned: of several
        tasks recording one out, the one whose stage the spec declares."""
        while path:
            if path in self.outs:
                found = self.outs[path]
                live = [hit for hit in found if self.declared is None
                        or hit[0].partition("@")[0] in self.declared]
                return (live or found)[0]
            path = posixpath.dirname(path)
        return None


def artifact_log(project: Project, path: str, rev: str | None = None,
                 limit: int | None = None) -> ArtifactLog:
    """The history of the out (or file inside a directory out) `path`, from
    `rev` (default HEAD) back, newest first, at most `limit` versions."""
    target = artifact_path(project, path)
    git = project.git
    start = history.start_commit(git, rev or "HEAD")
    walk = _Walk(project, target)
    log = ArtifactLog(target, rev or "HEAD", notes=walk.notes)
    for change in history.changes(git, LOCK_FILE, start, beside=(SPEC_FILE,)):
        version = walk.version(change)
        if version is not None:
            log.versions.append(version)
            if limit is not None and len(log.versions) >= limit:
                break
    if not log.versions:
        _never_recorded(project, target, walk.lock_at(history.commit_info(start),
                                                      _blobs(git, start)), rev)
        log.notes.append(f"{target!r} is an out, but no commit's {LOCK_FILE} records it "
                         f"yet: run 'gitpipe repro', then commit {LOCK_FILE}")
    return log


def artifact_path(project: Project, text: str) -> str:
    """`text` as a project-relative path: relative to the project's root, or
    absolute inside it."""
    rel = os.path.relpath(text, project.root) if os.path.isabs(text) else text
    path = posixpath.normpath(rel.replace(os.sep, "/")) if rel else rel
    if shown_path_problem(path) is not None:
        raise BadInputError(f"{text!r} is not a path inside the project",
                            hint="give an out's path relative to the project's root, "
                            "as gitpipe.yaml names it")
    return path


def _blobs(git: Any, commit: Any) -> tuple[str | None, ...]:
    """The blob ids of the lock and the spec at `commit`."""
    found: list[str | None] = []
    for name in (LOCK_FILE, SPEC_FILE):
        try:
            found.append(str(commit.tree[git.git_path(name)].id))
        except KeyError:
            found.append(None)
    return tuple(found)


class _Walk:
    """The artifact's digest and producer at each lock blob, each parsed once."""

    def __init__(self, project: Project, target: str) -> None:
        self.project = project
        self.target = target
        self.locks: dict[tuple[str | None, ...], _Lock | str] = {}
        self.entries: dict[str | None, dict[str, LockEntry] | str] = {}
        self.parser = EntryParser()  # each version of an entry parsed once
        self.passed: dict[int, LockEntry] = {}  # and checked once
        self.specs: dict[str | None, set[str] | None] = {None: None}
        self.notes: list[str] = []
        # The target's digest and size in each version of the directory holding it.
        self._in_dirs: dict[str, tuple[str, int | None] | None] = {}

    def version(self, change: history.FileChange) -> ArtifactVersion | None:
        """The version `change` records, or None when the artifact is as in a
        parent (or the commit's lock is unreadable: a note says so)."""
        lock = self.lock_at(change.commit, change.blobs)
        if lock is None:
            return None
        found = self.find(lock, change.commit)
        key = (found.digest, found.task) if found else None
        parents = [self._key(blobs, change.commit) for blobs in change.parents]
        if key is None and (not parents or None in parents):
            return None
        if any(key == other for other in parents):
            return None
        if found is None:
            return ArtifactVersion(change.commit, None)
        entry = lock.entries[found.task]
        return ArtifactVersion(change.commit, found.digest, found.size, found.task,
                               found.out.path, entry, _upstream(lock, entry, set()))

    def lock_at(self, commit: CommitInfo, blobs: tuple[str | None, ...]) -> _Lock | None:
        """The commit's lock; None (and a note, once) when it cannot be read."""
        lock = self._parse(blobs)
        if isinstance(lock, str):
            note = f"commit {commit.id[:12]}: {lock}; skipped"
            if note not in self.notes:
                self.notes.append(note)
            return None
        return lock

    def _key(self, blobs: tuple[str | None, ...], child: CommitInfo) -> _Key:
        lock = self._parse(blobs)
        if isinstance(lock, str):
            return UNREADABLE  # equal to no version: the child is listed
        found = self.find(lock, child)
        return (found.digest, found.task) if found else None

    def _parse(self, blobs: tuple[str | None, ...]) -> _Lock | str:
        """The lock of these (lock, spec) blobs, or why it cannot be read."""
        if blobs not in self.locks:
            lock_blob, spec_blob = blobs
            entries = self._entries(lock_blob)
            self.locks[blobs] = entries if isinstance(entries, str) else \
                _Lock(entries, self._declared(spec_blob))
        return self.locks[blobs]

    def _entries(self, blob: str | None) -> dict[str, LockEntry] | str:
        """A lock blob's entries once read and checked, or why they cannot be."""
        if blob not in self.entries:
            try:
                self.entries[blob] = _checked(self.parser.parse(self._text(blob, LOCK_FILE)),
                                              self.passed) if blob else {}
            except GitpipeError as exc:
                self.entries[blob] = exc.message
        return self.entries[blob]

    def _declared(self, blob: str | None) -> set[str] | None:
        """The stage names of a gitpipe.yaml (its `stages` keys), None when it
        cannot be read: only a choice between lock entries hangs on it."""
        if blob not in self.specs:
            try:
                data = parse_plain(self._text(blob, SPEC_FILE), SPEC_FILE) if blob else None
            except GitpipeError:
                data = None
            stages = data.get("stages") if isinstance(data, dict) else None
            self.specs[blob] = {str(name) for name in stages} if isinstance(stages, dict) \
                else None
        return self.specs[blob]

    def _text(self, blob: str, name: str) -> str:
        # read no further than its size allows: a blob is the history's (git/blobtext.py)
        data = bounded_blob(self.project.git.repo, blob, f"{name} (blob {blob[:12]})")
        return data.decode("utf-8", errors="replace")

    def find(self, lock: _Lock, commit: CommitInfo) -> _Found | None:
        hit = lock.producer(self.target)
        if hit is None:
            return None
        task, out = hit
        if out.path == self.target:
            return _Found(task, out, out.digest, out.size)
        if not out.digest.endswith(".dir"):
            return None
        return self._inside(task, out, commit)

    def _inside(self, task: str, out: LockedPath, commit: CommitInfo) -> _Found | None:
        """The file's own digest from the directory's manifest; the directory's
        digest (and a note, once per directory version) when the cache has none."""
        if out.digest not in self._in_dirs:
            self._in_dirs[out.digest] = self._in_manifest(out, commit)
        found = self._in_dirs[out.digest]
        return None if found is None else _Found(task, out, found[0], found[1])

    def _in_manifest(self, out: LockedPath, commit: CommitInfo) -> tuple[str, int | None] | None:
        rel = self.target[len(out.path) + 1:]
        try:
            manifest = self.project.cache.manifest(out.digest)
        except GitpipeError:  # not in the cache, or not a valid manifest
            self.notes.append(f"commit {commit.id[:12]}: the cache has no manifest of "
                              f"{out.path!r} ({out.digest}): listed by the directory's "
                              "digest ('gitpipe fetch' brings it)")
            return out.digest, None
        for item in manifest:
            if item.relpath == rel:
                return item.digest, item.size
        return None


def _checked(entries: dict[str, LockEntry], passed: dict[int, LockEntry]) -> dict[str, LockEntry]:
    """The entries, once every path they record passes trust's check and every
    size is a count (RecordError naming the stage if not). `passed` holds the
    entries checked before, by identity: an entry the parser remembered from
    another version is not checked again."""
    for task, entry in entries.items():
        if passed.get(id(entry)) is entry:
            continue
        for kind, rows in (("dep", entry.deps), ("out", entry.outs)):
            for row in rows:
                problem = shown_path_problem(row.path)
                if problem is None and not _count(row.size):
                    problem = f"has a size that is not a count: {row.size!r}"
                if problem is None and kind == "out":
                    problem = digest_problem(row.digest)
                if problem is not None:
                    raise RecordError(f"{LOCK_FILE}: stage {task!r}: {kind} {row.path!r} "
                                      f"{problem}")
        passed[id(entry)] = entry
    return entries


def _count(size: object) -> bool:
    return size is None or (isinstance(size, int) and not isinstance(size, bool) and size >= 0)


def _upstream(lock: _Lock, entry: LockEntry, expanded: set[str],
              depth: int = 0) -> tuple[Upstream, ...]:
    """The deps of `entry` another task's out provides, each with its own
    chain; a task's chain is given once (`expanded`), at most UPSTREAM_DEPTH deep."""
    chain = []
    for dep in entry.deps:
        hit = lock.producer(dep.path)
        if hit is None:
            continue
        task, out = hit
        below: tuple[Upstream, ...] = ()
        if task not in expanded and depth + 1 < UPSTREAM_DEPTH:
            expanded.add(task)
            below = _upstream(lock, lock.entries[task], expanded, depth + 1)
        chain.append(Upstream(dep.path, task, out.path, out.digest, below))
    return tuple(chain)


def _never_recorded(project: Project, target: str, lock: _Lock | None, rev: str | None) -> None:
    """BadInputError unless `target` is (inside) an out the spec declares or the
    start commit's lock records: it was simply never committed."""
    outs = set(lock.outs) if lock is not None else set()
    hit = lock.producer(target) if lock is not None else None
    if hit is not None and hit[1].path != target and not hit[1].digest.endswith(DIR_SUFFIX):
        raise BadInputError(f"{target!r} is not an out: {hit[1].path!r} is a file out "
                            f"(of {hit[0]!r}), not a directory",
                            hint=f"gitpipe log {hit[1].path}")
    if rev is None:
        with contextlib.suppress(GitpipeError):  # a broken spec: the lock's outs answer
            outs |= {out.path for node in project.graph
                     for out in project.graph.nodes[node]["task"].outs}
    if any(target == out or target.startswith(out + "/") for out in outs):
        return
    _refuse_a_stage(target, lock)
    raise BadInputError(f"{target!r} is not an out of any stage"
                        + (f" at {rev!r}" if rev else ""),
                        hint=did_you_mean(target, outs)
                        or "'gitpipe status' lists the stages; gitpipe.yaml names their outs")


def _refuse_a_stage(target: str, lock: _Lock | None) -> None:
    """A stage's name (`log train`: "the stage's log" to a DVC user) is said to be one."""
    outs = sorted({out.path for task, entry in (lock.entries if lock else {}).items()
                   if task.partition("@")[0] == target for out in entry.outs})
    if outs:
        which = "its out" if len(outs) == 1 else f"one of its {len(outs)} outs"
        raise BadInputError(f"{target!r} is a stage, not an out: 'gitpipe log' follows an "
                            "out's versions", hint=f"gitpipe log {shell_word(outs[0])} "
                            f"({which}); 'gitpipe runs {target}' lists its runs")


__all__ = ["ArtifactLog", "ArtifactVersion", "Upstream", "artifact_log", "artifact_path"]
