"""A pod's log, followed through the API into the task's log file and the live
output: best effort, in a thread of its own; the verdict never needs it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, BinaryIO

from gitpipe.executors.base import OutputSink
from gitpipe.executors.kubernetes.manifest import CONTAINER
from gitpipe.executors.output import split_lines


def follow_log(core: Any, namespace: str, pod: str, task: str, log_path: Path,
               sink: OutputSink | None) -> threading.Thread:
    """Start copying the pod's stage container log as it comes; the thread."""
    thread = threading.Thread(target=_pump, args=(core, namespace, pod, task, log_path, sink),
                              daemon=True)
    thread.start()
    return thread


def _pump(core: Any, namespace: str, pod: str, task: str, log_path: Path,
          sink: OutputSink | None) -> None:
    log = _LazyLog(log_path)
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
    makes it (output.py): a pod that prints nothing leaves none."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: BinaryIO | None = None

    def write(self, data: bytes) -> None:
        if self.handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(self.path, "ab")  # noqa: SIM115 - closed by close()
        handle = self.handle
        handle.write(data)
        handle.flush()

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


def _emit(sink: OutputSink | None, task: str, line: bytes) -> None:
    if sink is not None:
        sink(task, line.decode(errors="replace"))
