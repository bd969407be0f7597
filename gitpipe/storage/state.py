"""`.gitpipe/state.db` (SQLite, WAL): the stat cache and the run history.

The stat cache is read in one query and written in one transaction per
command, so a no-op status costs no per-file SQL round trips.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from gitpipe.hashing.digests import gc_paused
from gitpipe.hashing.statsig import RACY_NS, FileSignature, ListedFile
from gitpipe.trust.dotdir import STATE_FILES, refuse_links

# The stat tables are named for their signature's shape: rows of an older
# one, (inode, mtime_ns, size) without ctime, are never read as if complete.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS stat_cache_ctime (
    path TEXT PRIMARY KEY, inode INTEGER, mtime_ns INTEGER, size INTEGER,
    ctime_ns INTEGER, digest TEXT, hashed_ns INTEGER
);
CREATE TABLE IF NOT EXISTS dir_entries_ctime (
    path TEXT PRIMARY KEY, names TEXT, stats BLOB, digests TEXT, hashed_ns INTEGER
);
CREATE TABLE IF NOT EXISTS py_imports (
    digest TEXT PRIMARY KEY, imports TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, task TEXT, started REAL, duration REAL,
    result TEXT, bytes_in INTEGER, bytes_out INTEGER, fingerprint TEXT, log TEXT,
    invocation TEXT
);
"""
# Columns added to `runs` after its first shape; a state.db made before them
# gains them the first time runs are written or read.
_RUNS_ADDED = (("invocation", "TEXT"),)
_RUNS_COLUMNS = "task, started, duration, result, bytes_in, bytes_out, fingerprint, log, invocation"


class StatKey(NamedTuple):
    """What identifies a file's content without reading it."""

    inode: int
    mtime_ns: int
    size: int
    ctime_ns: int


class RunRecord(NamedTuple):
    """One row of the run history."""

    task: str
    started: float
    duration: float
    result: str
    bytes_in: int
    bytes_out: int
    fingerprint: str | None = None
    log: str | None = None
    invocation: str | None = None    # the repro or backfill this run was part of


