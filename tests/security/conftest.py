"""Attack tests: each builds a malicious repository or remote for real, runs
gitpipe on it, and compares a snapshot of the whole temp tree before and after."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

Snapshot = dict[str, tuple[str, int, str]]  # relpath -> (kind, permission bits, content digest)


def snapshot(root: Path, skip: Iterable[str] = (".git",)) -> Snapshot:
    """Every entry under `root` by its relative path: kind, mode and content
    (a symlink by its target, never followed). Directories named in `skip` are
    left out wherever they appear (git's own bookkeeping changes on every command)."""
    skipped = set(skip)
    found: Snapshot = {}
    pending = [root]
    while pending:
        directory = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                rel = os.path.relpath(entry.path, root)
                info = entry.stat(follow_symlinks=False)
                mode = stat.S_IMODE(info.st_mode)
                if entry.is_symlink():
                    found[rel] = ("link", 0, os.readlink(entry.path))
                elif entry.is_dir(follow_symlinks=False):
                    found[rel] = ("dir", mode, "")
                    if entry.name not in skipped:
                        pending.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    with open(entry.path, "rb") as handle:  # a chunk at a time: a sparse file
                        digest = hashlib.file_digest(handle, "sha256").hexdigest()
                    found[rel] = ("file", mode, digest)
                else:
                    found[rel] = ("special", mode, "")
    return found


def changed(before: Snapshot, after: Snapshot) -> set[str]:
    """Relative paths added, removed or altered between two snapshots."""
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


def assert_only_changed(before: Snapshot, after: Snapshot, allowed: Iterable[str] = ()) -> None:
    """Nothing changed but the paths in `allowed` (and anything under them)."""
    prefixes = tuple(allowed)
    unexpected = sorted(path for path in changed(before, after)
                        if not any(path == p or path.startswith(p.rstrip("/") + "/")
                                   for p in prefixes))
    assert not unexpected, f"changed outside what was declared: {unexpected}"


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """An HTTP server on 127.0.0.1 answering with `handler` in a thread; its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


class Recording(BaseHTTPRequestHandler):
    """Any request: its first line and its headers kept in `seen` (reset it
    per test), answered `status` with no body."""

    seen: ClassVar[list[str]] = []
    status = 500

    def _record(self) -> None:
        self.seen.append(f"{self.requestline}\n{self.headers}")
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_HEAD = do_POST = _record

    def log_message(self, *args: Any) -> None:
        pass
