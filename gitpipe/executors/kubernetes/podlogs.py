"""A pod's log, followed through the API into the task's log file and the live
output: best effort, in a thread of its own; the verdict never needs it."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from gitpipe.executors.base import OutputSink
from gitpipe.executors.kubernetes.manifest import CONTAINER
from gitpipe.executors.output import make_log, split_lines, write_all

logger = logging.getLogger(__name__)


def follow_log(core: Any, namespace: str, pod: str, task: str, log_path: Path,
               sink: OutputSink | None) -> threading.Thread:
    """Start copying the pod's stage container log as it comes; the thread."""
    thread = threading.Thread(target=_pump, args=(core, namespace, pod, task, log_path, sink),
                              daemon=True)
    thread.start()
    return thread


def _pump(core: Any, namespace: str, pod: str, task: str, log_path: Path,
          sink: OutputSink | None) -> None:
    log = _LazyLog(log_path, task)
    try:
        response = core.read_namespaced_pod_log(pod, namespace, container=CONTAINER,
                                                follow=True, _preload_content=False)
        pending = b""
        for chunk in response.stream(4096):
            log.write(chunk)
            # Bounded whatever the pod prints: a line without end
            # reaches the sink in pieces.
            lines, pending = split_lines(pending + chunk)
            for line in lines:
                _emit(sink, task, line)
        if pending:
            _emit(sink, task, pending)
    except Exception as exc:  # logs are best effort; the verdict does not need them
        log.write(f"[gitpipe: log stream ended: {exc}]\n".encode())
    finally:
        log.close()


class _LazyLog:
    """The task's log, made at the first byte written, as the local executor
    makes it (output.open_log): a pod that prints nothing leaves none. One
    that cannot be made is said once, and the pod's output still reaches the
    sink: the pod runs on without gitpipe, and its verdict never needs the
    log (an error raised in this thread would reach the user as a traceback)."""

    def __init__(self, path: Path, task: str) -> None:
        self.path, self.task = path, task
        self.fd: int | None = None
        self.lost = False

    def write(self, data: bytes) -> None:
        if self.lost:
            return
        try:
            if self.fd is None:
                self.fd = make_log(self.path)
            write_all(self.fd, data)
        except OSError as exc:
            self.lost = True
            logger.warning("warning: stage %r: its log %r cannot be written (%s); the pod's "
                           "output is not kept", self.task, str(self.path), exc.strerror)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


def _emit(sink: OutputSink | None, task: str, line: bytes) -> None:
    if sink is not None:
        sink(task, line.decode(errors="replace"))
