"""Staleness at any commit, from git objects alone (what differs between two
commits' locks is usecases/lockdiff.py's).

At a revision, the spec, params, lock and `.gitpipe/config.yaml` (for
executor settings) are read from the commit's tree. Every dep the commit
holds is read from git objects alone, as `git checkout` would write it
(through the eol conversion and filters of the `.gitattributes` the
checkout leaves, git/attributes.py): a file
by its blob id or xxh3, whichever its lock entry used; a directory by the
manifest of the commit's files under it, plus the untracked files the work
tree has there (a checkout keeps those), less what the commit's
`.gitpipeignore` files leave out; a symlink by what it leads to through the
commit's links (a file's bytes, a directory's manifest). A dep another stage writes takes the
digest that stage's lock entry records; one git tracks now but the commit
does not is missing (a checkout removes it); other data (untracked by git)
is hashed in the work tree, the only place it exists. Outs cannot be
observed at a commit, so they are taken to be what the lock says.
"""

from __future__ import annotations

import os
import posixpath
import stat as stat_module
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from gitpipe.core.errors import BadInputError
from gitpipe.core.yamlio import parse_yaml
from gitpipe.git.blobtext import bounded_blob
from gitpipe.git.revision import EXECUTABLE_MODE, Revision
from gitpipe.hashing.digests import GIT, XXH3, file_digest, listing_digest
from gitpipe.hashing.ignore import IGNORE_FILE, MAX_BYTES, Ignore, parse_rules
from gitpipe.hashing.statsig import ListedFile, walk_files
from gitpipe.pipeline import graph as graph_module
from gitpipe.pipeline import lockfile, registry
from gitpipe.pipeline.config import CONFIG_FILE, raw_with_committed
from gitpipe.pipeline.lockfile import LockEntry
from gitpipe.pipeline.model import SPEC_FILE, Stage
from gitpipe.pipeline.params import ParamsReader
from gitpipe.pipeline.parse import items_counted, parse_pipeline
from gitpipe.project.root import Project
from gitpipe.project.staleness import judge, observe
from gitpipe.project.status import StaleWriters, StatusReport
from gitpipe.storage.workspace import PathInfo, Workspace

if TYPE_CHECKING:
    from gitpipe.hashing.ignore import Rule, RuleSet

CONFIG_PATH = f".gitpipe/{CONFIG_FILE}"

# As many links as Linux follows for one path before it gives up (ELOOP).
MAX_LINK_HOPS = 40


