"""`gitpipe diff`: which tasks' lock entries differ between two commits, or
between a commit and the work tree, in the pipeline's order.

Each change is said in the words `status` uses (`deps: data.csv modified`,
as `dvc diff` says `Modified:`), and beside them with its digests (`deps:
data.csv xxh3:… -> xxh3:…`) for `--show-hash` and `--json`. A param's change
is kept as its Reason, so that grouping items names a key in its name and
never in its values.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, NamedTuple

from gitpipe.core.errors import GitpipeError
from gitpipe.hashing.digests import DIR_SUFFIX
from gitpipe.pipeline import graph as graph_module
from gitpipe.pipeline.lockfile import LockedModule, LockedPath, LockEntry
from gitpipe.project.root import Project
from gitpipe.project.staleness import Kind, Reason, lock_entry_for, observe
from gitpipe.trust.checks import terminal_text
from gitpipe.usecases.revision import load_at


class TaskDiff(NamedTuple):
    """How one task's lock entry differs between two commits, or a commit and
    the work tree."""

    task: str
    changes: tuple[str, ...]  # each change with its digests
    brief: tuple[Reason | str, ...]  # the same changes in status's words, without digests


class LockDiff(NamedTuple):
    """The tasks that differ, in plan order, and every task of the pipeline in
    that order (a stage's partitions are runs by their places in it)."""

    tasks: list[TaskDiff]
    order: list[str]
    key_names: dict[str, str]  # what the spec calls a stage's keys (pipeline/graph.key_names)


def diff(project: Project, rev1: str, rev2: str | None = None) -> LockDiff:
    """Which tasks' fingerprints, params and outs differ between two commits'
    locks; `rev2` None: between `rev1`'s lock and the work tree (worktree_entries).
    The order is the newer side's plan, then the tasks only the older side's
    spec declares, then those only a lock names."""
    before = load_at(project, rev1)
    after = load_at(project, rev2) if rev2 is not None else None
    old = before.entries
    new = after.entries if after is not None else worktree_entries(project)
    order = _names(after.graph if after is not None else project.graph)
    newer = set(order)
    order += [name for name in _names(before.graph) if name not in newer]
    order += sorted(set(old).union(new).difference(order))
    metrics = _metric_lines(project, rev1, rev2)
    found = []
    for name in order:
        changes = _entry_changes(old.get(name), new.get(name), metrics)
        if changes:
            found.append(TaskDiff(name, tuple(full for full, _ in changes),
                                  tuple(brief for _, brief in changes)))
    names = graph_module.key_names(before.graph)
    names.update(graph_module.key_names(after.graph if after is not None else project.graph))
    return LockDiff(found, order, names)


def _names(graph: Any) -> list[str]:
    nodes: list[Hashable] = graph_module.plan(graph)
    return [str(node) for node in nodes]


def worktree_entries(project: Project) -> dict[str, LockEntry]:
    """The lock entry each task of the work tree's spec would get if it were
    recorded now (as `gitpipe commit` records it): its cmd, params and
    fingerprint as the work tree has them, and the digests of the outs the
    work tree holds (hashed stat first, as `status` hashes them). A task the
    work tree's gitpipe.lock records but its spec no longer declares keeps
    its lock entry."""
    entries = dict(project.lock_entries)
    params = project.params_reader()
    graph = project.graph
    for node in graph_module.plan(graph):
        task = graph.nodes[node]["task"]
        seen = observe(task, project.workspace, params, entries.get(task.name))
        entries[task.name] = lock_entry_for(task, seen, seen.outs)
    project.state.flush()
    return entries


def _metric_lines(project: Project, rev1: str,
                  rev2: str | None) -> dict[str, list[tuple[str, str]]]:
    """{metrics file: its changed values as lines, (as written, as a table
    shows them: `metrics diff`'s floats)}: a changed metric is named by value
    beside its digest. Values that cannot be read leave the digest alone."""
    from gitpipe.usecases.values import briefly, metric_changes

    lines: dict[str, list[tuple[str, str]]] = {}
    try:
        for change in metric_changes(project, rev1, rev2):
            lines.setdefault(change.file, []).append(
                (f"metrics: {change}", f"metrics: {briefly(change)}"))
    except GitpipeError:
        return {}
    return lines


def _entry_changes(old: LockEntry | None, new: LockEntry | None,
                   metrics: dict[str, list[tuple[str, str]]] | None = None,
                   ) -> list[tuple[str, Reason | str]]:
    """(the change with its digests, without them) for each change. A changed
    fingerprint is a line of its own only where no other line explains it
    (its env, wdir or executor settings moved)."""
    if old is None or new is None:
        return [("added", "added")] if old is None else [("removed", "removed")]
    changes: list[tuple[str, Reason | str]] = []
    if old.cmd != new.cmd:
        cmd = Reason(Kind.CMD, old=old.cmd, new=new.cmd)
        changes.append((str(cmd), cmd))
    from gitpipe.pipeline.params import changes_between

    for key, was, now in changes_between(old.params, new.params):
        reason = Reason(Kind.PARAM, key, was, now)
        changes.append((str(reason), reason))
    explained = bool(changes)
    for kind, was_rows, now_rows in (("deps", old.deps, new.deps),
                                     ("python", old.python, new.python),
                                     ("outs", old.outs, new.outs)):
        for path, full, brief in _digest_changes(kind, was_rows, now_rows):
            changes.append((full, brief))
            # An out's digest is not an input of the fingerprint; its path is.
            explained = explained or kind != "outs" or not brief.endswith(" modified")
            if kind == "outs":
                changes.extend((metrics or {}).get(path, []))
    if old.fingerprint != new.fingerprint and not explained:
        changes.insert(0, (f"fingerprint {old.fingerprint} -> {new.fingerprint}",
                           "fingerprint changed"))
    # params and metrics are git's text (a Reason's words are made printable
    # where they are printed, cli/output.diff_lines)
    return [(terminal_text(full), brief if isinstance(brief, Reason) else terminal_text(brief))
            for full, brief in changes]


def _digest_changes(kind: str, old: Sequence[LockedPath | LockedModule],
                    new: Sequence[LockedPath | LockedModule]) -> list[tuple[str, str, str]]:
    """(path, `KIND: PATH OLD -> NEW`, `KIND: PATH modified`) for each path
    whose digest differs (`none` where one side has no such path, said
    `added` or `removed` without digests): what moved a fingerprint, beside
    cmd and params."""
    was = {row.path: row.digest for row in old}
    now = {row.path: row.digest for row in new}
    # A directory as status and gitpipe.yaml name it, with its `/`.
    shown = {p: p + "/" * d.endswith(DIR_SUFFIX) for p, d in (*was.items(), *now.items())}
    found = []
    for path in sorted(was.keys() | now.keys()):
        before, after = was.get(path), now.get(path)
        if before == after:
            continue
        word = "added" if before is None else "removed" if after is None else "modified"
        found.append((path, f"{kind}: {shown[path]} {before or 'none'} -> {after or 'none'}",
                      f"{kind}: {shown[path]} {word}"))
    return found
