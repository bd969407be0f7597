"""`repro --allow-missing`: a stage whose only change is data missing from the
work tree, data the remote holds, is left alone (for CI planning on a fresh
clone that has not pulled).

Only missing files count: a changed command, param or file still runs the
stage. The missing file's recorded object (a directory's manifest) must be on
the remote, so "allowed" always means "a `gitpipe pull` would bring it back".
The remote's word is checked with one listing; a pull verifies every object.
"""

from __future__ import annotations

import os
from collections.abc import Hashable
from typing import TYPE_CHECKING

from gitpipe.project.reasons import NOTES, Kind
from gitpipe.project.staleness import Staleness
from gitpipe.project.status import status_of

if TYPE_CHECKING:
    from gitpipe.pipeline.lockfile import LockEntry
    from gitpipe.project.root import Project

MISSING_KINDS = frozenset({Kind.OUT_MISSING, Kind.DEP_MISSING})
NOTE = "only data missing here, which the remote has (--allow-missing)"


def _missing_digests(project: Project, order: list[Hashable]) -> set[str]:
    """The recorded digests of every locked dep and out absent from the work tree."""
    entries = project.lock_entries
    missing: set[str] = set()
    for node in order:
        entry = entries.get(str(node))
        if entry is None:
            continue
        for locked in (*entry.deps, *entry.outs):
            if not os.path.lexists(project.root / locked.path):
                missing.add(locked.digest)
    return missing


def _pulled_digest(entry: LockEntry, path: str, produced: dict[str, str]) -> str | None:
    """What a pull would put at `path` for this stage, if it is what the stage
    last saw: its own out's digest; for a dep, the digest its producer's out
    has in the lock, when the stage recorded that same digest (else the dep
    changed since, and the stage must run)."""
    out = entry.out(path)
    if out is not None:
        return out.digest
    dep = entry.dep(path)
    if dep is None or produced.get(path) != dep.digest:
        return None
    return dep.digest


def allowed_missing(project: Project, order: list[Hashable],
                    remote_name: str | None) -> set[str]:
    """The nodes of `order` that --allow-missing leaves alone. A node left alone
    is not stale for the nodes after it, so a chain of unpulled stages is
    left alone as a whole."""
    from gitpipe.storage.remote import absent_objects

    missing = _missing_digests(project, order)
    if not missing:
        return set()
    on_remote = missing - absent_objects(project.remote(remote_name), missing)
    entries = project.lock_entries
    produced = {out.path: out.digest for entry in entries.values() for out in entry.outs}

    def forgive(verdict: Staleness) -> bool:
        entry = entries.get(verdict.task)
        return entry is not None and all(
            reason.kind in MISSING_KINDS
            and _pulled_digest(entry, reason.subject, produced) in on_remote
            for reason in verdict.reasons if reason.kind not in NOTES)

    report = status_of(project, order, forgive=forgive)
    return {verdict.task for verdict in report.tasks if verdict.stale and forgive(verdict)}
