"""`gitpipe.lock`: one LockEntry per Task, written deterministically and atomically.

Sorted keys and a stable layout keep diffs in code review meaningful; every
write goes to a temp file that is fsynced and renamed over the old one, so a
crash leaves either the old or the new lock, never half of one.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

from gitpipe.core import parsecache, yamlio
from gitpipe.core.atomicfile import atomic_write
from gitpipe.core.errors import BadInputError, GitpipeError, RecordError
from gitpipe.core.yamlio import parse_plain
from gitpipe.hashing.statsig import ReadLog
from gitpipe.pipeline import lockpickle
from gitpipe.pipeline.locktext import Flow, dump, entry_text
from gitpipe.pipeline.model import LOCK_FILE
from gitpipe.pipeline.parse import read_inside
from gitpipe.trust import checks
from gitpipe.trust.checks import fingerprint_problem, module_row_problem, task_problem

_RESTORE = "restore it from git, or delete it to rerun everything"
_CONFLICT = ("take either side ('git checkout --ours gitpipe.lock' or '--theirs'), then run "
             "'gitpipe repro': it reruns only the stages the other side changed (and restores "
             "those the run-cache knows), and writes the merged lock")
SCHEMA = 1
_HEADER = f"schema: {SCHEMA}\nstages:\n"
# The code that decides what a text reads as, part of lockpickle.py's keys.
_READERS = (__file__, checks.__file__, yamlio.__file__, parsecache.__file__)


class LockTooLarge(BadInputError):
    """An entry that would make the lock larger than any command reads."""
    def __init__(self, name: str, size: int) -> None:
        super().__init__(
            f"stage {name!r}: its {LOCK_FILE} entry ({size:,} characters) would make the "
            f"lock larger than {yamlio.MAX_BYTES // (1024 * 1024)} MiB, which no command "
            "reads; it is not recorded", hint="params are written into the lock whole: keep "
            "a large value in a file the stage names as a dep, not in params")


class LockedPath(NamedTuple):
    """A dep or out as last seen: path, digest, size, whether it was an
    executable file (`exec: true`, written only then: part of a dep's identity;
    for an out, the mode checkout restores, since the cache keeps bytes only)
    and, for an out, whether it was declared a metric."""

    path: str
    digest: str
    size: int | None = None
    metric: bool = False
    executable: bool = False

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"path": self.path, "hash": self.digest}
        if self.size is not None:
            row["size"] = self.size
        if self.executable:
            row["exec"] = True
        if self.metric:
            row["metric"] = True
        return row


class LockedModule(NamedTuple):
    """A module file a `python:` dep stood for at the last run: its path and
    digest, and the module that imported it (None for a `python:` root)."""

    path: str
    digest: str
    imported_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"path": self.path, "hash": self.digest}
        if self.imported_by is not None:
            row["imported_by"] = self.imported_by
        return row


class LockEntry(NamedTuple):
    """What the last successful run of a Task saw and produced."""

    cmd: str
    fingerprint: str
    deps: tuple[LockedPath, ...] = ()
    params: dict[str, Any] = {}  # noqa: RUF012 - entries are read, never changed in place
    outs: tuple[LockedPath, ...] = ()
    # The parts of the fingerprint that have no other reason of their own,
    # recorded so that a change names its part: wdir, and digests of the env
    # and of the executor's inputs (fingerprint.part_digest; never the values).
    wdir: str = "."
    env: str | None = None
    runtime: str | None = None
    # The module files `python:` deps stood for (project/pydeps.py), apart from
    # `deps` so that status can say which module changed and who imports it.
    python: tuple[LockedModule, ...] = ()

    def dep(self, path: str) -> LockedPath | None:
        return next((d for d in self.deps if d.path == path), None)

    def out(self, path: str) -> LockedPath | None:
        return next((o for o in self.outs if o.path == path), None)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"cmd": self.cmd, "fingerprint": self.fingerprint}
        if self.wdir != ".":
            data["wdir"] = self.wdir
        if self.env is not None:
            data["env"] = self.env
        if self.runtime is not None:
            data["runtime"] = self.runtime
        if self.deps:
            data["deps"] = [Flow(d.to_dict()) for d in sorted(self.deps, key=_by_path)]
        if self.python:
            data["python"] = [Flow(m.to_dict()) for m in sorted(self.python, key=_by_path)]
        if self.params:
            data["params"] = _sorted_params(self.params)
        if self.outs:
            data["outs"] = [Flow(o.to_dict()) for o in sorted(self.outs, key=_by_path)]
        return data


def _by_path(item: LockedPath | LockedModule) -> str:
    return item.path


def _sorted_params(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_params(value[k]) for k in sorted(value, key=str)}
    return value


def render_entry(name: str, entry: LockEntry) -> str:
    """One task's block under `stages:`, exactly as `render` writes it."""
    data = entry.to_dict()
    direct = entry_text(name, data)
    if direct is not None:
        return direct
    text = dump({name: data})
    return "".join(f"  {line}\n" if line else "\n" for line in text.split("\n")[:-1])


