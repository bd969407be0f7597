"""`python -m gitpipe` on a real pseudo-terminal, read as a person's terminal
would receive it, for the tests of progress bars and live stage output."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

from tests.conftest import GIT_ENV

COLOUR = re.compile(rb"\x1b\[[0-9;]*m")  # an SGR sequence: colour or emphasis
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """One command whose stdin, stdout and stderr are the same pty (120 columns),
    or its stdout a file (`gitpipe repro > out.txt` at a terminal), or a pipe
    to `cat`, which prints it onto the same pty (`gitpipe repro | cat`).
    The pty is the command's controlling terminal, the command its foreground
    process group: `ctrl_c()` is a person pressing Ctrl-C."""

    def __init__(self, cwd: Path, *args: str, env: dict[str, str] | None = None,
                 stdout: Any = None, through_cat: bool = False) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        made = {**os.environ, **GIT_ENV, "TERM": "xterm-256color",
                "GITPIPE_RETRY_BACKOFF": "0.05"}
        made.pop("NO_COLOR", None)
        made.update(env or {})
        if through_cat:
            stdout = subprocess.PIPE
        self.process = subprocess.Popen([sys.executable, "-m", "gitpipe", *args], cwd=cwd,
                                        env=made, stdin=slave, stdout=stdout or slave,
                                        stderr=slave, preexec_fn=_own_terminal)
        if through_cat:
            subprocess.Popen(["cat"], stdin=self.process.stdout, stdout=slave, stderr=slave)
            assert self.process.stdout is not None
            self.process.stdout.close()
        os.close(slave)
        self.master = master
        self.output = b""

    def ctrl_c(self) -> None:
        """The terminal's interrupt character: SIGINT to the foreground group."""
        os.write(self.master, b"\x03")

    def _read(self, timeout: float) -> bool:
        """Read what is there within `timeout`; False once the command is gone."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: every holder of the slave side has closed it
            return False
        self.output += chunk
        return bool(chunk)

    def wait_for(self, text: bytes, timeout: float = 60) -> int:
        """Read until `text` arrives; its offset in the output. A failed
        assertion shows what did arrive."""
        deadline = time.monotonic() + timeout
        while text not in self.output:
            alive = self._read(0.2)
            assert alive and time.monotonic() < deadline, (text, self.output[-2000:])
        return self.output.index(text)

    def finish(self, timeout: float = 120) -> int:
        """Read to the end; the exit code."""
        deadline = time.monotonic() + timeout
        while self._read(0.2):
            assert time.monotonic() < deadline, self.output[-2000:]
        code = self.process.wait(timeout=10)
        os.close(self.master)
        return code

    def plain(self) -> str:
        """The output without escape sequences."""
        return ANSI.sub(b"", self.output).decode(errors="replace")


def _own_terminal() -> None:
    """In the child: a new session whose controlling terminal is the pty (its
    stdin), as a shell starts a command, and SIGINT at its default."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_file(name: str) -> str:
    """Python source that waits until `name` exists (the test makes it once it
    has seen what the stage printed before)."""
    return (f"while not os.path.exists({name!r}):\n"
            "    time.sleep(0.05)\n")
