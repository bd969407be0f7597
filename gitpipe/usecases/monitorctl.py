"""`gitpipe monitor start|stop|status`: the file-system monitor's process
(usecases/fsmonitor.py) started detached, asked what it sees, stopped.

Only a command this user runs starts a monitor: nothing in a repository
(config, spec, hooks) does, and its socket and log live in this user's cache
folder for the repository (trust/monitorlink.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import NamedTuple

from gitpipe.core.errors import BadInputError, GitpipeError
from gitpipe.trust import monitorlink as link
from gitpipe.trust.dotdir import link_problems, user_cache_dir

# How long `start` waits for a new monitor to have watched the whole tree.
START_WAIT = 120.0


class MonitorState(NamedTuple):
    pid: int
    folders: int
    generation: int
    instance: str
    state: str   # "watching", or "blind: why"


def status(root: str) -> MonitorState | None:
    """What the monitor of the project at `root` says of itself; None if none answers."""
    folder = user_cache_dir(root)
    reply = None if folder is None else link.ask(folder, link.STATUS)
    words = (reply or "").split(" ", 5)
    if len(words) != 6 or words[0] != "status" or not all(w.isdecimal() for w in words[1:4]):
        return None
    return MonitorState(int(words[1]), int(words[2]), int(words[3]), words[4], words[5])


def start(root: str) -> tuple[MonitorState, bool]:
    """Start the monitor of the project at `root` unless one runs: (its state,
    whether it was started now)."""
    if not sys.platform.startswith("linux"):
        raise BadInputError(f"the file-system monitor needs Linux (inotify); this is "
                            f"{sys.platform!r}",
                            hint="gitpipe status checks every input with stat calls without it")
    problems = link_problems(root)
    if problems:
        raise BadInputError("\n".join(problems))
    folder = user_cache_dir(root, create=True)
    if folder is None:
        raise BadInputError(f"no cache folder of this user's for {root!r} (it must be this "
                            "user's, mode 0700, outside the work tree)")
    running = status(root)
    if running is not None:
        return running, False
    log_path = os.path.join(folder, link.LOG_NAME)
    with open(log_path, "ab") as log:
        # Started in this user's folder, never in the work tree: `python -m`
        # puts its working folder first on the import path, and a clone's
        # own `gitpipe/` there would run in place of this one.
        process = subprocess.Popen(
            [sys.executable, "-m", "gitpipe.usecases.fsmonitor", root], cwd=folder,
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + START_WAIT
    while time.monotonic() < deadline:
        found = status(root)
        if found is not None:
            return found, True
        if process.poll() is not None:
            raise GitpipeError(f"the monitor stopped at once (exit {process.returncode}): "
                               f"{_last_line(log_path)}", hint=f"its log: {log_path}")
        time.sleep(0.05)
    raise GitpipeError(f"the monitor did not answer within {START_WAIT:.0f} s",
                       hint=f"its log: {log_path}")


def stop(root: str) -> bool:
    """Stop the monitor of the project at `root`; False if none was running."""
    folder = user_cache_dir(root)
    if folder is None or link.ask(folder, link.STOP) is None:
        return False
    path = link.socket_path(folder)
    deadline = time.monotonic() + 10.0
    while os.path.lexists(path) and time.monotonic() < deadline:
        time.sleep(0.02)  # it removes its socket last
    return True


def _last_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""
