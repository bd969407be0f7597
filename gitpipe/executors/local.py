"""The local executor: the command through /bin/sh in its own process group.

Own process group so that a timeout or Ctrl-C kills the whole tree the
command started, not just the shell.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitpipe.executors.base import (
    Context,
    InFlight,
    Job,
    Pairs,
    RunResult,
    command_env,
)
from gitpipe.executors.output import Output
from gitpipe.executors.plainargv import plain_argv, shell_pwd
from gitpipe.pipeline.model import Stage, Task
from gitpipe.project.projectlock import StageGroups

KILL_GRACE = 3.0
# A testing seam (docs/dev/testing.md): seconds to wait between starting a
# command and recording its process group, so that a test can kill gitpipe
# in that window for sure. Unset in production; it changes only timing.
RECORD_DELAY_VAR = "GITPIPE_TESTING_RECORD_DELAY"
DRAIN_WAIT = 5.0  # how long the output of a command that ended is still read
POLL_STEP = 0.05  # how often a command is looked at where there is no pidfd


@dataclass(eq=False)
class LocalHandle:
    job: Job
    process: subprocess.Popen[bytes]
    started: float
    output: Output
    exited: int | None  # a pidfd: readable once the command has ended (None: polled)
    cancelled: threading.Event = field(default_factory=threading.Event)
    timed_out: bool = False


def _kill_group(pid: int, grace: float = KILL_GRACE) -> None:
    _kill_groups([pid], grace)


def _kill_groups(pids: list[int], grace: float = KILL_GRACE) -> None:
    """SIGTERM each group, then SIGKILL whatever is left after `grace` seconds.

    All at once, with one deadline: a group whose processes are gone but not
    yet reaped (a stage's children are reaped by init, which some containers
    do only every few seconds) still counts as alive, so waiting for each in
    turn would add up the grace periods of every stage being stopped.
    """
    alive = []
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGTERM)
            alive.append(pid)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [pid for pid in alive if _group_exists(pid)]
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def _group_exists(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _start(job: Job, stdin: int | None = None,
           kept: tuple[int, ...] = ()) -> subprocess.Popen[bytes]:
    """The command in its own session: its plain argv where the shell would add
    nothing (see plainargv.py), else, or where that cannot start, `/bin/sh -c`.
    `stdin`: a descriptor of /dev/null to give it (else one is opened for it);
    `kept`: descriptors it keeps (the project lock's, StageGroups.inherited)."""
    argv = plain_argv(job.cmd)
    if argv is not None:
        env = {**job.env, "PWD": shell_pwd(str(job.cwd), job.env)}
        try:
            return _popen(argv, job, env, stdin, kept)
        except OSError:  # the shell says why (not found, not executable) or runs it
            pass
    return _popen(["/bin/sh", "-c", job.cmd], job, job.env, stdin, kept)


def _popen(argv: list[str], job: Job, env: dict[str, str],
           stdin: int | None, kept: tuple[int, ...]) -> subprocess.Popen[bytes]:
    # Unbuffered: the watch reads the pipe's descriptor itself, and io.open then
    # asks it no isatty and no position.
    return subprocess.Popen(argv, cwd=job.cwd, env=env, bufsize=0,
                            stdin=subprocess.DEVNULL if stdin is None else stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, pass_fds=kept)


class LocalExecutor:
    """The executor named `local`: each attempt is a subprocess in the work tree;
    output goes to the attempt's log and, line by line, to the context's sink."""

    runs_in_work_tree = True

    def __init__(self, context: Context) -> None:
        self.root = context.project.root
        self.sink = context.sink
        self.in_flight: InFlight[LocalHandle] = InFlight(self.cancel_many)
        # NOTE: os.environ is copied once per run, not per command: each copy
        # decodes every variable in Python, which a backfill would pay for every
        # partition. Nothing in gitpipe changes os.environ during a run.
        self.environ = dict(os.environ)
        # One /dev/null for every command's stdin, not an open and close each.
        self.devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        weakref.finalize(self, os.close, self.devnull)
        self.groups = StageGroups(context.project.gitpipe_dir)
        weakref.finalize(self, self.groups.close)
        self.record_delay = _seconds(self.environ.get(RECORD_DELAY_VAR))

    @classmethod
    def runtime_inputs(cls, stage: Stage, config: Mapping[str, Any]) -> Pairs:
        return ()  # the command's world is the machine's own, as for any command run here

    def preflight(self, tasks: Sequence[Task]) -> None:
        pass  # nothing to reach

    def attempt(self, task: Task, fingerprint: str, attempt: int, log_path: Path) -> RunResult:
        return self.run_in(self.root, task, log_path)

    def run_in(self, root: Path, task: Task, log_path: Path) -> RunResult:
        """One run of the task's command with `root` as the project's folder: the
        work tree, or a copy of it (`gitpipe verify`'s scratch copy), which is
        then its working directory's base and its GITPIPE_ROOT."""
        job = Job(task.name, task.cmd, root / task.stage.wdir, self.env(task, root), log_path,
                  task.stage.timeout)
        # Only a command in the work tree could clobber what a later run writes:
        # it holds the project lock from its first instant (lockholders.py), and
        # its process group is recorded as soon as it is known.
        recorded = root == self.root
        kept = self.groups.inherited() if recorded else ()
        with self.in_flight.tracking(self.submit(job, kept)) as handle:
            if recorded:
                if self.record_delay:
                    time.sleep(self.record_delay)
                self.groups.started(handle.process.pid, task.name)
            try:
                return self.wait(handle)
            except KeyboardInterrupt:
                # Ctrl-C reaches a caller that waits on its own thread (verify),
                # not the runner's workers: the command's group stops with it.
                self.cancel(handle)
                raise
            finally:
                if recorded:
                    self.groups.ended(handle.process.pid)

    def bring_back(self, task: Task, fingerprint: str) -> None:
        pass  # the outs are where the command wrote them

    def cancel_all(self) -> None:
        self.in_flight.stop()

    def env(self, task: Task, root: Path | None = None) -> dict[str, str]:
        """The command's environment; a Python in it writes unbuffered (its output
        reaches the log and the terminal as it is written, not when it ends)
        unless the stage or the caller's environment says otherwise. Added
        here, at run time: the fingerprint reads the stage's own `env:` only."""
        made = command_env(root or self.root, task.stage.name, task.partition, task.env,
                           self.environ)
        made.setdefault("PYTHONUNBUFFERED", "1")
        return made

    def submit(self, job: Job, kept: tuple[int, ...] = ()) -> LocalHandle:
        process = _start(job, self.devnull, kept)
        assert process.stdout is not None
        return LocalHandle(job, process, time.monotonic(),
                           Output(process.stdout, job.log_path, job.task, self.sink),
                           _exit_fd(process.pid))

    def wait(self, handle: LocalHandle) -> RunResult:
        """Block until the command ends, copying its output meanwhile, in one
        poll(2) over its pipe and its pidfd: no thread per command, and no
        polling loop, so a short stage is seen done as soon as it ends. A timeout
        stops the command's group there; cancel() stops it from another thread."""
        watch = Watch(handle)
        try:
            watch.until_exit()
        except BaseException:
            # Ctrl-C, or the log that cannot be written: nothing reads the pipe
            # now, so the command must not outlive its wait.
            _close(handle)
            _kill_group(handle.process.pid, grace=0.5)
            raise
        return self._finish(handle, watch)

    def cancel(self, handle: LocalHandle) -> None:
        self.cancel_many([handle])

    def cancel_many(self, handles: list[LocalHandle]) -> None:
        """Cancel several commands together: one grace period for all."""
        for handle in handles:
            handle.cancelled.set()
        _kill_groups([h.process.pid for h in handles if h.process.poll() is None])

    def _finish(self, handle: LocalHandle, watch: Watch) -> RunResult:
        # The shell may be gone while children it backgrounded still hold the
        # group; they are killed so nothing outlives its stage, and what they
        # left in the pipe is read.
        _kill_group(handle.process.pid, grace=0.5)
        try:
            watch.drain(DRAIN_WAIT)
        finally:
            _close(handle)
        duration = time.monotonic() - handle.started
        message = ""
        if handle.timed_out:
            message = f"timed out after {handle.job.timeout:g}s"
        elif handle.cancelled.is_set():
            message = "cancelled"
        return RunResult(handle.process.returncode, duration, handle.timed_out,
                         handle.cancelled.is_set(), message)


def _seconds(text: str | None) -> float:
    """RECORD_DELAY_VAR's seconds: none where unset or not a number."""
    try:
        return max(0.0, float(text or 0))
    except ValueError:
        return 0.0


def _exit_fd(pid: int) -> int | None:
    """A pidfd of the command (readable once it has ended), or None where the
    system has none: the watch then looks at the command every POLL_STEP."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _close(handle: LocalHandle) -> None:
    handle.output.close()
    if handle.exited is not None:
        os.close(handle.exited)
        handle.exited = None


class Watch:
    """One command's pipe and end, watched by the thread that waits for it: its
    output copied as it comes, its timeout kept (SIGTERM to the group, SIGKILL
    after the grace period, the output still read meanwhile)."""

    def __init__(self, handle: LocalHandle) -> None:
        self.handle = handle
        self.pipe = handle.output.stream.fileno() if handle.output.open else -1
        self.poller = select.poll()
        if self.pipe >= 0:
            self.poller.register(self.pipe, select.POLLIN)
        if handle.exited is not None:
            self.poller.register(handle.exited, select.POLLIN)
        timeout = handle.job.timeout
        self.deadline = None if timeout is None else handle.started + timeout
        self.kill_at: float | None = None

    def until_exit(self) -> None:
        process = self.handle.process
        while process.poll() is None:
            self._step(self._wait_ms())
            self._keep_time()

    def drain(self, seconds: float) -> None:
        """Read the pipe to its end, for at most `seconds`: a process that left the
        group and still holds it does not hold the run."""
        if self.handle.exited is not None:
            self.poller.unregister(self.handle.exited)
        until = time.monotonic() + seconds
        while self.handle.output.open and (left := until - time.monotonic()) > 0:
            self._step(int(left * 1000) + 1)

    def _step(self, wait_ms: int | None) -> None:
        for fd, _ in self.poller.poll(wait_ms):
            if fd == self.pipe:
                self.handle.output.read()
                if not self.handle.output.open:
                    self.poller.unregister(fd)
                    self.pipe = -1

    def _wait_ms(self) -> int | None:
        waits = [at - time.monotonic() for at in (self.deadline, self.kill_at) if at is not None]
        if self.handle.exited is None:
            waits.append(POLL_STEP)
        return None if not waits else max(0, int(min(waits) * 1000) + 1)

    def _keep_time(self) -> None:
        now, pid = time.monotonic(), self.handle.process.pid
        if self.deadline is not None and now >= self.deadline:
            self.deadline, self.kill_at = None, now + KILL_GRACE
            self.handle.timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
        elif self.kill_at is not None and now >= self.kill_at:
            self.kill_at = None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