class RevisionWorkspace:
    """Answers `info(path)` as of a commit (see the module docstring for the rules)."""

    def __init__(self, revision: Revision, entries: dict[str, LockEntry],
                 produced: dict[str, str], fallback: Workspace) -> None:
        self.revision = revision
        self.entries = entries
        self.produced = produced  # out path -> task name writing it
        self.fallback = fallback
        # Raises for a work-tree path a symlink leads out of the project, before
        # it is read (status_at sets it for each task: its refusal names it).
        self.refuse: Callable[[str], None] = lambda path: None

    def _work_tree_info(self, path: str, algo: str | None) -> PathInfo:
        self.refuse(path)
        return self.fallback.info(path, algo)

    def info(self, path: str, algo: str | None = None) -> PathInfo:
        producer = self.produced.get(path)
        if producer is not None:
            locked = self.entries.get(producer)
            out = locked.out(path) if locked else None
            return PathInfo(path, out.digest if out else None, out.size or 0 if out else 0,
                            bool(out and out.digest.endswith(".dir")))
        kind = self.revision.kind(path)
        if kind == "file":
            return self._file(path, algo)
        if kind == "link":
            return self._link(path)
        if kind == "dir":
            return self._directory(path)
        git = self.fallback.git
        if git is not None and os.path.isdir(self._full(path)) and git.tracks_under(path):
            return self._directory(path)  # what a checkout leaves: the untracked files
        if git is not None and git.is_tracked(path):
            return PathInfo(path, None)  # a checkout of the commit removes it
        return self._work_tree_info(path, algo)

    def _full(self, path: str) -> str:
        return os.path.join(self.fallback.root, path)

    def _file(self, path: str, algo: str | None) -> PathInfo:
        executable = self.revision.file_mode(path) == EXECUTABLE_MODE
        if algo == XXH3:
            value, size = self.revision.checkout_digest(path)
            return PathInfo(path, f"{XXH3}:{value}", size, executable=executable)
        blob_id = self.revision.checkout_blob_id(path)
        return PathInfo(path, f"{GIT}:{blob_id}", executable=executable)

    def _link(self, path: str) -> PathInfo:
        """A symlink is named as the work tree names it: a file by its target's
        bytes, a directory by the manifest of what it leads to; both the
        commit's where the commit's links lead inside the project, else
        whatever the work tree has there."""
        resolved = self._resolve(path)
        if resolved is None:
            return self._work_tree_info(path, XXH3)
        if self.revision.kind(resolved) == "dir":
            return self._directory(resolved, at=path)._replace(path=path)
        return self._file(resolved, XXH3)._replace(path=path)

    def _resolve(self, path: str) -> str | None:
        """Where the commit's symlink at `path` leads, through further links of
        the commit: a file or directory it holds; None for a link out of the
        project or the commit, or a loop."""
        current = path
        for _ in range(MAX_LINK_HOPS):
            target = self.revision.link_target(current)
            if posixpath.isabs(target):
                return None
            current = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
            if current == ".." or current.startswith("../"):
                return None
            kind = self.revision.kind(current)
            if kind != "link":
                return current if kind in ("file", "dir") else None
        return None

    def _directory(self, path: str, at: str | None = None) -> PathInfo:
        """The manifest a checkout of the commit would leave at `path`: its
        files, and the work tree's untracked ones (a checkout keeps them),
        less those the commit's `.gitpipeignore` files leave out. `at` is
        where the dep names it (a symlink to `path`): the rules above it apply."""
        rules = RevisionIgnore(self, path, at or path)
        rows: list[tuple[ListedFile, str]] = []
        committed = set()
        for rel, mode in self.revision.files_under(path):
            committed.add(rel)
            if rules.ignored(rel):
                continue
            full = f"{path}/{rel}"
            if stat_module.S_ISLNK(mode):
                rows.append(((rel, 0, 0, 0, mode, 0), "link:" + self.revision.link_target(full)))
            else:
                value, size = self.revision.checkout_digest(full)
                rows.append(((rel, 0, 0, size, mode, 0), f"{XXH3}:{value}"))
        rows += [row for row in self._untracked_rows(path, committed)
                 if not rules.ignored(row[0][0])]
        if not rows and self.revision.kind(path) is None:
            return PathInfo(path, None)
        rows.sort()
        digest, size = listing_digest([row[0] for row in rows], [row[1] for row in rows])
        return PathInfo(path, digest, size, True, len(rows))

    def _untracked_rows(self, path: str, committed: set[str]) -> list[tuple[ListedFile, str]]:
        base = self._full(path)
        if not os.path.isdir(base):
            return []
        self.refuse(path)
        git = self.fallback.git
        rows = []
        for item in walk_files(base):
            rel = item[0]
            if rel in committed or (git is not None and git.is_tracked(f"{path}/{rel}")):
                continue  # the commit's version, or removed by the checkout
            full = os.path.join(base, rel)
            digest = ("link:" + os.readlink(full) if stat_module.S_ISLNK(item[4])
                      else file_digest(full))
            rows.append((item, digest))
        return rows


class RevisionIgnore:
    """The `.gitpipeignore` rules a checkout of the commit would put in force
    in a directory dep (hashing/ignore.py): the defaults, the commit's files from the
    project root down to the dep, and those inside it, where a commit without
    one keeps the work tree's untracked file (a checkout leaves it there)."""

    def __init__(self, space: RevisionWorkspace, path: str, at: str) -> None:
        self.space = space
        self.path = path
        top = Ignore(tuple(self._outer_sets(at)))
        # None for a directory the rules leave out: nothing below it counts
        self.folders: dict[str, Ignore | None] = {"": self._entering(top, "")}

    def _outer_sets(self, at: str) -> list[RuleSet]:
        """As Ignore.above: each folder's rules, matched against the path from it."""
        parts = at.split("/")
        sets: list[RuleSet] = []
        for depth in range(len(parts)):
            rules = self._commit_rules("/".join(parts[:depth]))
            if rules:
                sets.append((rules, "/".join(parts[depth:]) + "/", 0))
        return sets

    def _commit_rules(self, folder: str) -> tuple[Rule, ...] | None:
        """The rules of the commit's `.gitpipeignore` in `folder`; None where
        the commit holds no such file."""
        name = f"{folder}/{IGNORE_FILE}" if folder else IGNORE_FILE
        if self.space.revision.kind(name) != "file":
            return None  # the work tree reads only a regular file as rules
        blob_id = self.space.revision.blob_id(name)
        assert blob_id is not None
        source = f"{name}@{self.space.revision.rev}"
        # The work tree's rules are read to the same bound (hashing/ignore.py).
        data = bounded_blob(self.space.revision.git.repo, blob_id, source, MAX_BYTES)
        return parse_rules(data.decode("utf-8", "surrogateescape"), source)

    def _entering(self, outer: Ignore, rel: str) -> Ignore:
        """The rules for the entries of the dep's folder `rel`: its own file joins."""
        folder = f"{self.path}/{rel}" if rel else self.path
        rules = self._commit_rules(folder)
        if rules:
            return Ignore((*outer.sets, (rules, "", len(rel) + 1 if rel else 0)))
        if rules is not None:
            return outer  # an empty file of the commit's
        git = self.space.fallback.git
        if git is not None and git.is_tracked(f"{folder}/{IGNORE_FILE}"):
            return outer  # the checkout removes the work tree's
        return outer.entering(self.space._full(folder), rel, [IGNORE_FILE])

    def _folder(self, rel: str) -> Ignore | None:
        if rel not in self.folders:
            parent, _, name = rel.rpartition("/")
            outer = self._folder(parent)
            self.folders[rel] = (None if outer is None or outer.ignored(rel, name, True)
                                 else self._entering(outer, rel))
        return self.folders[rel]

    def ignored(self, rel: str) -> bool:
        """Whether the dep's file (or symlink) at `rel` is left out."""
        parent, _, name = rel.rpartition("/")
        rules = self._folder(parent)
        return rules is None or rules.ignored(rel, name, False)


