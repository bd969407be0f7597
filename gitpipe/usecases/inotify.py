"""Linux inotify, called directly (ctypes on libc) for the file-system monitor
(usecases/fsmonitor.py).

Not watchdog: its recursive inotify observer logs a warning and goes on
where a watch cannot be added below the root (the user's watch limit
reached), which leaves part of the tree unseen without telling its caller.
The monitor must know of every such failure, and of every queue overflow,
to stop vouching for the tree.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

# Everything that changes what a stat call or a listing reports; reads
# (IN_ACCESS, IN_OPEN, IN_CLOSE_NOWRITE) are left out: a status reads its
# inputs, and must not count as a change to them.
CHANGES = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE
           | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, length of the name

Event = tuple[int, int, str]  # (watch descriptor, mask, name: "" for the folder itself)


class WatchError(OSError):
    """A folder that could not be watched (not one that vanished meanwhile)."""


class Inotify:
    """One inotify instance: folders watched, events read."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            code = ctypes.get_errno()
            raise WatchError(code, f"inotify_init1: {os.strerror(code)}")
        self.fd: int = fd

    def watch(self, folder: str) -> int | None:
        """The watch descriptor of `folder` (the same one if it is watched
        already); None where it is gone or no longer a folder; WatchError on
        any other failure (ENOSPC: the user's watch limit)."""
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(folder),
                                          CHANGES | IN_ONLYDIR | IN_DONT_FOLLOW)
        if wd >= 0:
            return int(wd)
        code = ctypes.get_errno()
        if code in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise WatchError(code, os.strerror(code), folder)

    def read(self) -> list[Event]:
        """The events queued so far, in order (none: an empty list)."""
        try:
            data = os.read(self.fd, 1 << 20)
        except BlockingIOError:
            return []
        events: list[Event] = []
        at = 0
        while at < len(data):
            wd, mask, _, length = _HEADER.unpack_from(data, at)
            at += _HEADER.size
            name = data[at:at + length].rstrip(b"\0")
            at += length
            events.append((wd, mask, os.fsdecode(name)))
        return events

    def close(self) -> None:
        os.close(self.fd)
