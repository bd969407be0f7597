"""`gitpipe watch`: rerun stale stages as their deps change (watchdog, debounced).

Only what can make a stage stale counts: gitpipe.yaml, the params files and
the deps. Events under `.git/`, `.gitpipe/` and the pipeline's own outs are
ignored, so a repro never triggers itself (the lock it writes, a log its
stage appends to).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gitpipe.errors import GitpipeError, MissingExtraError
from gitpipe.project import Project
from gitpipe.spec import Pipeline

DEBOUNCE = 0.5


def watched_paths(pipeline: Pipeline) -> tuple[str, ...]:
    """What can make a stage stale: gitpipe.yaml, the params files, each dep (a
    directory: anything below it; a partition template such as
    `raw/${date}.csv`: anything below the directory before its first `${`)."""
    paths = {pipeline.source}
    for stage in pipeline.stages:
        paths.update(ref.file for ref in stage.params)
        for dep in stage.deps:
            if "${" in dep:
                dep = dep.split("${", 1)[0].rpartition("/")[0]
            paths.add(dep.rstrip("/"))
    return tuple(sorted(paths))


class Trigger:
    """Collects relevant paths; fires once things have been quiet for `DEBOUNCE` s."""

    def __init__(self, root: Path, pipeline: Pipeline) -> None:
        self.root = root
        self.follow(pipeline)
        self.changed: set[str] = set()
        self.last = 0.0
        self.lock = threading.Lock()
        self.wake = threading.Event()

    def follow(self, pipeline: Pipeline) -> None:
        """Watch what `pipeline` reads; ignore what it writes (its outs)."""
        outs = {out.path for stage in pipeline.stages for out in stage.outs}
        self.ignored = tuple(sorted(self._and_targets(outs) | {".git", ".gitpipe"}))
        self.watched = tuple(sorted(self._and_targets(watched_paths(pipeline))))

    def _and_targets(self, paths: Iterable[str]) -> set[str]:
        """Each path, and the real path it leads to through symlinks when that is
        inside the root: an event names the real file (`relevant` resolves it),
        so a dep `data/` linked to `storage/` is watched as `storage/`."""
        found = set()
        for path in paths:
            path = path.rstrip("/")
            found.add(path)
            try:
                real = (self.root / path).resolve().relative_to(self.root).as_posix()
            except ValueError:  # outside the project: not watched at all
                continue
            found.add("" if real == "." else real)
        return found

    def relevant(self, path: str) -> str | None:
        try:
            rel = Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return None
        if _below_any(rel, self.ignored) or not _below_any(rel, self.watched):
            return None
        return rel

    def note(self, path: str) -> None:
        rel = self.relevant(path)
        if rel is None:
            return
        with self.lock:
            self.changed.add(rel)
            self.last = time.monotonic()
        self.wake.set()

    def take(self, stop: threading.Event) -> set[str] | None:
        """Wait for a quiet burst of changes; None when asked to stop."""
        while not stop.is_set():
            self.wake.wait(0.2)
            with self.lock:
                if self.changed and time.monotonic() - self.last >= DEBOUNCE:
                    batch, self.changed = self.changed, set()
                    self.wake.clear()
                    return batch
        return None


def _below_any(rel: str, paths: Iterable[str]) -> bool:
    return any(not path or rel == path or rel.startswith(path + "/") for path in paths)


def watch(project: Project, run: Callable[[set[str]], Any], stop: threading.Event,
          ready: Callable[[], None] | None = None) -> None:
    """Call `run(changed paths)` after each quiet burst of changes, until `stop` is set."""
    try:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer
    except ImportError:
        raise MissingExtraError("gitpipe watch needs watchdog",
                                hint="pip install watchdog") from None
    trigger = Trigger(project.root.resolve(), project.pipeline)

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            if event.event_type in ("opened", "closed_no_write"):
                return
            if event.is_directory and event.event_type == "modified":
                return  # a file inside changed; that file's own event says which
            trigger.note(str(event.src_path))
            if getattr(event, "dest_path", ""):
                trigger.note(str(event.dest_path))

    observer = Observer()
    observer.schedule(Handler(), str(project.root), recursive=True)
    observer.start()
    try:
        if ready is not None:
            ready()
        while (batch := trigger.take(stop)) is not None:
            run(batch)
            _refollow(trigger, project.root)
    finally:
        observer.stop()
        observer.join(timeout=5)


def _refollow(trigger: Trigger, root: Path) -> None:
    """Follow the pipeline as it is now (an edit of gitpipe.yaml may add deps
    and outs); as before while the spec does not parse."""
    with contextlib.suppress(GitpipeError):
        trigger.follow(Project(root).pipeline)
