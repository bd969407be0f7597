"""The `--json` documents of validate, push, fetch, pull, gc, fsck, `status
--cloud` and remove, built from
what those use cases return (docs/reference/json.md). The documents of status, repro and
backfill are their reports' own `to_json`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from gitpipe.core.errors import GitpipeError
from gitpipe.core.jsondoc import header
from gitpipe.hashing.digests import DIR_SUFFIX
from gitpipe.project.lockguard import LockedOut, locked_outs

if TYPE_CHECKING:
    from gitpipe.storage.remote import Transfer
    from gitpipe.usecases.api import Project
    from gitpipe.usecases.cloudstatus import CloudStatus
    from gitpipe.usecases.fsck import FsckReport
    from gitpipe.usecases.garbage import GcPlan
    from gitpipe.usecases.removestage import Removed
    from gitpipe.usecases.transfer import CheckoutReport


def validate_document(project: Project, tasks: list[str], warnings: list[str]) -> dict[str, Any]:
    """A valid pipeline: how many stages, tasks and edges, and the warnings."""
    return {**header("validate"), "ok": True, "valid": True,
            "stages": len(project.pipeline.stages), "tasks": len(tasks),
            "edges": project.graph.number_of_edges(), "warnings": list(warnings)}


def remote_of(project: Project, name: str | None) -> dict[str, Any]:
    """The remote a command used, by name and URL (credentials masked)."""
    from gitpipe.pipeline.config import remote_settings
    from gitpipe.storage.urls import masked_url

    settings = remote_settings(project.config, name)
    return {"name": settings.name, "url": masked_url(settings.url)}


def transfer_document(kind: str, remote: dict[str, Any], summary: Transfer,
                      checkout: CheckoutReport | None = None) -> dict[str, Any]:
    """What a push, fetch or pull moved; a pull adds what it checked out."""
    doc = {**header(kind), "ok": not summary.failed and not (checkout and checkout.kept),
           "remote": remote, "files": summary.files, "bytes": summary.bytes,
           "skipped": summary.skipped, "runs": summary.runs, "failed": sorted(summary.failed)}
    if checkout is not None:
        doc["checkout"] = checkout_part(checkout)
    return doc


def checkout_part(report: CheckoutReport) -> dict[str, Any]:
    return {"restored": sorted(report.restored), "unchanged": sorted(report.unchanged),
            "kept": _outs(report.kept), "orphaned": _outs(report.orphaned)}


def cloud_status_document(found: CloudStatus, remote: dict[str, Any]) -> dict[str, Any]:
    """`status --cloud`: the outs compared, by what each side lacks, as the text
    lists them (`new`, `deleted`, `missing`)."""
    return {**header("cloud_status"), "in_sync": found.in_sync, "remote": remote,
            "total": found.total, "new": _outs(found.new), "deleted": _outs(found.deleted),
            "missing": _outs(found.missing)}


def remove_document(done: Removed) -> dict[str, Any]:
    """What `remove` took out (stages, lock entries, .gitignore lines) and what
    became of their outs, as its text says it."""
    return {**header("remove"), "ok": True, "stages": done.stages, "spec": done.spec,
            "lock_entries": done.lock_entries, "ignore_lines": done.ignore_lines,
            "deleted": done.deleted, "left": done.left, "tracked": done.tracked,
            "unsaved": done.unsaved, "beyond_range": done.beyond,
            "unmade": [{"stage": stage, "dep": dep} for stage, dep in done.unmade]}


def _outs(outs: Iterable[LockedOut]) -> list[dict[str, Any]]:
    return [{"path": out.path, "task": out.task, "digest": out.digest} for out in outs]


def gc_document(plan: GcPlan, dry_run: bool, remote: dict[str, Any] | None) -> dict[str, Any]:
    """What gc removed from one place (or would remove, in a dry run) and kept."""
    from gitpipe.storage.objects import digest_of_relpath

    objects = [{"digest": digest_of_relpath(rel), "size": size} for rel, size in plan.objects]
    objects += [{"digest": digest, "size": size} for digest, size in plan.packed]
    return {**header("gc"), "ok": True, "dry_run": dry_run, "where": plan.where,
            "remote": remote, "keeping": plan.keeping,
            "removed": {"objects": objects, "bytes": plan.bytes_freed, "runs": list(plan.runs),
                        "logs": list(plan.logs),
                        "uploads": [rel for rel, _ in plan.leftovers]},
            "kept": plan.kept}


def fsck_document(project: Project, report: FsckReport, repair: bool,
                  remote: dict[str, Any] | None) -> dict[str, Any]:
    """Every object checked, the bad ones with the outs they belong to, the
    lock's outs missing and the malformed records."""
    from gitpipe.storage.remote import object_key

    naming = _paths_naming(project, set(report.bad))
    bad = [{"digest": digest, "object": object_key(digest), "actual": report.actual.get(digest),
            "problem": _problem(report.actual.get(digest)),
            "removed": digest in report.removed, "paths": naming.get(digest, [])}
           for digest in report.bad]
    malformed = [dict(zip(("record", "problem"), line.split(": ", 1), strict=False))
                 for line in report.malformed]
    return {**header("fsck"), "ok": not (report.bad and not repair) and not report.malformed,
            "where": f"remote {remote['name']!r}" if remote else "the cache", "remote": remote,
            "repair": repair, "checked": report.checked, "bad": bad,
            "repaired": len(report.removed), "missing": _outs(report.missing),
            "malformed": malformed}


def _problem(actual: str | None) -> str:
    if actual is None:  # a remote's object: downloaded, it failed verification
        return "its content does not match its name"
    return f"its content hashes to {actual}"


def _paths_naming(project: Project, digests: set[str]) -> dict[str, list[str]]:
    """The work-tree paths the lock's outs give each of `digests`: the out
    itself, or a file inside a directory out whose manifest the cache holds."""
    found: dict[str, list[str]] = {}
    if not digests:
        return found
    cache = project.cache
    for out in locked_outs(project.lock_entries):
        if out.digest in digests:
            found.setdefault(out.digest, []).append(out.path)
        if not out.digest.endswith(DIR_SUFFIX) or not cache.has(out.digest):
            continue
        try:
            entries = cache.manifest(out.digest)
        except (GitpipeError, OSError):
            continue  # a damaged manifest is itself among the bad objects
        for entry in entries:
            if entry.digest in digests:
                found.setdefault(entry.digest, []).append(f"{out.path}/{entry.relpath}")
    return {digest: sorted(set(paths)) for digest, paths in found.items()}
