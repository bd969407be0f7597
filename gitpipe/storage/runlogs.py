"""Where each run's log goes under `.gitpipe/logs`, and the retention that keeps
the folder from growing run after run (`core.log_retention`, applied after every
run and by `gc`)."""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

LOGS_DIR = "logs"
# `<task>-<YYYYmmddTHHMMSS>-<pid>.log`, the task as _safe gives it; a later
# run of the task by the same process in the same second adds `.<n>`.
_LOG_NAME = re.compile(r"^(?P<task>.+)-\d{8}T\d{6}-\d+(?:\.\d+)?\.log$")
# A file name's 255 bytes less `-<YYYYmmddTHHMMSS>-<pid>.<n>.log` (pids below
# 10**10, fewer than 10**4 runs of a task in one second by one process).
_TASK_BYTES = 255 - len("-20240101T000000-") - 10 - len(".9999") - len(".log")


def log_path(logs_dir: Path, task: str) -> Path:
    """A new log's path for one run of `task`: a name no log has yet, so a run
    in the same second and process as the last (`watch`, the Python API)
    neither appends to that run's log nor, printing nothing, is said to have
    written it."""
    stem = f"{_safe(task)}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    path = logs_dir / f"{stem}.log"
    serial = 1
    while os.path.lexists(path):
        serial += 1
        path = logs_dir / f"{stem}.{serial}.log"
    return path


def _safe(task: str) -> str:
    """The task as its logs' names begin. A task's name comes from
    gitpipe.yaml and has no length bound, where a file name has 255 bytes:
    a longer one keeps its beginning and a hash of the whole (`~` is in no
    task's name, so it stands for no other task)."""
    name = task.replace("/", "_")
    if len(name.encode()) <= _TASK_BYTES:
        return name
    digest = hashlib.sha256(task.encode()).hexdigest()[:16]
    return name.encode()[:_TASK_BYTES - 17].decode(errors="ignore") + "~" + digest


def old_logs(logs_dir: Path, keep: int, task: str | None = None) -> list[Path]:
    """The logs beyond the `keep` newest of each task (of `task` only, when
    given). Files not named like a log are left out, and nothing is followed: a
    symlinked logs folder or a log that is a symlink is never listed."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1, not {keep}")
    old: list[Path] = []
    for logs in _logs_by_task(logs_dir, None if task is None else _safe(task)).values():
        logs.sort(reverse=True)
        old += [path for _, path in logs[keep:]]
    return old


def prune_logs(logs_dir: Path, keep: int, task: str | None = None) -> list[Path]:
    """Delete what `old_logs` lists; return what was deleted."""
    removed = []
    for path in old_logs(logs_dir, keep, task):
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    return removed


def _logs_by_task(logs_dir: Path, only: str | None) -> dict[str, list[tuple[int, Path]]]:
    """Each task's logs as (mtime_ns, path), regular files only."""
    if logs_dir.is_symlink() or not logs_dir.is_dir():
        return {}
    found: dict[str, list[tuple[int, Path]]] = {}
    with os.scandir(logs_dir) as entries:
        for entry in entries:
            match = _LOG_NAME.match(entry.name)
            if match is None or not entry.is_file(follow_symlinks=False):
                continue
            if only is not None and match["task"] != only:
                continue
            mtime = entry.stat(follow_symlinks=False).st_mtime_ns
            found.setdefault(match["task"], []).append((mtime, Path(entry.path)))
    return found


__all__ = ["LOGS_DIR", "log_path", "old_logs", "prune_logs"]