class State:
    """Thread-safe access to state.db; stat entries buffered until `flush`.

    `may_create()` says whether a state.db that does not exist yet may be made
    (a project's: only once `.gitpipe/` has its ignore rules); if not, what was
    learnt is simply not kept.
    """

    def __init__(self, path: Path, may_create: Callable[[], bool] = lambda: True) -> None:
        self.path = path
        self.may_create = may_create
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._stat: dict[str, tuple[FileSignature, str, int] | None] | None = None
        self._exists = False
        self._complete = False  # every row read (prefetch_all): a path not among them misses
        self._prefixes: tuple[str, ...] = ()  # those read whole (prefetch_prefix)
        self._pending: dict[str, tuple[StatKey, str, int]] = {}
        self._pending_runs: list[RunRecord] = []
        self._pending_dirs: dict[str, tuple[str, bytes, str, int]] = {}
        self._imports: dict[str, str | None] = {}
        self._pending_imports: dict[str, str] = {}

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # SQLite follows links: state.db and its journals are checked first.
            refuse_links(str(self.path.parent), STATE_FILES)
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    def _known(self) -> dict[str, tuple[FileSignature, str, int] | None]:
        """What has been read from state.db so far (None: read, and not there)."""
        if self._stat is None:
            self._stat = {}
            self._exists = self.path.exists()
        return self._stat

    def _load(self, where: str, params: tuple[str, ...] | list[str]) -> None:
        """Read the stat-cache rows matching `where` into what is known."""
        known = self._known()
        if not self._exists:
            return
        rows = self._db().execute("SELECT path, inode, mtime_ns, size, ctime_ns, digest, "
                                  f"hashed_ns FROM stat_cache_ctime WHERE {where}", params)
        # The signature as a plain tuple: it is compared, never read by name.
        known.update({row[0]: (row[1:5], row[5], row[6]) for row in rows})

    def _lookup(self, path: str) -> tuple[FileSignature, str, int] | None:
        # A point query per path: once directories are known by one
        # signature, most of a large table is never needed, and loading it
        # whole costs more than the lookups it saves.
        known = self._known()
        if path in known:
            return known[path]
        if self._complete or path.startswith(self._prefixes):
            return None
        self._load("path = ?", (path,))
        return known.setdefault(path, None)

    def directory_entries(self, directory: str) -> dict[str, tuple[FileSignature, str]]:
        """{relative path: (stat signature, digest)} of the files `directory` held
        when it was last hashed, racy ones left out (see record_directory)."""
        with self._lock:
            self._known()  # learns whether state.db exists: never create it to read
            row = self._pending_dirs.get(directory)
            if row is None and self._exists:
                row = self._db().execute(
                    "SELECT names, stats, digests, hashed_ns FROM dir_entries_ctime "
                    "WHERE path = ?",
                    (directory,)).fetchone()
        if row is None:
            return {}
        names, stats, digests = row[0].split("\0"), array("q"), row[2].split("\0")
        stats.frombytes(row[1])
        if not names[0] or len(names) != len(digests) or len(stats) != 4 * len(names):
            return {}  # empty, or not written by this code: hash again
        return {name: ((stats[4 * i], stats[4 * i + 1], stats[4 * i + 2], stats[4 * i + 3]),
                       digests[i])
                for i, name in enumerate(names)}

    def record_directory(self, directory: str, listing: list[ListedFile],
                         digests: list[str]) -> None:
        """Every file of a hashed directory in one row: three strings and an array
        of ints, not a row per file (inserting those would cost a good part of
        hashing them).
        Files modified within RACY_NS of now are left out, so they are hashed
        again next time, as the stat cache would."""
        now = time.time_ns()
        if max((_changed(item) for item in listing), default=0) + RACY_NS >= now:
            kept = [k for k, item in enumerate(listing) if _changed(item) + RACY_NS < now]
            listing, digests = [listing[k] for k in kept], [digests[k] for k in kept]
        try:
            stats = array("q", [value for item in listing
                                for value in (*item[1:4], item[5])])
        except OverflowError:  # an inode number past 2**63 (overlayfs xino): not kept
            return
        row = ("\0".join([item[0] for item in listing]), stats.tobytes(), "\0".join(digests))
        self.record_directory_row(directory, row, now)

    def record_directory_row(self, directory: str, row: tuple[str, bytes, str],
                             now: int | None = None) -> None:
        """`record_directory` from the row's parts as the cold scan makes them
        (paths and digests joined by NUL, packed (inode, mtime_ns, size, ctime_ns)), for a
        directory with no racy file. Not kept when a name is not UTF-8 (a file
        name's bytes as os gives them back, surrogates, which SQLite's text
        cannot hold): that directory's files are hashed again each time."""
        if not (_storable(row[0]) and _storable(row[2])):
            return
        with self._lock:
            self._pending_dirs[directory] = (*row, time.time_ns() if now is None else now)

    def prefetch(self, paths: list[str]) -> None:
        """Load the entries of many paths in a few queries (misses remembered too):
        a no-op status asks about every dep and out, and one query per 500 paths
        beats one per path."""
        if self.prefetch_all(len(paths)):
            return
        with self._lock:
            known = self._known()
            todo = [p for p in dict.fromkeys(paths) if p not in known]
            for start in range(0, len(todo), 500):
                chunk = todo[start:start + 500]
                self._load(f"path IN ({','.join('?' * len(chunk))})", chunk)
            for path in todo:
                known.setdefault(path, None)

    def prefetch_all(self, lookups: int) -> bool:
        """Read the whole stat cache now if about `lookups` paths are to be asked
        for, at least as many as it has rows (a status of a large pipeline asks
        four keys per path): one pass over the table beats the index, and a path
        it does not hold is then known to have no row. Whether it is read."""
        with self._lock:
            self._known()  # learns whether state.db exists: never create it to read
            if not self._complete and lookups and lookups >= self._rows_at_most():
                # The rows of the prefixes read already are not read again.
                self._load(" AND ".join(["NOT (path >= ? AND path < ?)"] * len(self._prefixes))
                           or "1", [bound for prefix in self._prefixes for bound in _span(prefix)])
                self._complete = True
            return self._complete

    def prefetch_prefix(self, prefix: str) -> None:
        """Read every row whose path begins with `prefix` now (a range of the
        primary key's index; one of the prefix not among them has none): the
        rows a pass needs first, before prefetch_all reads the rest."""
        with self._lock:
            self._known()
            if prefix and not self._complete and prefix not in self._prefixes:
                self._prefixes += (prefix,)
                self._load("path >= ? AND path < ?", _span(prefix))

    def _rows_at_most(self) -> int:
        """An upper bound on the stat cache's rows (its largest rowid: one step
        down the table's tree, where counting would read all of it)."""
        if not self._exists:
            return 0
        found = self._db().execute("SELECT max(rowid) FROM stat_cache_ctime").fetchone()
        return int(found[0] or 0)

    def cached_digest(self, path: str, key: FileSignature) -> str | None:
        """The digest recorded for `path` if its stat still matches and was not racy."""
        with self._lock:
            entry = self._pending.get(path) or self._lookup(path)
        if entry is None or entry[0] != key:
            return None
        # changed_ns(key), written out: this runs once per path of every status
        if max(key[1], key[3]) + RACY_NS >= entry[2]:
            return None
        return entry[1]

    def recorded(self, path: str) -> bool:
        """Whether anything is known of `path`, up to date or not."""
        return bool(self.recorded_among([path]))

    def recorded_among(self, paths: Iterable[str], prefix: str = "") -> list[str]:
        """Those of `paths` whose key (`prefix` + path) is `recorded`, in order, at once."""
        with self._lock:
            pending, lookup = self._pending, self._lookup
            return [p for p in paths if (k := prefix + p) in pending or lookup(k) is not None]

    def module_imports(self, digest: str) -> str | None:
        """What the module with this content digest imports, as recorded by
        `record_module_imports` (project/pydeps.py): a module seen before is
        never parsed again. Keyed by content, so never out of date."""
        with self._lock:
            if digest not in self._imports:
                self._known()
                row = self._db().execute("SELECT imports FROM py_imports WHERE digest = ?",
                                         (digest,)).fetchone() if self._exists else None
                self._imports[digest] = row[0] if row else None
            return self._pending_imports.get(digest) or self._imports[digest]

    def record_module_imports(self, digest: str, imports: str) -> None:
        with self._lock:
            self._pending_imports[digest] = imports

    def record_digest(self, path: str, key: StatKey, digest: str) -> None:
        with self._lock:
            self._pending[path] = (key, digest, time.time_ns())

    def flush(self) -> None:
        """Write buffered stat entries and run records in one transaction."""
        with self._lock:
            if not (self._pending or self._pending_runs or self._pending_dirs
                    or self._pending_imports):
                return
            if self._conn is None and not self.path.exists() and not self.may_create():
                self._clear_pending()
                return
            # Sorted: B-tree inserts in key order are the cheap ones (20,000 new
            # rows for a freshly hashed directory).
            with gc_paused():
                rows = [(p, k.inode, k.mtime_ns, k.size, k.ctime_ns, d, t)
                        for p, (k, d, t) in sorted(self._pending.items())]
            runs = [tuple(r) for r in self._pending_runs]
            db = self._db()
            if runs:
                self._add_run_columns(db)
            with db:
                db.executemany("INSERT OR REPLACE INTO stat_cache_ctime VALUES (?,?,?,?,?,?,?)",
                               rows)
                db.executemany("INSERT OR REPLACE INTO dir_entries_ctime VALUES (?,?,?,?,?)",
                               [(path, *row) for path, row in self._pending_dirs.items()])
                db.executemany("INSERT OR REPLACE INTO py_imports VALUES (?,?)",
                               sorted(self._pending_imports.items()))
                db.executemany(f"INSERT INTO runs ({_RUNS_COLUMNS}) VALUES "
                               f"({','.join('?' * len(RunRecord._fields))})", runs)
            if self._stat is not None:
                self._stat.update(self._pending)
            self._imports.update(self._pending_imports)
            self._clear_pending()

    def _clear_pending(self) -> None:
        for pending in (self._pending, self._pending_runs, self._pending_dirs,
                        self._pending_imports):
            pending.clear()

    def add_run(self, record: RunRecord) -> None:
        """Buffered until `flush` (a repro flushes when it ends, Ctrl-C included):
        a transaction per stage would be most of a quick stage's overhead."""
        with self._lock:
            self._pending_runs.append(record)

    def invocations(self, since: float | None = None) -> list[str]:
        """The ids of the repros and backfills recorded (started at `since` or
        later, when given), newest first; rows from before invocations are left out."""
        if not self.path.exists():
            return []
        query = "SELECT invocation FROM runs WHERE invocation IS NOT NULL"
        query += " GROUP BY invocation"
        query += " HAVING MIN(started) >= ?" if since is not None else ""
        query += " ORDER BY MAX(id) DESC"
        return [row[0] for row in self._select(query, () if since is None else (since,))]

    def runs_of(self, invocations: list[str]) -> list[RunRecord]:
        """Every run of these invocations, in the order they were recorded."""
        if not invocations or not self.path.exists():
            return []
        rows: list[tuple[Any, ...]] = []
        for at in range(0, len(invocations), 500):  # SQLite caps a statement's parameters
            chunk = invocations[at:at + 500]
            rows += self._select(f"SELECT id, {_RUNS_COLUMNS} FROM runs WHERE invocation "
                                 f"IN ({','.join('?' * len(chunk))})", chunk)
        return [RunRecord(*row[1:]) for row in sorted(rows, key=lambda row: int(row[0]))
                if _timed(row[1:])]

    def runs(self, task: str | None = None, limit: int = 50) -> list[RunRecord]:
        """Most recent runs first."""
        if not self.path.exists():
            return []
        query = f"SELECT {_RUNS_COLUMNS} FROM runs"
        query += " WHERE task = ? OR task LIKE ?" if task else ""
        args: tuple[object, ...] = (task, f"{task}@%") if task else ()
        query += " ORDER BY id DESC LIMIT ?"
        return [RunRecord(*row) for row in self._select(query, (*args, limit)) if _timed(row)]

    def last_results(self) -> dict[str, str]:
        """{task: the result of its most recent run}."""
        return dict(self._select("SELECT task, result FROM runs WHERE id IN "
                                 "(SELECT MAX(id) FROM runs GROUP BY task)"))

    def _select(self, query: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        if not self.path.exists():
            return []
        with self._lock:
            db = self._db()
            self._add_run_columns(db)
            return db.execute(query, args).fetchall()

    @staticmethod
    def _add_run_columns(db: sqlite3.Connection) -> None:
        have = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
        for name, kind in _RUNS_ADDED:
            if name not in have:
                with db:
                    db.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _span(prefix: str) -> tuple[str, str]:
    """The paths beginning with `prefix`, as SQLite orders text (UTF-8): up to its successor."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _changed(item: ListedFile) -> int:
    return max(item[2], item[5])


def _storable(text: str) -> bool:
    try:  # nearly every name is ASCII: not encoded to tell
        return text.isascii() or text.encode("utf-8") is not None
    except UnicodeEncodeError:
        return False


def _timed(row: tuple[Any, ...]) -> bool:
    """Whether a runs row's start and duration are finite numbers: a row that
    a damaged or hand-edited state.db holds otherwise is left out of the
    history, not turned into a crash of every command that draws it."""
    return all(type(value) in (int, float) and math.isfinite(value) for value in row[1:3])

