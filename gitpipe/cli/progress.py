"""Progress bars for long operations, on a terminal only (`Ui.shows_progress`):
tasks of a repro or backfill, files and bytes of a transfer, items counted by
gc and fsck (the hashing of a large directory: cli/hashbar.py). Each bar has its total, rate
and time left; while one runs, every printed line goes above it (cli/console.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from gitpipe.cli.console import Ui

if TYPE_CHECKING:
    from gitpipe.engine.reports import Event, Listener

SETTLED = ("done", "restored", "recorded")  # a task's events that end it well
RUNNING_SHOWN = 4  # running tasks listed under the bar; more are counted
# The bar's colours: cyan while it fills, green once full, red from the first
# failure on (rich's default fill is a red that says "failed" to a reader).
FILLING, FULL, FAILING = "cyan", "green", "red"


class Bar:
    """One rich Progress with a single task, registered as the Ui's live display."""

    def __init__(self, ui: Ui, columns: tuple[Any, ...], extra: Callable[[], list[str]],
                 threaded: bool = True) -> None:
        self.ui = ui
        self.columns = columns
        self.extra = extra
        # False: no refresh thread; drawn by `update(..., draw=True)` from the
        # caller's thread (a process that forks must run no other thread).
        self.threaded = threaded
        self.progress: Any = None
        self.task: Any = None

    def start(self, description: str, total: float | None, **fields: Any) -> None:
        from rich.progress import Progress
        from rich.text import Text

        extra = self.extra

        class _WithLines(Progress):
            # Changed since it was last drawn: a line printed above the bar
            # redraws the frame drawn last, so the Ui draws it afresh then
            # (cli/console.py) instead of leaving it until the next tick.
            changed = False

            def get_renderables(self) -> Iterator[Any]:
                self.changed = False  # before reading: a change while drawing stays marked
                yield self.make_tasks_table(self.tasks)
                for line in extra():
                    yield Text(line, no_wrap=True, overflow="ellipsis")

        self.progress = _WithLines(*self.columns, console=self.ui.console(err=True),
                                   transient=True, refresh_per_second=8,
                                   auto_refresh=self.threaded,
                                   # What is printed goes where the Ui sends it: a
                                   # result on a redirected stdout stays there.
                                   redirect_stdout=False, redirect_stderr=False)
        self.task = self.progress.add_task(description, total=total, **fields)
        with self.ui.lock:
            if self.ui.live is not None:  # one live display at a time: the first stays
                self.progress = None
                return
            self.ui.live = self.progress
            self.progress.start()

    @property
    def shown(self) -> bool:
        return self.progress is not None

    def update(self, draw: bool = False, **changes: Any) -> None:
        if self.progress is not None:
            self.progress.update(self.task, refresh=draw, **changes)
            self.mark_changed()

    def mark_changed(self) -> None:
        """What the bar shows changed (a field, a running task's frame)."""
        if self.progress is not None:
            self.progress.changed = True

    def stop(self) -> None:
        if self.progress is not None:
            with self.ui.lock:
                self.progress.stop()
                self.ui.live = None
            self.progress = None


class RunProgress:
    """A repro's or backfill's tasks: done/total, the states (ran, running,
    waiting, skipped, failed), time left, and which tasks run now with their
    own `\\r` progress. A task runs from its turn ('check': judged, then
    restored or run) to its end. The words are the repro table's.

    The total comes from the caller (backfill) or from the engine's 'plan' event."""

    def __init__(self, ui: Ui, label: str, total: int | None = None) -> None:
        self.ui = ui
        self.label = label
        self.total = total
        self.started = time.monotonic()
        self.counts = {"ran": 0, "skipped": 0, "failed": 0}
        self.running: dict[str, str] = {}  # task -> its latest `\r` frame
        self.since: dict[str, float] = {}  # task -> when its command started (monotonic)
        self.worked = 0  # tasks ended that did work (not skipped): the time left's base
        self.last_end = self.started  # when the last of them ended
        self._mutex = threading.Lock()
        self._bar: Bar | None = None
        self._fill: Any = None  # the bar's column, coloured red by a failure

    def __enter__(self) -> RunProgress:
        if self.total is not None:
            self._open()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def _open(self) -> None:
        if self._bar is not None or not self.ui.shows_progress() or not self.total:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

        failing = self.counts["failed"] > 0
        self._fill = BarColumn(complete_style=FAILING if failing else FILLING,
                               finished_style=FAILING if failing else FULL)
        self._bar = Bar(self.ui, (TextColumn("{task.description}"), self._fill,
                                   MofNCompleteColumn(), TextColumn("{task.fields[states]}"),
                                   TimeElapsedColumn(), TextColumn("eta"),
                                   _called_column(self.eta_text, "progress.remaining")),
                         self.running_lines)
        self._bar.start(self.label, self.total, states=self.states())

    def wrap(self, inner: Listener) -> Listener:
        """A listener that counts each event, then hands it on."""
        def listener(event: Event) -> None:
            self.count(event)
            inner(event)
        return listener

    def count(self, event: Event) -> None:
        if event.kind == "plan":
            self.total = int(event.message)
            if self._bar is None:
                self._open()
            else:
                self._bar.update(total=self.total)
            return
        with self._mutex:
            if event.kind in ("check", "start", "retry"):
                self.running.setdefault(event.task, "")
                if event.kind != "check":  # its command runs (not judged, waiting a slot)
                    self.since.setdefault(event.task, time.monotonic())
            elif event.kind in (*SETTLED, "fail", "skip"):
                self._ended(event)
        if self._bar is not None:
            self._bar.update(completed=self.finished(), states=self.states())

    def _ended(self, event: Event) -> None:
        self.running.pop(event.task, None)
        self.since.pop(event.task, None)
        key = {"fail": "failed", "skip": "skipped"}.get(event.kind, "ran")
        self.counts[key] += 1
        if key != "skipped":
            self.worked += 1
            self.last_end = time.monotonic()
        if key == "failed" and self._fill is not None:
            self._fill.complete_style = self._fill.finished_style = FAILING

    def frame(self, task: str, text: str) -> bool:
        """Show a running task's `\\r` frame under the bar; False with no bar."""
        if self._bar is None or not self._bar.shown:
            return False
        with self._mutex:
            if task in self.running:  # (a late line of an ended task adds nothing)
                self.running[task] = text
        self._bar.mark_changed()
        return True

    def running_since(self) -> dict[str, float]:
        """Each task whose command runs, and when it started."""
        with self._mutex:
            return dict(self.since)

    def finished(self) -> int:
        return sum(self.counts.values())

    def states(self) -> str:
        waiting = max(0, (self.total or 0) - self.finished() - len(self.running))
        parts = [f"ran {self.counts['ran']}", f"running {len(self.running)}",
                 f"waiting {waiting}"]
        parts += [f"skipped {self.counts['skipped']}"] if self.counts["skipped"] else []
        parts += [f"failed {self.counts['failed']}"] if self.counts["failed"] else []
        return "  ".join(parts)

    def running_lines(self) -> list[str]:
        with self._mutex:
            items = sorted(self.running.items())
        lines = [f"  {task} {frame}".rstrip() for task, frame in items[:RUNNING_SHOWN]]
        if len(items) > RUNNING_SHOWN:
            lines.append(f"  … and {len(items) - RUNNING_SHOWN} more running")
        return lines

    def eta(self) -> float | None:
        """Seconds left, or None before a task that did work has ended: the
        time each such task took so far (wall time: tasks run side by side),
        for each task left, counted down from when the last one ended."""
        left = (self.total or 0) - self.finished()
        if left <= 0:
            return 0.0
        if not self.worked:
            return None
        each = (self.last_end - self.started) / self.worked
        return max(0.0, each * left - (time.monotonic() - self.last_end))

    def eta_text(self) -> str:
        eta = self.eta()
        if eta is None:
            return "-:--:--"
        minutes, seconds = divmod(int(eta + 0.999), 60)
        return f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"

    def line(self) -> str:
        """The counts in one line, for a log or a test."""
        elapsed = time.monotonic() - self.started
        eta = self.eta()
        return (f"{self.finished()}/{self.total or '?'}  {self.states()}  "
                f"elapsed {elapsed:.0f}s" + (f"  eta {eta:.0f}s" if eta is not None else ""))


