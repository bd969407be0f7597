"""A line now and then while a run's output is silent and no bar shows it.

On a terminal the progress bar shows what runs and for how long. In a CI
job's log, where no bar is drawn, a stage that prints nothing for many
minutes (or only redraws a `\r` progress line, which a log keeps once it is
finished) leaves nothing between its `running` line and its end, and some
CI services stop a job that writes nothing for ten minutes. So, with no bar,
a run that wrote no line for `GITPIPE_STILL_RUNNING_AFTER` seconds (60
unless set; 0 turns the line off) says which commands run and for how long,
and again after as long a silence.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from gitpipe.cli.console import Ui
from gitpipe.core.errors import BadInputError
from gitpipe.core.ranges import positions_of, split_task, tasks_text
from gitpipe.fastpath.noop import STILL_RUNNING_VAR as AFTER_VAR

_SHOWN = 5  # tasks (a stage's partitions: one) named on the line; the others counted
_LEAST = 1.0  # seconds: a smaller silence would fill the log with these lines


def silence_allowed() -> float:
    """Seconds of silence before the line (0: never), as the environment says;
    an empty value is no value (a CI variable defined as nothing)."""
    text = os.environ.get(AFTER_VAR) or "60"
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not (seconds == 0 or _LEAST <= seconds < float("inf")):
        raise BadInputError(f"{AFTER_VAR}={text!r} is not a number of seconds of at least "
                            f"{_LEAST:g}, or 0", hint="set it to 60 (the default), or 0 to "
                            "say no 'still running' line")
    return seconds


@contextmanager
def still_running(ui: Ui, running: Callable[[], dict[str, float]],
                  last_said: Callable[[], float], say: Callable[[str], None],
                  order: Callable[[], Sequence[str]] | None = None) -> Iterator[None]:
    """While the block runs, `say` what runs once no line was said for the
    allowed silence, where no bar shows it. `running` gives each task whose
    command runs its start (time.monotonic), `last_said` when a line last
    reached the output, `order` every task of the pipeline in plan order
    (asked only for a line: partitions are drawn as runs by their place)."""
    after = silence_allowed()
    if not after or ui.quiet or ui.shows_progress():
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.wait(min(after, 5.0)):
            now = time.monotonic()
            tasks = running()
            if tasks and now - last_said() >= after:
                say(still_running_line(tasks, now, order() if order is not None else None))

    watcher = threading.Thread(target=watch, name="gitpipe-still-running", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


def still_running_line(tasks: dict[str, float], now: float,
                       order: Sequence[str] | None = None) -> str:
    """`still running: train (12 min 3 s), evaluate (61 s)`, longest first; a
    stage's partitions or items one entry, as status and the repro table name
    them (`p@2024-01-01 … 2024-01-07 (7) (2 min 5 s)`, the longest-running
    one's time), drawn as runs by their place in `order` (plan order)."""
    by_stage: dict[str, list[str]] = {}
    for task in tasks:
        by_stage.setdefault(split_task(task)[0], []).append(task)
    positions = positions_of(order if order is not None else sorted(tasks))
    ordered = sorted((min(tasks[task] for task in names), stage, names)
                     for stage, names in by_stage.items())
    named = [f"{tasks_text(names, positions)[0]} ({_duration(now - since)})"
             for since, _, names in ordered[:_SHOWN]]
    more = len(ordered) - _SHOWN
    return "still running: " + ", ".join(named) + (f" and {more} more" if more > 0 else "")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"
