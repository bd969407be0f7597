"""Where a Task's command runs: the narrow Executor interface (submit, poll, cancel)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

H = TypeVar("H")


@dataclass(frozen=True)
class Job:
    """Everything an executor needs to run one attempt of a Task."""

    task: str
    cmd: str
    cwd: Path
    env: dict[str, str]
    log_path: Path
    timeout: float | None = None


@dataclass(frozen=True)
class RunResult:
    """How one attempt ended."""

    returncode: int
    duration: float
    timed_out: bool = False
    cancelled: bool = False
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.cancelled


OutputSink = Callable[[str, str], None]  # (task name, line) for live output


class Handle(Protocol):
    job: Job


class Executor(Protocol):
    def submit(self, job: Job) -> Handle: ...
    def poll(self, handle: Handle) -> RunResult | None: ...
    def wait(self, handle: Handle) -> RunResult: ...
    def cancel(self, handle: Handle) -> None: ...


class InFlight(Generic[H]):
    """The handles of the commands running now (thread-safe), so that a Ctrl-C or
    a failure with keep-going off can cancel every one of them, local or pod."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._handles: set[H] = set()

    @contextmanager
    def tracking(self, handle: H) -> Iterator[H]:
        with self._mutex:
            self._handles.add(handle)
        try:
            yield handle
        finally:
            with self._mutex:
                self._handles.discard(handle)

    def snapshot(self) -> list[H]:
        with self._mutex:
            return list(self._handles)
