"""Work split over forked processes, for the system-call-bound loops threads cannot share.

Hashing many small files is four system calls and a little Python per file.
The GIL changes hands at every call, so threads make it slower; a forked copy
of the process per core, each doing its share of the files, makes it faster.

A child only runs `work` on its part, sends the result back through a pipe
(marshal: builtin, no import) and leaves with `os._exit`, so it never runs the
parent's atexit handlers, flushes its stdio buffers or touches its SQLite
connection. Any failure in a child (an unreadable file, a file that vanished,
Ctrl-C) makes the parent do that part itself, so errors surface exactly as the
serial code raises them.
"""

from __future__ import annotations

import marshal
import os

# typing, collections.abc, threading and contextlib are left out at run time:
# the seal's fast path (fastpath/seal.py) imports this module to check a large
# seal in two processes, and they would cost it more than the fork.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, TypeVar

    Part = TypeVar("Part")

ENV_WORKERS = "GITPIPE_HASH_WORKERS"
# Forking, and reading a part's results back, costs as much as the parent's
# time a worker saves on a few hundred files: fewer files than this per worker
# are done serially.
MIN_ITEMS_PER_WORKER = 1024
MAX_WORKERS = 8


def usable_workers(items: int, per_worker: int = MIN_ITEMS_PER_WORKER) -> int:
    """How many processes (the caller's included) `items` files are worth, at
    least `per_worker` of them each.

    1 where forking is unsafe: in a process running other threads (a child
    inherits their locks held, never released), or without fork at all.
    `GITPIPE_HASH_WORKERS=1` turns it off; a larger value caps it.
    """
    if items < 2 * per_worker or not hasattr(os, "fork") or _threads() != 1:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    wanted = os.environ.get(ENV_WORKERS, "")
    limit = int(wanted) if wanted.isdigit() and int(wanted) > 0 else MAX_WORKERS
    return max(1, min(cpus, limit, items // per_worker))


def _threads() -> int:
    """Threads of this process: the kernel's count sees those a C extension
    started too, which `threading` does not know of."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # not Linux
        import threading

        return threading.active_count()


def fork_map(work: Callable[[Part], Any], parts: Sequence[Part]) -> list[Any]:
    """`[work(part) for part in parts]`, the first part in this process and each
    other in a forked child (or here, where fork fails). `work` must return
    what marshal can carry."""
    children: list[tuple[int, int] | None] = []
    try:
        for part in parts[1:]:
            children.append(_fork(work, part))
        results = [work(parts[0])]
        for part in parts[1:]:
            child = children.pop(0)
            results.append(work(part) if child is None else _collect(*child, work, part))
        return results
    finally:
        for child in children:  # only after an exception: stop and reap the rest
            if child is not None:
                os.close(child[1])
                _reap(child[0], kill=True)


class Forked:
    """Every part of `parts` started in a forked child of its own at once,
    while this process goes on with other work: `results()` waits for them
    (a part whose child could not be made or failed is done here then, so
    errors surface as in one process); `stop()` ends those not waited for.
    One of the two must be called."""

    def __init__(self, work: Callable[[Part], Any], parts: Sequence[Part]) -> None:
        self._work, self._parts = work, list(parts)
        self._children: list[tuple[int, int] | None] = []
        try:
            for part in self._parts:
                self._children.append(_fork(work, part))
        except BaseException:
            self.stop()
            raise

    def results(self) -> list[Any]:
        """`[work(part) for part in parts]`, once every child is done."""
        results = []
        try:
            for part in self._parts:
                child = self._children.pop(0)
                results.append(self._work(part) if child is None
                               else _collect(*child, self._work, part))
        finally:
            self.stop()
        return results

    def stop(self) -> None:
        """Stop and reap the children not waited for yet."""
        children, self._children = self._children, []
        for child in children:
            if child is not None:
                os.close(child[1])
                _reap(child[0], kill=True)


def _fork(work: Callable[[Part], Any], part: Part) -> tuple[int, int] | None:
    """(pid, the pipe's reading end) of a child doing `part`; None if no
    process could be made (EAGAIN, ENOMEM): the parent does it."""
    # NOTE: `_signal` is the C module `signal` wraps: the wrapper imports enum
    # (and functools, collections), which costs the seal's check more than a fork.
    import _signal

    reader, writer = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(reader)
        os.close(writer)
        return None
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(reader)
            if _signal.getsignal(_signal.SIGINT) != _signal.SIG_IGN:
                _signal.signal(_signal.SIGINT, _signal.SIG_DFL)  # Ctrl-C: the parent decides
            data = marshal.dumps(work(part))
            with open(writer, "wb") as pipe:
                pipe.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    return pid, reader


def _collect(pid: int, reader: int, work: Callable[[Part], Any], part: Part) -> Any:
    """The child's result; its part done here if it failed. The child is reaped
    whatever happens, Ctrl-C while waiting for it included."""
    try:
        with open(reader, "rb") as pipe:
            data = pipe.read()
        code = _reap(pid, kill=False)
    except BaseException:
        _reap(pid, kill=True)
        raise
    if code == 0:
        try:
            return marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            pass
    return work(part)  # the child failed: this raises what it met, or redoes it


def _reap(pid: int, kill: bool) -> int:
    import _signal

    if kill:
        import contextlib  # only on the way out of a failure

        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, _signal.SIGKILL)
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:  # reaped already (a SIGCHLD handler, or here)
        return -1
    return os.waitstatus_to_exitcode(status)
