"""How a node of a run ended: the scheduler's verdict, the repro table's column.

Its own module so that a no-op `repro` can report "skipped" without importing
the scheduler (threads, futures, logging), a noticeable part of that command.
"""

from __future__ import annotations

import enum


class Outcome(enum.Enum):
    RAN = "ran"
    SKIPPED = "skipped"        # up to date, nothing to do
    RESTORED = "restored"      # outs restored instead of running
    RECORDED = "recorded"      # only the declaration changed: the lock re-recorded, no run
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its command was stopped by Ctrl-C: nothing recorded
    BLOCKED = "blocked"        # an upstream failed
    CANCELLED = "cancelled"    # never started: a failure without keep-going, or Ctrl-C

    @property
    def ok(self) -> bool:
        return self in (Outcome.RAN, Outcome.SKIPPED, Outcome.RESTORED, Outcome.RECORDED)
