"""Command slots (engine/slots.py): --jobs commands at once, none after a stop."""

from __future__ import annotations

import threading
import time

from gitpipe.engine.scheduler import Limits
from gitpipe.engine.slots import CommandSlots

# NOTE: only a guard against a hung test; no assertion depends on elapsed time.
DEADLOCK_GUARD = 20


def test_steps_get_room_beside_the_commands_except_with_one_job() -> None:
    limits = Limits(jobs=3, keep_going=True, group_limits={"stage:a": 1})
    more = CommandSlots(3).step_limits(limits)
    assert (more.jobs, more.keep_going, more.group_limits) == (6, True, {"stage:a": 1})
    assert CommandSlots(1).step_limits(Limits(jobs=1)).jobs == 1


def test_no_more_than_jobs_slots_are_held_at_once() -> None:
    slots, lock = CommandSlots(2), threading.Lock()
    active, most = [0], [0]

    def command() -> None:
        with slots.held() as held:
            assert held
            with lock:
                active[0] += 1
                most[0] = max(most[0], active[0])
            time.sleep(0.02)
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=command) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLOCK_GUARD)
    assert most[0] == 2


def test_a_step_waiting_when_the_run_stops_gets_no_command() -> None:
    slots = CommandSlots(1)
    answers: list[bool] = []
    with slots.held() as first:
        waiter = threading.Thread(target=lambda: answers.append(_held(slots)))
        waiter.start()
        slots.stopped.set()  # a failure while the waiter waits for the one slot
    waiter.join(DEADLOCK_GUARD)
    assert first and answers == [False]


def _held(slots: CommandSlots) -> bool:
    with slots.held() as held:
        return held
