"""The command line: parse, call one API function, render, choose the exit code.

The one place that prints and turns GitpipeErrors into messages (`group.py`);
the commands live in `pipeline.py`, `gitcmds.py`, `storage.py`, `remotes.py`, `values.py`,
`imports.py`, `report.py` and `verify.py`, each registering itself on the one
`cli` group when the group first looks one of its commands up
(`group.COMMAND_HOMES`).
"""

from __future__ import annotations

import sys

from gitpipe.cli import exits
from gitpipe.cli.group import cli

__all__ = ["cli", "main"]


def main(leave_at_once: bool = True) -> None:
    """The CLI door (launch.main, the console script, has already set the gc
    thresholds). `leave_at_once`: a run's command ends the process without the
    interpreter's teardown where it may (exits.leave_at_once); a caller that
    goes on after main() (a test) passes False."""
    exits.second_interrupt_exits()
    try:
        cli(prog_name="gitpipe")
    except BrokenPipeError:
        exits.reader_left()
        sys.exit(0)
    except SystemExit as done:
        if leave_at_once:
            exits.leave_at_once(done.code)
        raise
