"""The command line: parse, call one API function, render, choose the exit code.

The one place that prints and turns GitpipeErrors into messages (`group.py`);
the commands live in `pipeline.py`, `gitcmds.py` and `storage.py`, each
registering itself on the one `cli` group when imported here.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from gitpipe.cli import gitcmds, pipeline, storage
from gitpipe.cli.group import EXIT_INTERRUPTED, cli

COMMAND_MODULES = (pipeline, gitcmds, storage)  # imported for their commands
__all__ = ["cli", "main"]


def _second_interrupt_exits() -> None:
    """Ctrl-C once: gitpipe stops its stages and exits cleanly. Twice: at once,
    after SIGKILLing the process groups of the stages it started."""
    import signal

    count = 0

    def handler(signum: int, frame: Any) -> None:
        nonlocal count
        count += 1
        if count == 1:
            raise KeyboardInterrupt
        _kill_child_groups()
        os._exit(EXIT_INTERRUPTED)

    signal.signal(signal.SIGINT, handler)


def _kill_child_groups() -> None:
    import signal

    me = os.getpid()
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == me:  # a child: each stage's shell leads its own group
                os.killpg(int(entry), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            continue


def main() -> None:
    # (launch.main, the console script, has already set the gc thresholds.)
    _second_interrupt_exits()
    try:
        cli(prog_name="gitpipe")
    except BrokenPipeError:
        # `gitpipe status | head`: the reader left; nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
