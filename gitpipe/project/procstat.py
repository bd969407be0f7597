"""What /proc says of a process: its state, group, session and start time."""

from __future__ import annotations

import os


def start_time(pid: int, zombie: bool = True) -> int | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat's
    22nd field), or None where it is gone, there is no /proc, or (unless
    `zombie`) it is a zombie."""
    fields = stat_fields(str(pid))
    if len(fields) <= 19 or not fields[19].isdigit() or (not zombie and fields[0] == b"Z"):
        return None
    return int(fields[19])


def stat_fields(pid: str) -> list[bytes]:
    """/proc/PID/stat's fields after the command's name (the state first),
    or none where the process is gone or there is no /proc."""
    # A descriptor read, not a file object: its making asks the kernel five
    # more questions (stat twice, position twice, terminal), once per stage run.
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        parts = [os.read(fd, 4096)]
        while len(parts[-1]) == 4096:  # the file is made whole at the first read
            parts.append(os.read(fd, 4096))
        return b"".join(parts).rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return []
    finally:
        os.close(fd)
