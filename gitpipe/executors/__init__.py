"""Where a Task's command runs: the narrow Executor interface (submit, poll, cancel)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


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