@dataclass(frozen=True)
class AtRevision:
    """A project's spec, graph, params and lock as a commit has them."""

    revision: Revision
    graph: Any
    params: ParamsReader
    entries: dict[str, LockEntry]


def load_at(project: Project, rev: str) -> AtRevision:
    revision = Revision.resolve(project.git, rev)
    graph, params, entries = load_snapshot(project, revision.read_text, f"at {rev!r}", f"@{rev}")
    return AtRevision(revision, graph, params, entries)


def load_snapshot(project: Project, read_text: Callable[[str], str | None], where: str,
                  suffix: str) -> tuple[Any, ParamsReader, dict[str, LockEntry]]:
    """The graph, params and lock entries of the project files `read_text` gives
    (a commit's tree, the index being committed); `suffix` marks file names."""
    spec_text = read_text(SPEC_FILE)
    if spec_text is None:
        raise BadInputError(f"{SPEC_FILE} does not exist {where}")
    src = f"{SPEC_FILE}{suffix}"
    pipeline = parse_pipeline(parse_yaml(spec_text, src, items_counted(src)), src, read_text)
    graph = graph_module.build(pipeline, project.today, _runtime_reader(project, read_text, suffix))
    lock_text = read_text(lockfile.LOCK_FILE) or ""
    return graph, ParamsReader(read_text), lockfile.parse(lock_text)


def _runtime_reader(project: Project, read_text: Callable[[str], str | None],
                    suffix: str) -> Callable[[Stage], tuple[tuple[str, str], ...]]:
    """Project.runtime_of under the snapshot's config (_config_of), read once,
    and only when the registry asks for it (a stage whose executor takes
    settings from it)."""

    @lru_cache(maxsize=1)
    def config() -> dict[str, Any]:
        return _config_of(project, read_text, suffix)

    def runtime_of(stage: Stage) -> tuple[tuple[str, str], ...]:
        return registry.runtime_inputs(stage, config)
    return runtime_of


def _config_of(project: Project, read_text: Callable[[str], str | None],
               suffix: str) -> dict[str, Any]:
    """The snapshot's own `.gitpipe/config.yaml` under the work tree's
    config.local.yaml; the work tree's config where git tracks no config.yaml
    (a checkout keeps an untracked one)."""
    text = read_text(CONFIG_PATH)
    if text is None and not project.git.is_tracked(CONFIG_PATH):
        return project.config.raw
    return raw_with_committed(text or "", f"{CONFIG_PATH}{suffix}", project.gitpipe_dir)


def status_at(project: Project, rev: str, targets: Iterable[str] = ()) -> StatusReport:
    """What `gitpipe status` would say at `rev`, without checking it out; runs nothing."""
    at = load_at(project, rev)
    graph = at.graph
    chosen = graph_module.select(graph, targets) if targets else None
    produced = {out.path: graph.nodes[n]["task"].name for n in graph
                for out in graph.nodes[n]["task"].outs}
    space = RevisionWorkspace(at.revision, at.entries, produced, project.workspace)
    stale: set[str] = set()
    verdicts = []
    writers = StaleWriters(graph)
    for node in graph_module.plan(graph, chosen):
        task = graph.nodes[node]["task"]
        entry = at.entries.get(task.name)
        space.refuse = partial(_refuse_link_out, project, task.name)
        seen = observe(task, space, at.params, entry)
        upstream = [str(p) for p in graph.predecessors(node) if p in stale]
        verdict = judge(task, entry, seen, upstream, awaited=writers.among(upstream))
        if verdict.needs_run:
            stale.add(task.name)
        verdicts.append(verdict._replace(observation=None))
    project.state.flush()
    return StatusReport(tuple(verdicts))


def _refuse_link_out(project: Project, task: str, path: str) -> None:
    """Refuse `path`, read from the work tree for `task`, where a symlink
    leads it out of the project or into `.git`/`.gitpipe`, as status refuses it."""
    project.check_paths_inside({task: [path]})
