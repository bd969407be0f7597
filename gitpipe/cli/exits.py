"""How a command ends early, for both doors (cli/launch.py's and click's): a
Ctrl-C, a second Ctrl-C, and a reader that closed stdout. No click here:
the console script's quick door imports this before (or instead of) click.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from gitpipe.core.errors import EXIT_INTERRUPTED

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpipe.cli.console import Ui
    from gitpipe.project.root import Project

INTERRUPTED = "error: interrupted"


_stopped_by = signal.SIGINT
# The projects of runs (repro, backfill) whose command has written everything
# it had to: see run_ended and leave_at_once.
_ended_runs: list[Project] = []


def interrupted() -> int:
    """Say that the command was interrupted; the exit code to leave with:
    128 + the signal's number, as shells report it (130 for a Ctrl-C)."""
    sys.stderr.write(INTERRUPTED + "\n")
    sys.stderr.flush()
    return EXIT_INTERRUPTED - signal.SIGINT + _stopped_by


def failed(exc: Exception, ui: Ui) -> int:
    """Say why the command failed, as every door says it; the exit code. A
    GitpipeError is its message (its hint line as is); anything else is named
    as unexpected. Under --debug the caller raises it instead."""
    from gitpipe.core.errors import GitpipeError

    if not isinstance(exc, GitpipeError):
        from gitpipe.trust.checks import terminal_text

        # Its text may quote what it was reading (a name from git or a remote):
        # one line, as a terminal shows it plainly.
        ui.result(f"error: unexpected {type(exc).__name__}: {terminal_text(str(exc))}", err=True)
        ui.result("hint: rerun with --debug for a traceback", err=True)
        return 1
    for line in error_lines(exc.message, exc.hint):
        ui.result(line, err=True)
    return exc.exit_code


def error_lines(message: str, hint: str | None = None, listed: bool = True) -> list[str]:
    """A message as printed: its first line, and each sentence after it, after
    `error: `; the lines indented with spaces that list what it names (paths,
    stages) as they are, if it is `listed`; then `hint: ` and the hint. A
    message may begin with, or hold, a name from git or a remote (a params
    file's path): it never prints as gitpipe's hint, as a line of its own
    without `error: ` (but a listing's, where the name is quoted), or as an
    escape sequence a terminal obeys (split at newlines alone, each line
    through `terminal_text`). Not `listed` (a stage's failure, which lists
    nothing), every line is framed: no text in it makes a line of its own."""
    from gitpipe.trust.checks import terminal_lines

    lines = terminal_lines(message)
    shown = [f"error: {lines[0]}"]
    shown += [line if listed and line.startswith(" ") else f"error: {line}"
              for line in lines[1:]]
    if hint:
        shown += [line if listed and at and line.startswith(" ") else f"hint: {line}"
                  for at, line in enumerate(terminal_lines(hint))]
    return shown


def reader_left() -> None:
    """`gitpipe status | head`: the reader closed stdout. Nothing more is
    written there, and Python's own flush at exit must not fail either."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def second_interrupt_exits() -> None:
    """Ctrl-C once: gitpipe stops its stages and exits cleanly. Twice: at once,
    after SIGKILLing the process groups of the stages it started. SIGTERM (what
    `timeout`, `docker stop`, Kubernetes and CI runners send) and SIGHUP (the
    terminal closed) stop it the same way: a stage left running after gitpipe
    exits would go on writing outs that a later run then records. A signal the
    caller ignores stays ignored (`nohup gitpipe repro`, a job a script put in
    the background), as Python leaves an ignored SIGINT."""
    count = 0

    def handler(signum: int, frame: Any) -> None:
        global _stopped_by
        nonlocal count
        count += 1
        if count == 1:
            _stopped_by = signal.Signals(signum)
            raise KeyboardInterrupt
        _kill_child_groups()
        _unlock_project()
        os._exit(EXIT_INTERRUPTED - signal.SIGINT + _stopped_by)

    for stop in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(stop) is not signal.SIG_IGN:
            signal.signal(stop, handler)


def _unlock_project() -> None:
    """The project lock given back (projectlock.unlock_held) where this process
    took one: a process that never loaded the lock's module holds none, and an
    exit at once imports nothing."""
    held = sys.modules.get("gitpipe.project.projectlock")
    if held is not None:
        held.unlock_held()


def _kill_child_groups() -> None:
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


def run_ended(project: Project) -> None:
    """A run's command (repro, backfill) has written all it had to: the lock,
    the run history, its table. Once the command has ended, the process may
    end without the interpreter's teardown (leave_at_once), `project` closed."""
    _ended_runs.append(project)


def leave_at_once(code: object) -> None:
    """End the process with `code` (a SystemExit's) without the interpreter's
    teardown, where a run's command ended (run_ended) and nothing is left that
    teardown must close: no thread but this one (nor any atexit handler of
    gitpipe's), each run's project closed here, stdout and stderr flushed.
    Teardown would free one by one everything the run held (the last garbage
    collection, the modules unloaded), for a process that ends anyway
    (docs/dev/performance-log.md). Returns where it may not."""
    if not _ended_runs or not threads_done() or not isinstance(code, int | None):
        return
    for project in _ended_runs:
        project.close()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        return  # Python's own exit says it, as after any command
    os._exit(code or 0)


def threads_done() -> bool:
    """Whether only this thread (and daemon threads) are left."""
    import threading

    return all(t.daemon or t is threading.current_thread() for t in threading.enumerate())
