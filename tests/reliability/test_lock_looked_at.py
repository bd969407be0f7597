"""`status` looks at a killed gitpipe's lock with a shared flock it gives
back at once. A `repro` with `core.lock_wait: 0` that came at that instant
was refused, as if another gitpipe worked there; it takes the lock once the
look is over. A gitpipe that holds the lock still refuses it at once."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest

from gitpipe.core.errors import ProjectLockedError
from gitpipe.project.projectlock import LOCK_NAME, ProjectLock
from tests.conftest import Repo


def _other_hold(repo: Repo, kind: int) -> int:
    repo.run("init", check=True)
    fd = os.open(repo.path / ".gitpipe" / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, kind | fcntl.LOCK_NB)
    return fd


def test_a_lock_only_looked_at_is_taken_without_waiting(repo: Repo) -> None:
    looking = _other_hold(repo, fcntl.LOCK_SH)
    over = threading.Timer(0.05, lambda: fcntl.flock(looking, fcntl.LOCK_UN))
    over.start()
    lock = ProjectLock(repo.path / ".gitpipe", wait=0)
    try:
        lock.acquire()
    finally:
        over.join()
        os.close(looking)
    lock.release()


def test_a_lock_held_is_refused_at_once_with_no_wait(repo: Repo) -> None:
    holding = _other_hold(repo, fcntl.LOCK_EX)
    try:
        with pytest.raises(ProjectLockedError):
            ProjectLock(Path(repo.path / ".gitpipe"), wait=0).acquire()
    finally:
        os.close(holding)
