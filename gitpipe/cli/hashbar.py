"""The bar of the first hashing of a large directory (hashing/coldscan.py's
reports), on a terminal only, while no other bar runs."""

from __future__ import annotations

import threading
import time

from gitpipe.cli.console import Ui
from gitpipe.cli.progress import Bar, rate_column


class HashingProgress:
    """The first hashing of a large directory (hashing/coldscan.py's reports):
    files done of the directory's total. Not while another bar runs (a repro's
    stages hash their outs under the repro's own bar)."""

    DRAW_EVERY = 0.1  # seconds: drawn from the hashing thread, which has work to do

    def __init__(self, ui: Ui) -> None:
        self.ui = ui
        self._mutex = threading.Lock()
        self._bars: dict[str, Bar] = {}
        self._drawn = 0.0

    def __call__(self, directory: str, done: int, total: int) -> None:
        with self._mutex:
            bar = self._bars.get(directory)
            if bar is None and done < total:
                bar = self._open(directory, total)
            if bar is None:
                return
            now = time.monotonic()
            draw = now - self._drawn >= self.DRAW_EVERY
            bar.update(draw=draw, completed=done)
            self._drawn = now if draw else self._drawn
            if done >= total:
                bar.stop()
                del self._bars[directory]

    def _open(self, directory: str, total: int) -> Bar | None:
        if self._bars or self.ui.live is not None or not self.ui.shows_progress():
            return None
        import os

        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

        bar = Bar(self.ui, (TextColumn("{task.description}"), BarColumn(),
                             MofNCompleteColumn(), TextColumn("files"), rate_column("files"),
                             TextColumn("eta"), TimeRemainingColumn()), list, threaded=False)
        bar.start(f"hashing {os.path.relpath(directory)}", total)
        self._bars[directory] = bar
        return bar
