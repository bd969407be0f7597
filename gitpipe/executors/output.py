"""A command's output as it comes: copied whole to its log (made at the first
byte) and, line by line, to the sink that shows it live."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from gitpipe.core.errors import GitpipeError
from gitpipe.executors.base import OutputSink

READ_CHUNK = 64 * 1024
LINE_LIMIT = 64 * 1024  # a longer line reaches the sink in pieces of this size


class Output:
    """The command's output copied to its log as it comes (all of it) and, line by
    line, to `sink`, in chunks: memory stays bounded however long a line is (a
    command printing gigabytes without a newline). A line the command redraws
    with carriage returns (its own progress bar) reaches the sink frame by
    frame, each ending in `\\r`, then once finished as the last frame.

    The thread that waits for the command reads its pipe too (`Watch`): no
    thread per command. The log is made at the first byte the command prints:
    one that prints nothing leaves no log (a new file is the dearest thing a
    short command costs the kernel)."""

    def __init__(self, stream: IO[bytes], log_path: Path, task: str,
                 sink: OutputSink | None) -> None:
        self.stream, self.log_path, self.task, self.sink = stream, log_path, task, sink
        self.log: int | None = None
        self.pending, self.shown = b"", b""
        self.open = True

    def read(self) -> None:
        """One read of what the pipe holds; at its end, the output is closed."""
        chunk = os.read(self.stream.fileno(), READ_CHUNK)
        if not chunk:
            self.close()
            return
        if self.log is None:
            self.log = open_log(self.log_path, self.task)
        write_all(self.log, chunk)
        if self.sink is None:
            return
        lines, pending = split_lines(self.pending + chunk)
        for line in lines:
            self.sink(self.task, line.decode(errors="replace"))
        self.pending, frame = split_frame(pending)
        if frame is not None and frame != self.shown:
            self.sink(self.task, frame.decode(errors="replace") + "\r")
        self.shown = frame if frame is not None else b""

    def close(self) -> None:
        if not self.open:
            return
        self.open = False
        self.stream.close()
        if self.log is not None:
            os.close(self.log)
        if self.sink is not None and self.pending:
            self.sink(self.task, self.pending.decode(errors="replace").rsplit("\r", 1)[-1])


def open_log(path: Path, task: str) -> int:
    """The log opened to append (made if missing; an attempt after the first
    adds to its task's log). One that cannot be made stops the command at its
    first output (local.wait): the error says why, not an internal one."""
    try:
        return make_log(path)
    except OSError as exc:
        raise GitpipeError(f"stage {task!r}: its log {str(path)!r} cannot be written "
                           f"({exc.strerror}): the "
                           "command was stopped at its first output",
                           hint="make .gitpipe/logs writable (or free space there), then "
                                "run it again") from None


def make_log(path: Path) -> int:
    """The log opened to append, made if missing; OSError where it cannot be."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
    try:  # the logs folder is there after the first log: made only when the open misses it
        return os.open(path, flags, 0o666)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, flags, 0o666)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def split_lines(data: bytes, limit: int = LINE_LIMIT) -> tuple[list[bytes], bytes]:
    """The complete lines of `data` (without their newline) and the unfinished
    rest; a line longer than `limit` is given in pieces of `limit` bytes. Of a
    line redrawn with `\\r`, what a terminal would end up showing: the last
    frame (a `\\r\\n` ending is a plain line end)."""
    *lines, rest = data.split(b"\n")
    lines = [_last_frame(line) for line in lines]
    while len(rest) > limit:
        lines.append(rest[:limit])
        rest = rest[limit:]
    return lines, rest


def _last_frame(line: bytes) -> bytes:
    line = line.removesuffix(b"\r")
    if b"\r" not in line:
        return line
    return next((frame for frame in reversed(line.split(b"\r")) if frame), b"")


def split_frame(rest: bytes) -> tuple[bytes, bytes | None]:
    """An unfinished line holding carriage returns: the part still needed (from
    its last `\\r` on, so memory stays bounded however many frames come) and the
    frame a terminal would show now; (rest, None) without a `\\r`."""
    cut = rest.rfind(b"\r")
    if cut < 0:
        return rest, None
    tail = rest[cut + 1:]
    if tail:
        return rest[cut:], tail
    # "frame\r": the frame is drawn, the next one will replace it.
    start = rest.rfind(b"\r", 0, cut) + 1
    return rest[start:], rest[start:cut] or None
