"""A pod's log, followed through the API into the task's log file and the live
output: best effort, in a thread of its own; the verdict never needs it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

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
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        try:
            response = core.read_namespaced_pod_log(pod, namespace, container=CONTAINER,
                                                    follow=True, _preload_content=False)
            pending = b""
            for chunk in response.stream(4096):
                log.write(chunk)
                log.flush()
                # Bounded whatever the pod prints: a line without end
                # reaches the sink in pieces.
                lines, pending = split_lines(pending + chunk)
                for line in lines:
                    _emit(sink, task, line)
            if pending:
                _emit(sink, task, pending)
        except Exception as exc:  # logs are best effort; the verdict does not need them
            log.write(f"[gitpipe: log stream ended: {exc}]\n".encode())


def _emit(sink: OutputSink | None, task: str, line: bytes) -> None:
    if sink is not None:
        sink(task, line.decode(errors="replace"))