def render(entries: dict[str, LockEntry]) -> str:
    """The lockfile's text for `entries`: schema first, tasks sorted by name."""
    return dump(lock_data(entries))


def _locked_paths(rows: Any, where: str) -> tuple[LockedPath, ...]:
    if not isinstance(rows, list):
        raise BadInputError(f"{LOCK_FILE}: {where} must be a list")
    paths = []
    for row in rows:
        if not isinstance(row, dict) or "path" not in row or "hash" not in row:
            raise BadInputError(f"{LOCK_FILE}: {where}: each item needs 'path' and 'hash'")
        paths.append(LockedPath(str(row["path"]), str(row["hash"]), row.get("size"),
                                row.get("metric") is True, row.get("exec") is True))
    return tuple(paths)


def parse(text: str, cache_dir: Path | None = None,
          root: Path | None = None) -> dict[str, LockEntry]:
    """Lockfile text → {task name: LockEntry}; a clear error for a damaged file.
    With `cache_dir` and the project's `root` (whose user signs them), the
    entries an earlier read of the same text remembered, else remembered now."""
    try:
        yamlio.refuse_oversized(text, LOCK_FILE)  # the writer seeds what it wrote unparsed
        remembered = lockpickle.remembered(text, cache_dir, root, _READERS)
        if remembered is not None:
            return remembered
        data = parsecache.cached_parse(text, LOCK_FILE, cache_dir,
                                       lambda t: parse_plain(t, LOCK_FILE)) if text.strip() else {}
    except BadInputError as exc:
        if "\n<<<<<<< " in f"\n{text}":
            raise BadInputError(f"{LOCK_FILE}: holds git's merge conflict markers",
                                hint=_CONFLICT) from None
        raise BadInputError(exc.message, hint=_RESTORE) from None
    entries = _entries_of(data)
    lockpickle.remember(text, cache_dir, root, _READERS, entries)
    return entries


def _entries_of(data: Any) -> dict[str, LockEntry]:
    """The entries of a parsed lock, each checked."""
    data = data or {}
    if not isinstance(data, dict) or data.get("schema", SCHEMA) != SCHEMA:
        raise BadInputError(f"{LOCK_FILE}: unknown schema {data.get('schema')!r}"
                            if isinstance(data, dict) else f"{LOCK_FILE}: not a mapping")
    stages = data.get("stages") or {}
    if not isinstance(stages, dict):
        raise BadInputError(f"{LOCK_FILE}: 'stages' must be a mapping")
    return {str(name): _entry(name, body) for name, body in stages.items()}


