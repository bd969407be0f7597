"""Reading the project lock's record of running stages in bounded memory.

The record is this machine's state, but a file in `.gitpipe/` may be of any
size: a sparse file of many gigabytes, or one line that never ends. It is
read a block at a time and kept as what it means: the holder's line and the
`start` lines no `end` line followed (a stage started late in a long
backfill is still found). A line longer than any gitpipe writes names no
stage it started and is passed over; a record longer than any run writes is
not read at all (the lock refuses to go on: projectlock.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

from gitpipe.core.errors import BadInputError
from gitpipe.trust import dotdir

# A line gitpipe writes holds a process group, a start time, the boot id and
# a task name (a file name's length at most: its log is named after it).
_LINE_MAX = 8192
# Two lines (start, end) of about a hundred bytes per stage: millions of
# stages in one run stay well below.
RECORD_MAX = 1 << 30
_BLOCK = 1 << 20
# Stages started and not ended kept before those whose group is gone are
# dropped: a gitpipe killed outright leaves at most as many as it ran at once.
_OPEN_KEPT = 4096


PID_MAX = (1 << 31) - 1  # pid_t: a record's group beyond it names no process


class RecordTooLarge(BadInputError):
    """The record is larger than any gitpipe writes: not read."""


def read_record(fd: int, gone: Callable[[int], bool]) -> str:
    """The record's meaning as text: the holder's line, then each `start`
    line not ended (`gone` tells a group that no longer lives, whose line
    may go early)."""
    size = os.fstat(fd).st_size
    if size > RECORD_MAX:
        raise RecordTooLarge(
            f"'{dotdir.GITPIPE_DIR}/{dotdir.PROJECT_LOCK}' is {size} bytes, more than any "
            f"gitpipe writes there ({RECORD_MAX} at most): not read",
            hint="if no gitpipe and no stage one started still runs here, remove it")
    lines = _lines(fd, size)
    holder = next(lines, "")
    started = open_starts(lines, gone)
    return "".join(f"{line}\n" for line in
                   (holder, *(f"start {' '.join(map(str, f))}" for f in started.values())))


def open_starts(lines: Iterable[str], gone: Callable[[int], bool] | None = None
                ) -> dict[int, tuple[int, str, str, str]]:
    """The `start` lines' fields (start_fields) by process group, for each
    stage no `end` line followed; with `gone`, the groups it says no longer
    live are dropped whenever more than _OPEN_KEPT are open (bounded memory)."""
    started: dict[int, tuple[int, str, str, str]] = {}
    prune_at = _OPEN_KEPT
    for line in lines:
        kind, _, rest = line.partition(" ")
        if kind == "start" and (fields := start_fields(rest)) is not None:
            started[fields[0]] = fields
        elif kind == "end" and (group := pid(rest)) is not None:
            started.pop(group, None)
        if gone is not None and len(started) > prune_at:
            started = {g: kept for g, kept in started.items() if not gone(g)}
            prune_at = max(_OPEN_KEPT, 2 * len(started))
    return started


def _lines(fd: int, size: int) -> Iterator[str]:
    """The file's lines up to `size` bytes, each at most _LINE_MAX (a longer
    one is given as an empty line: it names nothing)."""
    offset, pending, overlong = 0, b"", False
    while offset < size:
        block = os.pread(fd, min(_BLOCK, size - offset), offset)
        if not block:
            break
        offset += len(block)
        *complete, pending = (pending + block).split(b"\n")
        for raw in complete:
            yield "" if overlong or len(raw) > _LINE_MAX else raw.decode(errors="replace")
            overlong = False
        if len(pending) > _LINE_MAX:
            pending, overlong = b"", True
    if pending and not overlong:
        yield pending.decode(errors="replace")


def start_fields(rest: str) -> tuple[int, str, str, str] | None:
    """A `start` line's (process group, leader's start time, boot id, task),
    or None where it names no process."""
    fields = rest.split(" ", 3)
    group = pid(fields[0])
    if len(fields) != 4 or group is None or not _is_number(fields[1]):
        return None
    return group, fields[1], fields[2], fields[3]


def pid(text: str) -> int | None:
    """The process id `text` names, or None where it can name none: not
    digits, or beyond what a pid can be (the kernel's pid_t), which neither
    Python's int() of any length nor killpg would take."""
    if not _is_number(text) or len(text) > len(str(PID_MAX)):
        return None
    number = int(text)
    return number if number <= PID_MAX else None


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdecimal()