class TransferProgress:
    """push/pull/fetch: files and bytes against the totals the transfer expects
    (`expect`, called before each batch), rate and time left."""

    def __init__(self, ui: Ui, label: str) -> None:
        self.ui = ui
        self.label = label
        self.files = [0, 0]  # done, expected
        self.bytes_expected = 0
        self._mutex = threading.Lock()
        self._bar: Bar | None = None

    def __enter__(self) -> TransferProgress:
        return self

    def _open(self) -> None:
        """The bar appears with the first total (after the listing, not before)."""
        if self._bar is not None or not self.ui.shows_progress():
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._bar = Bar(self.ui, (TextColumn("{task.description}"), BarColumn(),
                                   DownloadColumn(binary_units=True), TransferSpeedColumn(),
                                   TextColumn("{task.fields[files]} files"),
                                   TextColumn("eta"), TimeRemainingColumn()), list)
        self._bar.start(self.label, self.bytes_expected, files=self._files())

    def expect(self, files: int, size: int) -> None:
        """The next batch moves `files` files of `size` bytes in all."""
        if not files:
            return
        with self._mutex:
            self.files[1] += files
            self.bytes_expected += size
            if self._bar is None:
                self._open()
            else:
                self._bar.update(total=self.bytes_expected, files=self._files())

    def __call__(self, rel: str, size: int) -> None:
        with self._mutex:
            self.files[0] += 1
            if self._bar is not None:
                self._bar.update(advance=size, files=self._files())

    def _files(self) -> str:
        return f"{self.files[0]}/{self.files[1]}"

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


class CountProgress:
    """Items of a known total (objects gc removes, objects fsck checks, files of a
    directory being hashed): count, rate and time left. Called with how many
    more are done; `expect` sets the total."""

    def __init__(self, ui: Ui, label: str, unit: str) -> None:
        self.ui = ui
        self.label = label
        self.unit = unit
        self._mutex = threading.Lock()
        self._bar: Bar | None = None

    def __enter__(self) -> CountProgress:
        return self

    def expect(self, total: int) -> None:
        """The bar appears with its total; none for nothing to do."""
        with self._mutex:
            if not total or not self.ui.shows_progress():
                return
            if self._bar is None:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    TextColumn,
                    TimeRemainingColumn,
                )

                self._bar = Bar(self.ui, (TextColumn("{task.description}"), BarColumn(),
                                           MofNCompleteColumn(), TextColumn(self.unit),
                                           rate_column(self.unit), TextColumn("eta"),
                                           TimeRemainingColumn()), list)
                self._bar.start(self.label, total)
            else:
                self._bar.update(total=total)

    def __call__(self, advance: int = 1) -> None:
        with self._mutex:
            if self._bar is not None:
                self._bar.update(advance=advance)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _called_column(text: Callable[[], str], style: str) -> Any:
    """A column whose text is asked for at each redraw (a time left that
    counts down between events)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class _Called(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(text(), style=style)

    return _Called()


def rate_column(unit: str) -> Any:
    """Items per second (rich's own rate column is for bytes)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class _Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:.0f} {unit}/s" if speed else "")

    return _Rate()
