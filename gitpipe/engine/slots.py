"""Command slots: `--jobs` commands at once, their bookkeeping beside them.

A step judges its task, runs its command and records the outs. Only the
command takes one of the `--jobs` slots: with more than one, the judging
before it and the recording after it run in as many threads again, so a slot
passes from one command straight to the next instead of waiting while a task
is hashed, cached and written to the lock. With `-j 1` a stage is judged,
run and recorded before the next one is judged, as the user asked.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator

from gitpipe.engine.scheduler import Limits


class CommandSlots:
    """At most `jobs` commands at once; none started once `stopped` is set."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self._free = threading.Semaphore(self.jobs)
        # The scheduler's own stop (a failure without --keep-going, Ctrl-C): a
        # step waiting for a slot then starts no command.
        self.stopped = threading.Event()

    def step_limits(self, limits: Limits) -> Limits:
        """`limits` with room for the steps that judge or record beside the commands."""
        steps = self.jobs * 2 if self.jobs > 1 else 1
        return dataclasses.replace(limits, jobs=steps)

    @contextlib.contextmanager
    def held(self) -> Iterator[bool]:
        """A slot for one command, waited for: True while it is held, False when
        the run stopped meanwhile (the command must not start)."""
        with self._free:
            yield not self.stopped.is_set()
