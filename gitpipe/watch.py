"""`gitpipe watch`: rerun stale stages as their deps change (watchdog, debounced).

Events under `.git/`, `.gitpipe/` and the pipeline's own outs are ignored, so
a repro never triggers itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gitpipe.errors import MissingExtraError
from gitpipe.project import Project

DEBOUNCE = 0.5


class Trigger:
    """Collects relevant paths; fires once things have been quiet for `DEBOUNCE` s."""

    def __init__(self, root: Path, ignored: Iterable[str]) -> None:
        self.root = root
        self.ignored = tuple(sorted(set(ignored) | {".git", ".gitpipe"}))
        self.changed: set[str] = set()
        self.last = 0.0
        self.lock = threading.Lock()
        self.wake = threading.Event()

    def relevant(self, path: str) -> str | None:
        try:
            rel = Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return None
        for ignored in self.ignored:
            if rel == ignored or rel.startswith(ignored + "/"):
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


def watch(project: Project, run: Callable[[set[str]], Any], stop: threading.Event,
          ready: Callable[[], None] | None = None) -> None:
    """Call `run(changed paths)` after each quiet burst of changes, until `stop` is set."""
    try:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer
    except ImportError:
        raise MissingExtraError("gitpipe watch needs watchdog",
                                hint="pip install watchdog") from None
    outs = [o.path for stage in project.pipeline.stages for o in stage.outs]
    trigger = Trigger(project.root.resolve(), outs)

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
    finally:
        observer.stop()
        observer.join(timeout=5)
