"""The processes that hold the project lock after the gitpipe that took it is
gone: the stages it started, found by the kernel's word rather than the record.

Each local stage's command is given the descriptor through which gitpipe
holds the project lock's flock (executors/local.py), and a process has every
descriptor of its parent from the moment it exists: before the command runs
a single instruction, and so before gitpipe can append the stage's `start`
line to the record. A flock lives as long as one descriptor of it is open,
so a gitpipe killed outright (even between starting a command and recording
it) leaves its lock held by what it started, for as long as that runs: no
next command can take the lock beside it. This module names those processes
for the user (`status`, the refusal's advice).

Nothing here is taken from the work tree's files. A process is named only
where it is this user's, has this very file open (device and inode), and
its descriptor holds the flock on it (`/proc/PID/fdinfo/FD`'s `lock:` line)
that a process no longer running took: a planted record, a file another
user opened, or a live gitpipe and the stages it runs name nothing. Linux
only (/proc); elsewhere nothing is found, and the held lock still refuses.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from gitpipe.project.lockrecord import pid
from gitpipe.project.procstat import start_time, stat_fields

_ENVIRON_MAX = 8 << 20  # more than the kernel lets an exec pass (ARG_MAX)
UNNAMED = "a stage not yet named"  # a process caught before its exec


class Holder(NamedTuple):
    """A process still holding the flock a gone process took."""

    pid: int
    group: int
    session: int
    since: int  # its start time, in clock ticks since boot


def orphan_groups(fd: int, tasks: Mapping[int, str]) -> list[tuple[str, int, int]]:
    """(task, process group, start time) of each process group holding the
    flock on the file `fd` is open on that a gone process took, whose session
    is one a stage started or its gitpipe's own (its leader holds the lock
    too, or is gone): never the user's shell's, which a process caught
    between its fork and its own session is still in. `tasks` names groups
    the record knows; another is named from its leader's environment."""
    holders = orphan_holders(fd)
    pids = {holder.pid for holder in holders}
    groups: dict[int, list[Holder]] = {}
    for holder in holders:
        if holder.session in pids or start_time(holder.session, zombie=False) is None:
            groups.setdefault(holder.group, []).append(holder)
    found = []
    for group, members in sorted(groups.items()):
        first = min(members, key=lambda holder: holder.since)
        task = tasks.get(group) or _task_of(first.pid) or UNNAMED
        found.append((task, group, first.since))
    return found


def orphan_holders(fd: int) -> list[Holder]:
    """This user's processes, this one aside, whose descriptor on the file
    `fd` is open on holds a flock that a process no longer running took."""
    opened = _opened_as(fd)
    if opened is None:
        return []
    name, file = opened
    me, uid = os.getpid(), os.getuid()
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdecimal() or int(entry) == me:
            continue
        held = _held_flock(entry, uid, name, file)
        if held is None:
            continue
        fields = stat_fields(entry)
        if len(fields) <= 19 or not fields[19].isdigit() or fields[0] == b"Z":
            continue
        since = int(fields[19])
        if _locker_gone(held, int(entry), since):
            found.append(Holder(int(entry), int(fields[2]), int(fields[3]), since))
    return found


def holds_flock(fd: int, process: int) -> bool:
    """Whether `process` itself took and holds the flock on the file `fd` is
    open on: a live gitpipe does; a process that was given its pid after that
    gitpipe was killed does not. Another user's process, whose descriptors
    cannot be read, is taken at its word (a gitpipe run with sudo)."""
    try:
        if os.stat(f"/proc/{process}").st_uid != os.getuid():
            return True
    except OSError:
        return False
    opened = _opened_as(fd)
    return opened is not None and _held_flock(str(process), os.getuid(), *opened) == process


def _opened_as(fd: int) -> tuple[str, tuple[int, int]] | None:
    """The path `fd` is open on, as /proc names it, and the file's device and
    inode: what another process's descriptor on the same file matches."""
    try:
        target = os.fstat(fd)
        return os.readlink(f"/proc/self/fd/{fd}"), (target.st_dev, target.st_ino)
    except OSError:
        return None


def _held_flock(entry: str, uid: int, name: str, file: tuple[int, int]) -> int | None:
    """The pid the kernel gives as the taker of the flock a descriptor of
    process `entry` holds on `file` (its path `name`; device, inode); None
    where it holds none or is not this user's. A descriptor's link is read
    before it is followed: reading it touches no file system, where a `stat`
    of a file on a hung network mount would wait with it."""
    try:
        if os.stat(f"/proc/{entry}").st_uid != uid:
            return None
        descriptors = os.listdir(f"/proc/{entry}/fd")
    except OSError:
        return None
    for descriptor in descriptors:
        try:
            if os.readlink(f"/proc/{entry}/fd/{descriptor}") != name:
                continue
            opened = os.stat(f"/proc/{entry}/fd/{descriptor}")
            if (opened.st_dev, opened.st_ino) != file:
                continue
            with open(f"/proc/{entry}/fdinfo/{descriptor}", "rb") as handle:
                info = handle.read(1 << 16)
        except OSError:
            continue
        for line in info.split(b"\n"):
            # lock:\t1: FLOCK  ADVISORY  WRITE PID MAJ:MIN:INODE 0 EOF
            words = line.split()
            if len(words) > 6 and words[0] == b"lock:" and words[2] == b"FLOCK" \
                    and words[6].endswith(b":%d" % file[1]):
                taker = pid(words[5].decode())
                return 0 if taker is None else taker
    return None


def _locker_gone(taker: int, holder: int, since: int) -> bool:
    """Whether the process that took the flock no longer runs: the kernel
    says 0 once it is gone; a zombie; or its pid now names a process started
    after the holder (used again). A holder that took it itself, or one a
    running process started, is a live gitpipe's."""
    if taker == holder:
        return False
    if taker == 0:
        return True
    started = start_time(taker, zombie=False)
    return started is None or started > since


def _task_of(process: int) -> str | None:
    """The task a stage's process runs, as its environment names it
    (GITPIPE_STAGE, GITPIPE_PARTITION: executors/base.command_env)."""
    try:
        with open(f"/proc/{process}/environ", "rb") as handle:
            environ = handle.read(_ENVIRON_MAX)
    except OSError:
        return None
    found = dict(item.partition(b"=")[::2] for item in environ.split(b"\0")
                 if item.startswith(b"GITPIPE_"))
    stage = found.get(b"GITPIPE_STAGE", b"").decode(errors="replace")
    partition = found.get(b"GITPIPE_PARTITION", b"").decode(errors="replace")
    if not stage:
        return None
    return f"{stage}@{partition}" if partition else stage
