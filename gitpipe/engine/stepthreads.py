"""The threads that run the scheduler's steps: a queue in, a queue out.

Not `concurrent.futures`: it imports `logging` (and `traceback`, `string`,
`textwrap` with it) on top of what a build loads anyway, before its first
command can start (docs/dev/performance-log.md); a step's result needs no
Future.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from queue import Empty, SimpleQueue
from types import TracebackType
from typing import Any

_STOP = object()


class StepThreads:
    """Up to `size` threads, each running `step(node)` for the nodes submitted;
    a step's result (or what it raised) is queued as it ends."""

    def __init__(self, step: Callable[[Hashable], Any], size: int) -> None:
        self._step = step
        self._size = max(1, size)
        self._todo: SimpleQueue[Any] = SimpleQueue()
        self._done: SimpleQueue[tuple[Hashable, Any]] = SimpleQueue()
        self._threads: list[threading.Thread] = []

    def submit(self, node: Hashable) -> None:
        """Run `step(node)`; the caller never has more than `size` nodes out."""
        if len(self._threads) < self._size:
            thread = threading.Thread(target=self._work, name=f"gitpipe-step-{len(self._threads)}")
            thread.start()
            self._threads.append(thread)
        self._todo.put(node)

    def finished(self, timeout: float | None) -> list[tuple[Hashable, Any]]:
        """The steps that ended, as (node, result or exception): waits up to
        `timeout` seconds (None: until one ends), then takes every one done."""
        try:
            found = [self._done.get(timeout=timeout)]
        except Empty:
            return []
        while True:
            try:
                found.append(self._done.get_nowait())
            except Empty:
                return found

    def _work(self) -> None:
        while (node := self._todo.get()) is not _STOP:
            try:
                result = self._step(node)
            except BaseException as exc:  # handed to the scheduler's thread
                result = exc
            self._done.put((node, result))

    def __enter__(self) -> StepThreads:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Wait for the steps still running (their commands stop on an abort)."""
        for _ in self._threads:
            self._todo.put(_STOP)
        for thread in self._threads:
            thread.join()