def _entry(name: str, body: Any) -> LockEntry:
    if not isinstance(body, dict) or "cmd" not in body or "fingerprint" not in body:
        raise BadInputError(f"{LOCK_FILE}: stage {name!r}: needs 'cmd' and 'fingerprint'")
    # The name and fingerprint become run-cache keys (`runs/<task>/<fp>`) that
    # push reads and uploads: a lock from git must not name other files.
    problem = task_problem(name) or fingerprint_problem(body["fingerprint"])
    if problem is not None:
        raise RecordError(f"{LOCK_FILE}: stage {name!r}: {problem}", hint=_RESTORE)
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise BadInputError(f"{LOCK_FILE}: stage {name!r}: params must be a mapping")
    return LockEntry(
        cmd=str(body["cmd"]), fingerprint=str(body["fingerprint"]),
        deps=_locked_paths(body.get("deps", []), f"stage {name!r} deps"),
        params=dict(params),
        outs=_locked_paths(body.get("outs", []), f"stage {name!r} outs"),
        wdir=str(body.get("wdir", ".")),
        env=_optional_text(body.get("env")),
        runtime=_optional_text(body.get("runtime")),
        python=_locked_modules(body.get("python", []), name),
    )


def _locked_modules(rows: Any, name: str) -> tuple[LockedModule, ...]:
    """The `python:` rows of a task, each checked: they come from git and are
    printed in reasons, so a path must be a plain relative path."""
    where = f"{LOCK_FILE}: stage {name!r} python"
    if not isinstance(rows, list):
        raise BadInputError(f"{where} must be a list", hint=_RESTORE)
    modules = []
    for row in rows:
        problem = module_row_problem(row)
        if problem is not None:
            raise RecordError(f"{where}: {problem}", hint=_RESTORE)
        modules.append(LockedModule(row["path"], row["hash"], row.get("imported_by")))
    return tuple(modules)


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def read(root: Path, cache_dir: Path | None = None,
         reads: ReadLog | None = None) -> dict[str, LockEntry]:
    try:
        text = read_inside(root, LOCK_FILE, reads)
    except FileNotFoundError:
        return {}
    return parse(text, cache_dir, root)


WRITE_BEHIND_INTERVAL = 0.2  # seconds: at most ~5 lock rewrites a second in a repro
# ... and at least this many times as long as the last rewrite took: a large
# lock (1 MB at 2,000 stages) is rewritten whole, so rewriting it every 0.2 s
# would cost a build more the more stages it has.
WRITE_BEHIND_SPACING = 10


