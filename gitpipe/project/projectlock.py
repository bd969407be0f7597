"""ProjectLock, the one-writer mutex of a repository, and the record of the
stages its holder is running.

A gitpipe killed outright (SIGKILL, the OOM killer) cannot stop its stages:
they run on in their own process groups and may still write their outs. Each
local stage's command is therefore given the descriptor the flock is held
through (StageGroups.inherited): from its first instant, before gitpipe
could write anything down, the lock stays held while it lives, and no next
command takes it beside the stage. The holder also appends each local
stage's process group to the lock file as it starts and ends; the next
command names what still runs, from those lines and from the processes
holding a dead gitpipe's lock (lockholders.py), and refuses while a group
lives, naming the stage and the group to stop.

The lock file is this machine's own state (never committed, checked for
links), yet a line in it is believed only where it names this boot and the
start time of the group's leader: a planted or stale line can never name a
stranger's process for the user to kill. Linux only (/proc); elsewhere
nothing is recorded and a killed gitpipe's stages are the user's to find.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

from gitpipe.core.errors import BadInputError, ProjectLockedError
from gitpipe.project.lockrecord import RecordTooLarge, open_starts, pid, read_record
from gitpipe.project.procstat import start_time, stat_fields
from gitpipe.project.root import ensure_initialised
from gitpipe.trust import dotdir
from gitpipe.trust.checks import terminal_text

LOCK_NAME = dotdir.PROJECT_LOCK
_BOOT_ID = "/proc/sys/kernel/random/boot_id"
# The descriptor each held lock's flock is held through, by the lock file's
# path: the local executor gives it to each stage's command (lockholders.py).
_HELD: dict[str, int] = {}


def unlock_held() -> None:
    """Each project lock this process holds given back, before an exit that
    runs no cleanup (a second Ctrl-C): a process a stage left in a session of
    its own (a build server) keeps the descriptor, but not the lock. The
    record's `start` lines still name the stages' groups for the next run."""
    for fd in list(_HELD.values()):
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)


class ProjectLock:
    """flock on `.gitpipe/project.lock`.

    The kernel drops an flock when its process dies, so a lock left by a
    crashed gitpipe is reclaimed without any pid guessing; the pid written on
    the file's first line only names the holder in the error message.
    """

    def __init__(self, gitpipe_dir: Path, wait: float = 3.0) -> None:
        self.path = gitpipe_dir / LOCK_NAME
        self.wait = wait
        self._fd: int | None = None

    def acquire(self) -> None:
        ensure_initialised(self.path.parent.parent)
        dotdir.refuse_links(str(self.path.parent), (self.path.name,))
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:  # a link planted since the check: never followed
            raise BadInputError(f"'{dotdir.GITPIPE_DIR}/{self.path.name}': cannot open: "
                                f"{exc.strerror}") from None
        fd = _above_three(fd)
        try:
            self._wait_for(fd)
            refuse_left_running(_read_record(fd))
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        _HELD[str(self.path)] = fd

    def _wait_for(self, fd: int) -> None:
        """The flock taken, waiting `wait` seconds for another gitpipe; the
        stages of a killed one that still hold it refused at once."""
        deadline, looked = time.monotonic() + self.wait, False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as exc:
                if _looked_at_only(fd, exc) and time.monotonic() < deadline + _LOOK:
                    time.sleep(0.001)  # a status's instant look, not a gitpipe working here
                    continue
                late = time.monotonic() > deadline
                if not looked or late:  # a scan of /proc: only as the wait begins and ends
                    looked = True
                    _refuse([(task, pgid) for task, pgid, _ in _orphans(fd, _read_record(fd))])
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or late:
                    first = os.pread(fd, 32, 0).decode(errors="replace").split("\n", 1)[0]
                    raise ProjectLockedError(
                        f"another gitpipe process (pid {first.strip() or '?'}) is working in "
                        "this repository", hint="wait for it to finish, then try again") from None
                time.sleep(0.05)

    def release(self) -> None:
        if self._fd is not None:
            _HELD.pop(str(self.path), None)
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ProjectLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _above_three(fd: int) -> int:
    """`fd`, moved above 3 where it is 3 or less. Each stage's command keeps
    it (StageGroups.inherited): where gitpipe started with a standard
    descriptor closed, the lock's took its number, and the child's stdin or
    output replaced it; as 3 (a new process's first), subprocess, keeping only
    the first descriptor after the standard three, asks close_range for the
    empty range before it, is refused, and closes the others one by one."""
    if fd > 3:
        return fd
    try:
        return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 4)
    finally:
        os.close(fd)


class StageGroups:
    """Appends to the lock file which process group each stage runs in, for
    the next holder to find if this gitpipe is killed. One write per line
    with O_APPEND: the lines of stages started from several threads never mix."""

    def __init__(self, gitpipe_dir: Path) -> None:
        self.path = gitpipe_dir / LOCK_NAME
        self._fd: int | None = None
        self._opening = threading.Lock()
        self._boot = _boot_id()

    def inherited(self) -> tuple[int, ...]:
        """The descriptor a stage's command is given: the one this process
        holds the project lock's flock through, which the command then holds
        too, from its first instant to its end (lockholders.py); none where
        this process holds no lock there (a library caller)."""
        fd = _HELD.get(str(self.path))
        return () if fd is None else (fd,)

    def started(self, pgid: int, task: str) -> None:
        since = start_time(pgid)
        if self._boot is None or since is None:
            return  # nothing to check it by later: not recorded
        self._append(f"start {pgid} {since} {self._boot} {task}\n")

    def ended(self, pgid: int) -> None:
        if self._fd is not None:
            self._append(f"end {pgid}\n")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _append(self, line: str) -> None:
        with self._opening:
            if self._fd is None:
                try:
                    self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW
                                       | os.O_CLOEXEC)
                except OSError:
                    return  # no lock file (a library caller holding none): nothing to tell
        with contextlib.suppress(OSError):
            os.write(self._fd, line.encode(errors="replace"))


def refuse_left_running(record: str) -> None:
    """ProjectLockedError naming each stage of a killed gitpipe whose process
    group still lives, as the lock file's `record` names them."""
    _refuse(left_running(record))


def _refuse(running: list[tuple[str, int]]) -> None:
    """ProjectLockedError naming each stage of `running` (task, process
    group) that a killed gitpipe left running; none: nothing raised."""
    if not running:
        return
    named = ", ".join(f"'{terminal_text(task)}' (process group {pgid})" for task, pgid in running)
    one = len(running) == 1
    subject = "a stage" if one else f"{len(running)} stages"
    raise ProjectLockedError(
        f"{subject} started by a gitpipe that was killed {'is' if one else 'are'} still "
        f"running: {named}; running {'it' if one else 'them'} again beside "
        f"{'it' if one else 'them'} would mix two runs' outs",
        hint=stop_advice([pgid for _, pgid in running]))


def stop_advice(groups: list[int]) -> str:
    """What to do about the process groups of stages a killed gitpipe left
    running (repro's refusal and status say it alike)."""
    them = "it" if len(groups) == 1 else "them"
    return f"wait for {them} to end, or stop {them}: kill -- " + " ".join(f"-{g}" for g in groups)


class RunningStage(NamedTuple):
    """A stage the lock's record says is running: its task, its process
    group, and whether the gitpipe that started it was killed (else it still
    runs it)."""

    task: str
    process_group: int
    killed: bool
    seconds: int | None = None  # how long it has run; None where /proc cannot say

    def to_json(self) -> dict[str, object]:
        """One entry of `status --json`'s `running` (docs/reference/json.md)."""
        return {"task": self.task, "process_group": self.process_group,
                "gitpipe_killed": self.killed, "seconds": self.seconds}


def running_stages(gitpipe_dir: Path) -> list[RunningStage]:
    """The stages the lock file's record names as running, for `status`:
    read only, never waiting for the lock; read only where the file is not
    empty (a gitpipe works here, or one was killed). A live holder is one
    whose process started no later than the stage did: a pid used again
    after a kill started after. Where the holder is gone yet its lock held,
    what holds it is named too (a stage it started and had not recorded)."""
    path = gitpipe_dir / LOCK_NAME
    try:
        if not os.lstat(path).st_size:  # no gitpipe works here: the common case, not opened
            return []
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return []
    try:
        record = _read_record(fd)
        holder_since = _holder_since(fd, record)
        left = _left(record)
        if holder_since is None and _held(fd):  # by what the gone holder started
            known = {pgid for _, pgid, _ in left}
            left += [found for found in _orphans(fd, record) if found[1] not in known]
    except (OSError, RecordTooLarge):  # the next command to take the lock says so
        return []
    finally:
        os.close(fd)
    uptime = _uptime() if left else None
    return [RunningStage(task, pgid, holder_since is None or holder_since > since,
                         None if uptime is None else _seconds_since(since, uptime))
            for task, pgid, since in left]


_LOOK = 1.0  # seconds status's looks (`_held`, an instant each) may add to a wait


def _looked_at_only(fd: int, failed: OSError) -> bool:
    """Whether the exclusive flock just refused is held only shared (`_held`):
    a gitpipe holds it exclusive, which refuses a shared one too."""
    return failed.errno in (errno.EAGAIN, errno.EACCES) and not _held(fd)


def _held(fd: int) -> bool:
    """Whether some process holds the flock on the file `fd` is open on (a
    shared one taken and given back at once where none does)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        return exc.errno in (errno.EAGAIN, errno.EACCES)
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False


def _holder_since(fd: int, record: str) -> int | None:
    """The start time of the gitpipe the record names as the lock's holder,
    where it runs and holds the lock on `fd`'s file: None where it is gone, a
    zombie (killed, not yet reaped) or its pid is now another process's."""
    holder = pid(record.partition("\n")[0].strip())
    since = None if holder is None else start_time(holder, zombie=False)
    if holder is None or since is None:
        return None
    # imported here: read only beside another gitpipe, or after one was killed
    from gitpipe.project.lockholders import holds_flock

    return since if holds_flock(fd, holder) else None


def _orphans(fd: int, record: str) -> list[tuple[str, int, int]]:
    """(task, process group, start time) of each stage holding the flock on
    `fd`'s file that a gone gitpipe took (lockholders.py); a group the
    record's `start` lines name is given their task."""
    # imported here: read only after a gitpipe was killed, or beside another
    from gitpipe.project.lockholders import orphan_groups

    tasks = {pgid: task for pgid, _, _, task in open_starts(record.split("\n")[1:]).values()}
    return orphan_groups(fd, tasks)


def _uptime() -> float | None:
    """Seconds since boot, or None where /proc/uptime cannot be read."""
    try:
        with open("/proc/uptime") as handle:
            return float(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _seconds_since(ticks: int, uptime: float) -> int:
    """Seconds from a start time in clock ticks since boot (as /proc/PID/stat
    says it) to `uptime`."""
    return max(0, int(uptime - ticks / os.sysconf("SC_CLK_TCK")))


def left_running(record: str) -> list[tuple[str, int]]:
    """(task, process group) of each stage the record says started and did not
    end, whose group still lives and is the one recorded (this boot, its
    leader's start time)."""
    return [(task, pgid) for task, pgid, _ in _left(record)]


def _left(record: str) -> list[tuple[str, int, int]]:
    """left_running's stages, each with its recorded start time."""
    boot = _boot_id()
    started = open_starts(record.split("\n")[1:])
    return [(task, pgid, int(since)) for pgid, since, line_boot, task in sorted(started.values())
            if boot is not None and line_boot == boot and _still_ours(pgid, since)]


def _still_ours(pgid: int, since: str) -> bool:
    """The group lives and is the recorded one: its leader has the recorded
    start time, or is gone while the group lives on (the kernel gives no new
    process an id still in use as a group's); and a process of it is more
    than a zombie (where nothing reaps orphans, a container's first process
    that is no init, the stages of a killed gitpipe stay zombies for good,
    which neither write nor can be killed)."""
    if pgid <= 1:
        return False
    try:
        os.killpg(pgid, 0)
    except OSError:  # gone, or another user's: not a group this user's gitpipe started
        return False
    leader = start_time(pgid)
    return (leader is None or str(leader) == since) and _group_runs(pgid)


def _group_runs(pgid: int) -> bool:
    """Whether a process of the group is not a zombie (/proc read only here,
    after a gitpipe was killed)."""
    group = str(pgid).encode()
    for entry in os.listdir("/proc"):
        fields = stat_fields(entry) if entry.isdecimal() else []
        if len(fields) > 2 and fields[2] == group and fields[0] != b"Z":
            return True
    return False


def _read_record(fd: int) -> str:
    """The whole record's meaning, read in bounded memory (lockrecord.py)."""
    return read_record(fd, _group_gone)


def _group_gone(pgid: int) -> bool:
    """Whether no process of the group lives. Another user's group (EPERM)
    is not gone: a line is dropped early only for a group surely ended, and
    _still_ours decides later whether the group is this user's."""
    try:
        os.killpg(pgid, 0)
    except OSError as exc:
        return exc.errno == errno.ESRCH
    return False


def _boot_id() -> str | None:
    try:
        with open(_BOOT_ID) as handle:
            boot = handle.read().strip()
    except OSError:
        return None
    return boot if boot and " " not in boot else None
