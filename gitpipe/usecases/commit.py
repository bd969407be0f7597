"""`gitpipe commit`: record the workspace's current outs in the lock without running,
for outs produced by hand (as `dvc commit`). The outs pass the checks repro's
pass before a run: inside the repository through every symlink, not tracked by git."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from gitpipe.core.errors import BadInputError
from gitpipe.pipeline import graph as graph_module
from gitpipe.pipeline.lockfile import LockWriter
from gitpipe.project.dirlinks import recorded_links_warning
from gitpipe.project.projectlock import ProjectLock
from gitpipe.project.root import Project
from gitpipe.project.staleness import judge, lock_entry_for, observe


def commit(project: Project, targets: Iterable[str] = (),
           warn: Callable[[str], None] | None = None) -> list[str]:
    """Lock entries for the targets (all stale tasks without targets); returns
    their names. `warn` is told of the symlinks inside a directory recorded
    (project/dirlinks.py)."""
    graph = project.graph
    names = graph_module.select(graph, targets) if targets else list(graph.nodes)
    params = project.params_reader()
    # As repro checks before it runs: commit reads each out into the cache,
    # and an out git tracks, or one reached through a symlink from the
    # repository, is a file the clone's author chose, up to one outside it.
    project.check_paths_inside()
    project.refuse_tracked_outs([graph.nodes[node]["task"] for node in names])
    committed, linked = [], set[tuple[str, str]]()
    with ProjectLock(project.gitpipe_dir, project.config.lock_wait):
        project.__dict__.pop("lock_entries", None)
        writer = LockWriter(project.root, project.lock_entries)
        for node in graph_module.plan(graph.subgraph(names)):
            task = graph.nodes[node]["task"]
            entry = writer.entries.get(task.name)
            seen = observe(task, project.workspace, params, entry)
            if not judge(task, entry, seen).stale:
                continue
            missing = [p for p, i in {**seen.deps, **seen.outs}.items() if not i.exists]
            if missing:
                raise BadInputError(f"stage {task.name!r}: {missing[0]!r} does not exist, so "
                                    "it cannot be committed", hint="run 'gitpipe repro' instead")
            # No run-cache entry: the run-cache holds what the command
            # computed for a fingerprint; a hand-made out recorded there would
            # be restored elsewhere in place of running the command.
            for path, info in seen.outs.items():
                assert info.digest is not None
                full = project.root / path
                if info.is_dir:
                    project.cache.add_tree(full, info.digest)
                else:
                    project.cache.add_file(full, info.digest)
            writer.update(task.name, lock_entry_for(task, seen, seen.outs))
            committed.append(task.name)
            said = recorded_links_warning(project, seen.deps.values(), linked)
            if said is not None and warn is not None:
                warn(f"stage {task.name!r}: {said}")
    project.state.flush()
    return committed