class LockWriter:
    """Holds the lock in memory and writes it after each change (thread-safe).

    Each entry's YAML is rendered once and kept, so a rewrite joins text
    instead of re-rendering a 1,000-entry lock. With `write_behind`, a thread
    does the writing, at most every WRITE_BEHIND_INTERVAL (and never more than a
    tenth of the time, however large the lock): a finished stage does
    not wait for two fsyncs before the next one starts, and the stages that
    finish meanwhile share one write (a large build rewrites the lock a few
    times a second, not once per stage).
    A crash can then lose the last few entries, never corrupt the file, and
    each lost entry's run-cache record (written before the update) restores
    its outs on the next repro instead of running again. `close` writes what
    is left, and with a `parse_cache` remembers what the last text written
    parses to, from the entries it was rendered from: the next command reads
    the lock it wrote without parsing its YAML (parsecache.seed_parse).
    """

    def __init__(self, root: Path, entries: dict[str, LockEntry],
                 write_behind: bool = False, parse_cache: Path | None = None) -> None:
        self.path = root / LOCK_FILE
        self.entries = dict(entries)
        self._parse_cache = parse_cache
        # The text last written and the entries it was rendered from.
        self._last: tuple[str, dict[str, LockEntry]] | None = None
        self._texts: dict[str, str] = {}
        self._size: int | None = None  # characters of every entry's text, once counted
        self._mutex = threading.Lock()
        self._changed = threading.Condition(self._mutex)
        self._version = 0  # bumped by every change
        self._written = 0  # the version on disk
        self._closed = False
        self._closing = threading.Event()
        self._error: OSError | None = None
        self._thread: threading.Thread | None = None
        if write_behind:
            self._thread = threading.Thread(target=self._write_loop, daemon=True,
                                            name="gitpipe-lock-writer")
            self._thread.start()

    def _text(self, name: str) -> str:
        if name not in self._texts:
            self._texts[name] = render_entry(name, self.entries[name])
        return self._texts[name]

    def _render(self) -> str:
        body = "".join(self._text(name) for name in sorted(self.entries))
        return _HEADER + body if body else render({})

    def _snapshot(self) -> dict[str, LockEntry]:
        """The entries as rendered now, kept only to seed the parse cache."""
        return dict(self.entries) if self._parse_cache is not None else {}

    def _changed_locked(self) -> None:
        self._version += 1
        if self._thread is None:
            text = self._render()
            atomic_write(self.path, text)
            self._last = (text, self._snapshot())
            self._written = self._version
        else:
            self._changed.notify_all()

    def _write_loop(self) -> None:
        while True:
            with self._mutex:
                while self._written == self._version and not self._closed:
                    self._changed.wait()
                if self._written == self._version:
                    return
                started = time.monotonic()
                version, text, entries = self._version, self._render(), self._snapshot()
            try:
                atomic_write(self.path, text)
                self._last = (text, entries)
                self._error = None  # a later write that succeeds supersedes a failed one
            except OSError as exc:
                self._error = exc
            with self._mutex:
                self._written = version
            took = time.monotonic() - started
            # Let changes gather; close() cuts the wait short.
            self._closing.wait(max(WRITE_BEHIND_INTERVAL, WRITE_BEHIND_SPACING * took))

    def update(self, name: str, entry: LockEntry) -> None:
        """Record `entry` for `name` (LockTooLarge, the lock as it was: see _resize)."""
        text = render_entry(name, entry)
        with self._mutex:
            self._resize(name, text)
            self.entries[name] = entry
            self._texts[name] = text
            self._changed_locked()

    def _resize(self, name: str, text: str) -> None:
        """Count `text` as the entry of `name`, refusing a lock no command reads
        (yamlio.MAX_BYTES): params are written in whole, a pull request's too."""
        if self._size is None:
            self._size = sum(len(self._text(other)) for other in self.entries)
        size = self._size + len(text) - (len(self._text(name)) if name in self.entries else 0)
        if size + len(_HEADER) > yamlio.MAX_BYTES:
            raise LockTooLarge(name, len(text))
        self._size = size

    def remove(self, names: list[str]) -> None:
        with self._mutex:
            for name in names:
                if self._size is not None and name in self.entries:
                    self._size -= len(self._text(name))
                self.entries.pop(name, None)
                self._texts.pop(name, None)
            self._changed_locked()

    def close(self) -> None:
        """Write whatever is not on disk yet; report a write that failed."""
        if self._thread is not None:
            with self._mutex:
                self._closed = True
                self._changed.notify_all()
            self._closing.set()
            self._thread.join()
        if self._error is not None:
            raise GitpipeError(f"cannot write {LOCK_FILE}: {self._error}")
        if self._parse_cache is not None and self._last is not None:
            self._seed(*self._last)

    def _seed(self, text: str, entries: dict[str, LockEntry]) -> None:
        """Spare the next reader of `text` its parse: the parse cache holds the
        data the entries were rendered from, and the entries remembered are
        those a reader builds from that data as the cache gives it back."""
        if not all(parsecache.keys_apart(entry.params) for entry in entries.values()):
            return  # the parser refuses such params: the next reader says so
        as_read = parsecache.seed_parse(text, LOCK_FILE, self._parse_cache, lock_data(entries))
        if as_read is None:
            return
        try:
            read = _entries_of(as_read)
        except GitpipeError:
            return  # the next reader parses, and says what is wrong
        lockpickle.remember(text, self._parse_cache, self.path.parent, _READERS, read)


def lock_data(entries: dict[str, LockEntry]) -> dict[str, Any]:
    """What `render(entries)` parses back to (the parse cache's data)."""
    return {"schema": SCHEMA, "stages": {name: entries[name].to_dict() for name in sorted(entries)}}
