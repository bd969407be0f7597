"""`env changed`, named: which variables of a stage's env changed since the
run its lock entry records. The lock keeps only a digest of the env (it may
carry tokens), so the env before is the last commit's, where its digest is
the entry's; a secret's value is never shown."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from gitpipe.core.errors import GitpipeError
from gitpipe.hashing.fingerprint import part_digest
from gitpipe.project.reasons import Kind
from gitpipe.project.staleness import env_change
from gitpipe.project.status import StatusReport, has_reason

if TYPE_CHECKING:
    from collections.abc import Callable

    from gitpipe.pipeline.lockfile import LockEntry
    from gitpipe.project.root import Project

Env = tuple[tuple[str, str], ...]
COMMIT = "HEAD"


def with_env_before(project: Project, report: StatusReport) -> StatusReport:
    """`report`, each `env changed` reason naming the variables that changed
    where the last commit holds the env the lock entry recorded."""
    if not has_reason(report, Kind.ENV):
        return report
    before = env_lookup(project, project.lock_entries)
    nodes = project.graph.nodes
    return StatusReport(tuple(
        verdict._replace(reasons=tuple(
            env_change(before(verdict.task), nodes[verdict.task]["task"].env)
            if reason.kind is Kind.ENV else reason for reason in verdict.reasons))
        for verdict in report.tasks))


def env_lookup(project: Project, entries: dict[str, LockEntry]) -> Callable[[str], Env | None]:
    """A task's env as the last commit declares it, where its entry among
    `entries` records that env (its digest); None otherwise, or where there
    is no commit or its spec does not load. The commit is read on first use."""

    @functools.cache
    def committed() -> Any:
        from gitpipe.git.revision import Revision
        from gitpipe.usecases.revision import load_snapshot

        try:
            revision = Revision.resolve(project.git, COMMIT)
            return load_snapshot(project, revision.read_text, f"at {COMMIT!r}", f"@{COMMIT}")[0]
        except GitpipeError:
            return None

    def lookup(task: str) -> Env | None:
        entry = entries.get(task)
        if entry is None:
            return None
        graph = committed()
        if graph is None or task not in graph:
            return None
        env: Env = graph.nodes[task]["task"].env
        return env if part_digest(env) == entry.env else None
    return lookup
