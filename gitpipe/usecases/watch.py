"""`gitpipe watch`: rerun stale stages as their deps change (watchdog, debounced).

Only what can make a stage stale counts: gitpipe.yaml, the params files,
the deps and the `.gitpipeignore` files above them, and, where a stage has
`python:` deps, every module file. Events under `.git/`,
`.gitpipe/` and the pipeline's own outs are ignored, so a repro never
triggers itself (the lock it writes, a log its stage appends to).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gitpipe.core.errors import GitpipeError, MissingExtraError
from gitpipe.core.install import DISTRIBUTION
from gitpipe.hashing.ignore import IGNORE_FILE
from gitpipe.pipeline.items import ItemSpec
from gitpipe.pipeline.model import Pipeline, Stage, item_path
from gitpipe.project.root import Project

DEBOUNCE = 0.5


def watched_paths(pipeline: Pipeline) -> tuple[str, ...]:
    """What can make a stage stale: gitpipe.yaml, the params files, each dep
    (a directory: anything below it; a partition template such as
    `raw/${date}.csv` stands for every path it can become; a foreach or
    matrix item's dep is the path it renders to) and the `.gitpipeignore`
    files above each dep, which decide what a directory holds."""
    paths = {pipeline.source}
    for stage in pipeline.stages:
        paths.update(ref.file for ref in stage.params)
        for dep in rendered(stage, stage.deps):
            paths.add(dep.rstrip("/"))
            paths.update(_rules_above(dep))
    return tuple(sorted(paths))


def rendered(stage: Stage, paths: Iterable[str]) -> list[str]:
    """`paths` as the stage's tasks name them. An item's value may hold a `/`
    (`data/${item}.csv` with `a/b`), so item paths are rendered item by item,
    as status renders them; a date template stays a template (a date never
    holds a `/`, and an open range has no last date)."""
    if not isinstance(stage.partition, ItemSpec):
        return list(paths)
    paths = tuple(paths)
    return [item_path(path, context) for _, context in stage.partition.items()
            for path in paths]


def _rules_above(dep: str) -> list[str]:
    """The `.gitpipeignore` files from the root down to `dep`'s parent. Taken
    for every dep: one without a trailing slash may be a directory too, which
    shows only on disk, and for a file dep an edit to them costs at most a
    repro that finds nothing stale."""
    folders = dep.rstrip("/").split("/")[:-1]
    return ["/".join([*folders[:depth], IGNORE_FILE]) for depth in range(len(folders) + 1)]


class PathSet:
    """Project paths and everything below them; `${...}` in one matches any
    partition value (one path component or part of one: dates never hold a /).
    Plain paths are looked up by each folder above the path asked about, so a
    foreach of many items costs an event no walk over every item's paths."""

    def __init__(self, paths: Iterable[str]) -> None:
        paths = {path.rstrip("/") for path in paths}
        self.plain = frozenset(path for path in paths if "${" not in path)
        self.patterns = tuple(_template_pattern(path) for path in sorted(paths) if "${" in path)

    def covers(self, rel: str) -> bool:
        head = rel
        while True:
            if head in self.plain and (head or not rel):
                return True
            if "/" not in head:
                break
            head = head.rpartition("/")[0]
        return any(pattern.fullmatch(rel) for pattern in self.patterns)


def _template_pattern(template: str) -> re.Pattern[str]:
    literal = [re.escape(part) for part in re.split(r"\$\{[^}]*\}", template)]
    return re.compile(f"(?:{'[^/]*'.join(literal)})(?:/.*)?", re.DOTALL)


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
        watched = PathSet(self._and_targets(watched_paths(pipeline)))
        outs = {path for stage in pipeline.stages
                for path in rendered(stage, [out.path for out in stage.outs])}
        ignored = set(outs) | {".git", ".gitpipe"}
        for out in outs:
            # Where a linked out leads is ignored too, unless that is a dep
            # only through the link (an out `current.csv` -> `raw/a.csv` must
            # not hide the dep `raw/`); an out another stage reads is no
            # trigger either way: the repro it is part of runs that stage.
            for real in self._and_targets([out]) - {out}:
                if watched.covers(out) or not watched.covers(real):
                    ignored.add(real)
        self.ignored = PathSet(ignored)
        self.watched = watched
        # A `python:` dep stands for the modules its root imports, found anew on
        # each judgement (project/pydeps.py): any module file may be one of
        # them, or become one by appearing where an import looks.
        self.modules = any(stage.python for stage in pipeline.stages)

    def _and_targets(self, paths: Iterable[str]) -> set[str]:
        """Each path, and the real path it leads to through symlinks when that is
        inside the root: an event about a file below a linked directory names
        the real file, so a dep `data/` linked to `storage/` is watched as both.
        For a template, the directory before its first `${` is resolved."""
        found = set()
        for path in paths:
            found.add(path)
            head, brace, rest = path.partition("${")
            folder, slash, name = head.rpartition("/") if brace else (path, "", "")
            real = self._relative(str(self.root / folder), True) if folder else None
            if real is not None:
                found.add(real + slash + name + brace + rest if real else name + brace + rest)
        return found

    def relevant(self, path: str) -> str | None:
        """`path` relative to the root if a change there matters: as the event
        names it (a symlink that is a dep, created or repointed), or where it
        leads (a file below a linked directory)."""
        for candidate in (self._relative(path, False), self._relative(path, True)):
            if (candidate is not None and not self.ignored.covers(candidate)
                    and (self.watched.covers(candidate)
                         or (self.modules and candidate.endswith(".py")))):
                return candidate
        return None

    def _relative(self, path: str, resolve: bool) -> str | None:
        try:
            full = Path(path).resolve() if resolve else Path(os.path.abspath(path))
            rel = full.relative_to(self.root).as_posix()
        except (ValueError, RuntimeError, OSError):  # outside; a symlink loop
            return None
        return "" if rel == "." else rel

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
        hint = f"pip install watchdog ({DISTRIBUTION} depends on it)"
        raise MissingExtraError("gitpipe watch needs watchdog", hint=hint) from None
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
    # the resolved root, as Trigger knows it: events name paths below it
    observer.schedule(Handler(), str(trigger.root), recursive=True)
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
    and outs); while the spec does not parse, the paths already followed stay."""
    with contextlib.suppress(GitpipeError):
        trigger.follow(Project(root).pipeline)
