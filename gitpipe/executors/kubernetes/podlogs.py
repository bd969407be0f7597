"""A pod's log, followed through the API into the task's log file and the live
output: best effort, in a thread of its own; the verdict never needs it."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from gitpipe.executors.base import OutputSink
from gitpipe.executors.kubernetes.manifest import CONTAINER
from gitpipe.executors.output import open_log, split_lines, write_all


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
    makes it (output.open_log): a pod that prints nothing leaves none."""

    def __init__(self, path: Path, task: str) -> None:
        self.path, self.task = path, task
        self.fd: int | None = None

    def write(self, data: bytes) -> None:
        if self.fd is None:
            self.fd = open_log(self.path, self.task)
        write_all(self.fd, data)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


def _emit(sink: OutputSink | None, task: str, line: bytes) -> None:
    if sink is not None:
        sink(task, line.decode(errors="replace"))
