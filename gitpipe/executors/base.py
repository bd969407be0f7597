"""Where a Task's command runs: the Executor protocol every executor meets, what
it is given (Context) and returns (RunResult), and InFlight, the running
attempts an executor cancels together."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

from gitpipe.core.errors import BadInputError
from gitpipe.pipeline import registry

if TYPE_CHECKING:
    from gitpipe.pipeline.model import Stage, Task
    from gitpipe.project.root import Project

H = TypeVar("H")


@dataclass(frozen=True)
class Job:
    """One attempt of a Task as a process: what the local executor starts."""

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
    hint: str = ""  # what to do about it, apart from `message` until it is printed

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.cancelled

    @property
    def why(self) -> str:
        """What went wrong, as a failed stage's line says it: the executor's
        message, or the exit code in words (`/bin/sh -c` exits 127 for a
        command it cannot find, 126 for one it cannot run)."""
        if self.message:
            return self.message
        code = self.returncode
        if code < 0:
            return f"command was killed by signal {-code} ({_signal_name(-code)})"
        return f"command exited with code {code}{_SHELL_CODES.get(code, '')}"


_SHELL_CODES = {127: " (the shell found no such command: see the log)",
                126: " (the shell could not run it: not executable?)"}


def _signal_name(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown"


OutputSink = Callable[[str, str], None]  # (task name, line) for live output
Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Context:
    """What the runner gives an executor it opens: the project, the remote named
    on the command line (None: the default one) and where live output goes."""

    project: Project
    remote: str | None = None
    sink: OutputSink | None = None


@runtime_checkable
class Executor(Protocol):
    """The seam the runner calls, the same for every executor.

    The class is what the registry names (gitpipe.pipeline.registry); the runner
    opens it once per repro as `cls(context)` and calls, from several threads
    at once, one attempt per running task. Retries and their backoff, where
    logs go, the lock and the run-cache stay in the runner.
    """

    # True: the command runs in the work tree itself, which the runner prepares
    # before each attempt (paths checked, the old outs deleted, their parent
    # folders made). False: the outs are made elsewhere and `bring_back` puts
    # them into the work tree.
    runs_in_work_tree: bool

    @classmethod
    def runtime_inputs(cls, stage: Stage, config: Mapping[str, Any]) -> Pairs:
        """What this executor adds around a stage's command, as (name, value) pairs
        that join the stage's fingerprint (an image, a cluster-wide env); from
        the stage and the project's config. Called without opening the executor."""
        ...

    def preflight(self, tasks: Sequence[Task]) -> None:
        """Before any task starts: check what the tasks need (settings, a reachable
        service) and raise a GitpipeError to stop the whole run."""
        ...

    def attempt(self, task: Task, fingerprint: str, attempt: int, log_path: Path) -> RunResult:
        """Run attempt number `attempt` (0 first) of the task: start the command, wait
        for it, append its output to `log_path` (no file need be made for a
        command that prints nothing: the run names a log only where one is),
        and stop it once `task.stage.timeout` seconds have passed (a RunResult
        with timed_out)."""
        ...

    def bring_back(self, task: Task, fingerprint: str) -> None:
        """After a successful attempt: put the outs into the work tree (nothing to
        do for an executor that runs in it); a GitpipeError fails the task."""
        ...

    def cancel_all(self) -> None:
        """Stop every attempt running now (Ctrl-C, or a failure without
        --keep-going); each returns a RunResult with cancelled set."""
        ...


def command_env(root: Path, stage: str, partition: str | None,
                env: Mapping[str, str] | Iterable[tuple[str, str]] = (),
                environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a stage's command runs in, whatever runs it: the process's
    own (`environ`, a copy of os.environ the caller made once, or os.environ),
    the stage's `env:`, and what docs/reference/gitpipe-yaml.md promises every
    command: GITPIPE_ROOT (`root`: the folder the command sees the project's
    files in, the work tree or an executor's copy), GITPIPE_STAGE and
    GITPIPE_PARTITION (empty for a stage without partitions). ENV and BASH_ENV
    are dropped: the shell starts without rc files."""
    made = {**(os.environ if environ is None else environ), **dict(env)}
    made.update(GITPIPE_ROOT=str(root), GITPIPE_STAGE=stage, GITPIPE_PARTITION=partition or "")
    for var in ("ENV", "BASH_ENV"):
        made.pop(var, None)
    return made


class InFlight(Generic[H]):
    """The handles of the commands running now (thread-safe), so that a Ctrl-C or
    a failure with keep-going off can cancel every one of them, local or pod.

    Once stopped, a handle tracked later is cancelled as it is tracked: a
    command that another thread started while the others were being cancelled
    would otherwise run to its end, and the run would wait for it. An
    executor made without `cancel` (written before `stop`) cancels what
    `snapshot` gives it, and keeps that race."""

    def __init__(self, cancel: Callable[[list[H]], None] | None = None) -> None:
        self._cancel = cancel or (lambda handles: None)
        self._mutex = threading.Lock()
        self._handles: set[H] = set()
        self._stopped = False

    @contextmanager
    def tracking(self, handle: H) -> Iterator[H]:
        with self._mutex:
            self._handles.add(handle)
            late = self._stopped
        try:
            if late:
                self._cancel([handle])
            yield handle
        finally:
            with self._mutex:
                self._handles.discard(handle)

    def snapshot(self) -> list[H]:
        """The handles running now."""
        with self._mutex:
            return list(self._handles)

    def stop(self) -> None:
        """Cancel every command running now, and each one tracked from now on."""
        with self._mutex:
            self._stopped = True
            running = list(self._handles)
        self._cancel(running)


class Executors:
    """The executors one run uses, by name: each opened once, its tasks preflighted
    together before any task starts. `override` is `repro --executor`."""

    def __init__(self, context: Context, override: str | None = None) -> None:
        self.context = context
        self.override = override
        self._opened: dict[str, Executor] = {}
        self._mutex = threading.Lock()

    def name_of(self, task: Task) -> str:
        return self.override or task.stage.executor

    def prepare(self, tasks: Sequence[Task]) -> None:
        """Open every executor the tasks name and preflight its tasks."""
        by_name: dict[str, list[Task]] = {}
        for task in tasks:
            by_name.setdefault(self.name_of(task), []).append(task)
        for name, group in by_name.items():
            self.get(name).preflight(group)

    def of(self, task: Task) -> Executor:
        return self.get(self.name_of(task))

    def get(self, name: str) -> Executor:
        with self._mutex:
            if name not in self._opened:
                self._opened[name] = self._open(name)
            return self._opened[name]

    def _open(self, name: str) -> Executor:
        opened = registry.load(name)(self.context)
        if not isinstance(opened, Executor):
            raise BadInputError(f"executor {name!r} ({registry.target(name)}) does not "
                                "provide the Executor protocol of gitpipe.executors.base")
        return opened

    def cancel_all(self) -> None:
        with self._mutex:
            opened = list(self._opened.values())
        for executor in opened:
            executor.cancel_all()
