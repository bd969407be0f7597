"""`push/fetch/pull --run-cache`: every run-cache entry of the chosen stages
travels, not only those of the lock's current fingerprints (as DVC's
`--run-cache`).

A plain `push` already uploads the entries of the lock's fingerprints, and
`repro --pull` reads the remote's entries on demand. `--run-cache` is for
seeding a machine: afterwards a stage set back to a fingerprint anyone pushed
is restored without running and without `--pull`. An entry from a remote is
untrusted: it must be signed by a key the remote's `trust:` names (and is
pushed signed, under the scope asked for: storage/runshare.py), its name must
be one of this pipeline's tasks and a well-formed fingerprint, its body must
name exactly the task's declared outs, and every object it names is verified
by its digest when downloaded (docs/explanation/security.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from gitpipe.engine.runcache import NO_TRUST_HINT
from gitpipe.hashing.digests import DIR_SUFFIX
from gitpipe.pipeline import graph as graph_module
from gitpipe.storage.cache import run_relpath
from gitpipe.storage.remote import Transfer, fetch_objects, push
from gitpipe.storage.runshare import listing, receive, to_publish
from gitpipe.trust import checks as trust
from gitpipe.trust.sizes import loads_record

if TYPE_CHECKING:
    from gitpipe.project.root import Project
    from gitpipe.storage.remote import Progress, Remote


def _declared(project: Project, targets: Iterable[str]) -> dict[str, dict[str, bool]]:
    """{task name: {declared out path: whether it is declared a directory}} for
    the targets (every task by default)."""
    graph = project.graph
    targets = tuple(targets)
    nodes = graph_module.select(graph, targets) if targets else list(graph.nodes)
    return {str(node): {o.path: o.is_dir for o in graph.nodes[node]["task"].outs}
            for node in nodes}


def _entry_name(rel: str, declared: dict[str, dict[str, bool]]) -> str | None:
    """The task of `runs/<task>/<hex>` when it is one of ours and the name is
    exactly the one gitpipe would give it; None for anything else."""
    parts = rel.split("/")
    if len(parts) != 3 or parts[0] != "runs" or parts[1] not in declared:
        return None
    if trust.fingerprint_problem(f"xxh3:{parts[2]}") is not None:
        return None
    return parts[1] if run_relpath(parts[1], f"xxh3:{parts[2]}") == rel else None


def _outs_of(data: bytes, rel: str, declared: dict[str, bool], source: str,
             warnings: list[str]) -> dict[str, int] | None:
    """The digests an entry's bytes name, with the sizes it gives; None when it
    breaks the rules (with a warning) or names other outs than the task
    declares now (an entry of an older version of the stage: it can never be
    restored, and is left quietly)."""
    try:
        rows = loads_record(data)
    except ValueError:
        warnings.append(f"{source}: run-cache entry {rel} is not JSON; it is ignored")
        return None
    problem = trust.record_problem("run", rows)
    if problem is not None:
        warnings.append(f"{source}: run-cache entry {rel}: {problem}; it is ignored")
        return None
    if {row[0] for row in rows} != set(declared):
        return None
    for row in rows:
        if declared[row[0]] and not row[1].endswith(DIR_SUFFIX):
            warnings.append(f"{source}: run-cache entry {rel}: directory out {row[0]!r} has "
                            f"the file digest {row[1]}; it is ignored")
            return None
    return {row[1]: row[2] for row in rows}


def push_run_cache(project: Project, remote: Remote, targets: Iterable[str] = (),
                   jobs: int = 8, progress: Progress | None = None,
                   warnings: list[str] | None = None, scope: str | None = None) -> Transfer:
    """Upload every local run entry of the targets whose objects are all here,
    with those objects, where the remote lacks them: signed, under `scope`
    (None: the main scope)."""
    warnings = warnings if warnings is not None else []
    declared = _declared(project, targets)
    cache = project.cache
    rels: list[str] = []
    digests: list[str] = []
    for rel in sorted(cache.run_entries()):
        task = _entry_name(rel, declared)
        if task is None:
            continue
        try:
            data = (cache.root / rel).read_bytes()
        except OSError:
            continue
        outs = _outs_of(data, rel, declared[task], "local cache", warnings)
        if outs is None or any(cache.missing(digest) for digest in outs):
            continue  # gc took an object: the entry restores nothing, so it stays here
        rels.append(rel)
        digests.extend(outs)
    sharing = project.run_sharing(remote.name, write_scope=scope)
    return push(remote, cache, digests, to_publish(remote, cache, rels, sharing), jobs, progress)


def fetch_run_cache(project: Project, remote: Remote, targets: Iterable[str] = (),
                    jobs: int = 8, progress: Progress | None = None,
                    warnings: list[str] | None = None, scopes: tuple[str, ...] = ()) -> Transfer:
    """Download every remote run entry of the targets that the cache lacks, from
    the main scope and the named `scopes`, and the objects they name. Only an
    entry the main scope's trust accepts joins the cache; one that is not
    trusted, or breaks the rules, is left out with a warning."""
    warnings = warnings if warnings is not None else []
    declared = _declared(project, targets)
    cache = project.cache
    sharing = project.run_sharing(remote.name, scopes)
    if not sharing.trust.configured:
        warnings.append(f"no run-cache entry was fetched: "
                        f"{NO_TRUST_HINT.format(name=remote.name)}")
        return fetch_objects(remote, cache, [], jobs, progress)
    source = f"remote {remote.name!r}"
    digests: list[str] = []
    fetched = 0
    for rel in sorted(listing(remote, sharing)):
        task = _entry_name(rel, declared)
        if task is None or (cache.root / rel).exists():
            continue
        found = receive(remote, cache, rel, sharing, warnings)
        if found is None or not found.kept:
            continue
        outs = _outs_of(found.data, found.key, declared[task], source, warnings)
        if outs is None:
            cache.discard(rel)
            continue
        fetched += 1
        cache.note_sizes(outs.items())  # a download reads no more (trust/sizes.py)
        digests.extend(outs)
    summary = fetch_objects(remote, cache, digests, jobs, progress)
    summary.runs = fetched
    return summary
