"""The run-cache in use: fingerprint → outs, local first, then (with --pull) the remote.

A result computed once, anywhere, is restored instead of recomputed.
"""

from __future__ import annotations

from pathlib import Path

from gitpipe.cache import Cache, CachedOut, run_relpath
from gitpipe.remote import Remote, fetch_objects, fetch_run, push
from gitpipe.spec import Task
from gitpipe.workspace import PathInfo


class RunCache:
    """Looks up, restores and records runs; pulls and pushes when asked to."""

    def __init__(self, cache: Cache, remote: Remote | None = None, pull: bool = False,
                 push_after: bool = False) -> None:
        self.cache = cache
        self.remote = remote
        self.pull = pull and remote is not None
        self.push_after = push_after and remote is not None

    def lookup(self, task: Task, fingerprint: str) -> list[CachedOut] | None:
        """The outs a run with this fingerprint produced, if all their objects are at hand."""
        outs = self.cache.load_run(task.name, fingerprint)
        if outs is None and self.pull:
            assert self.remote is not None
            if fetch_run(self.remote, self.cache, run_relpath(task.name, fingerprint)):
                outs = self.cache.load_run(task.name, fingerprint)
        if outs is None or {o.path for o in outs} != {o.path for o in task.outs}:
            return None
        if self.pull and any(self.cache.missing(o.digest) for o in outs):
            assert self.remote is not None
            fetch_objects(self.remote, self.cache, [o.digest for o in outs])
        if any(self.cache.missing(o.digest) for o in outs):
            return None
        return outs

    def restore(self, root: Path, outs: list[CachedOut]) -> None:
        for out in outs:
            self.cache.checkout(root / out.path, out.digest, out.executable)

    def record(self, root: Path, task: Task, fingerprint: str,
               outs: dict[str, PathInfo]) -> None:
        """Store the outs as objects and the run entry; push both when asked to."""
        for path, info in outs.items():
            assert info.digest is not None
            if info.is_dir:
                self.cache.add_tree(root / path, info.digest)
            else:
                self.cache.add_file(root / path, info.digest)
        cached = [CachedOut(p, i.digest, i.size, i.executable)
                  for p, i in outs.items() if i.digest]
        self.cache.save_run(task.name, fingerprint, cached)
        if self.push_after:
            assert self.remote is not None
            push(self.remote, self.cache, [o.digest for o in cached],
                 [run_relpath(task.name, fingerprint)])
