"""A command's output as it comes: copied whole to its log and, line by line,
to a sink, in bounded memory (the local executor's pipe; a pod's log lines
are split the same way)."""

from __future__ import annotations

import os
from typing import IO

from gitpipe.executors.base import OutputSink

READ_CHUNK = 64 * 1024
LINE_LIMIT = 64 * 1024  # a longer line reaches the sink in pieces of this size


class Output:
    """The command's output copied to its log as it comes (all of it) and, line by
    line, to `sink`, in chunks: memory stays bounded however long a line is (a
    command printing gigabytes without a newline). A line the command redraws
    with carriage returns (its own progress bar) reaches the sink frame by
    frame, each ending in `\\r`, then once finished as the last frame.

    The thread that waits for the command reads its pipe too (local.Watch):
    no thread per command."""

    def __init__(self, stream: IO[bytes], log: int, task: str, sink: OutputSink | None) -> None:
        self.stream, self.log, self.task, self.sink = stream, log, task, sink
        self.pending, self.shown = b"", b""
        self.open = True

    def read(self) -> None:
        """One read of what the pipe holds; at its end, the output is closed."""
        chunk = os.read(self.stream.fileno(), READ_CHUNK)
        if not chunk:
            self.close()
            return
        _write_all(self.log, chunk)
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
        os.close(self.log)
        if self.sink is not None and self.pending:
            self.sink(self.task, self.pending.decode(errors="replace").rsplit("\r", 1)[-1])


def _write_all(fd: int, data: bytes) -> None:
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
