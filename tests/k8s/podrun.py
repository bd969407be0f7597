"""One pod's container run as a local process group, with a CRI-format log and a memory limit.

The log file uses the CRI line format (``<RFC3339Nano> stdout F|P <content>``) so that the log
server can honour timestamps, tailLines, sinceSeconds and limitBytes like a kubelet does.
The memory limit is enforced like the kernel's cgroup OOM killer would from the outside: the
session's resident memory is polled and the group is SIGKILLed past the limit, and a process
whose peak RSS (wait4 rusage, which includes reaped children) went past the limit is reported
OOMKilled even if it exited between two polls.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE")
POLL = 0.05
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(?:e([0-9]+))?(Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E|m)?$")
_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
           "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
           "E": 10**18, "m": 10**-3}


MESSAGE_LIMIT = 4096  # a container's termination message, at most (one container per pod here)


def parse_quantity(text: str | int | float | None) -> int | None:
    """Bytes from a Kubernetes quantity ('50Mi', '1G', '1e9', '134217728'); None if unset."""
    if text is None or text == "":
        return None
    m = _QUANTITY.match(str(text).strip())
    if not m:
        raise ValueError(f"bad quantity {text!r}")
    value = float(m.group(1)) * (10 ** int(m.group(2)) if m.group(2) else 1)
    return int(value * _SUFFIX.get(m.group(3) or "", 1))


def now_rfc3339(nano: bool = False) -> str:
    t = dt.datetime.now(dt.timezone.utc)
    if nano:
        return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes $(VAR) expansion: defined vars are substituted, $$ escapes a dollar."""
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", sub, text)


def session_members(sid: int) -> list[int]:
    """Pids whose session id is `sid` (the pod's processes, unless one called setsid)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != b"Z":  # fields[0] = state, [3] = session
            pids.append(int(entry))
    return pids


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError):
            pass
    return total


@dataclass
class LogRecord:
    time: str
    partial: bool
    content: bytes


def read_log(path: Path, offset: int = 0) -> tuple[list[LogRecord], int]:
    """Complete CRI records of the log file from byte `offset`, and the offset after them."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    records = []
    for line in data[:end].split(b"\n")[:-1]:
        ts, _stream, tag, content = [*line.split(b" ", 3), b"", b"", b""][:4]
        records.append(LogRecord(ts.decode(), tag == b"P", content))
    return records, offset + end


def read_message(path: Path) -> str:
    """The termination message as the kubelet takes it (policy `File`): the file's
    last MESSAGE_LIMIT bytes, nothing if the file is gone."""
    try:
        with open(path, "rb") as file:
            file.seek(max(0, file.seek(0, os.SEEK_END) - MESSAGE_LIMIT))
            return file.read().decode(errors="replace")
    except OSError:
        return ""


class PodRun:
    """The first container of one pod, run as `argv` in an empty directory `root`."""

    def __init__(self, namespace: str, name: str, uid: str, container: str, image: str,
                 root: Path, mem_limit: int | None = None, deadline: float | None = None) -> None:
        self.namespace, self.name, self.uid = namespace, name, uid
        self.container, self.image = container, image
        self.root, self.log_path = root / "rootfs", root / f"{container}.log"
        # The file a kubelet would bind-mount at the container's terminationMessagePath.
        self.message_path, self.message = root / "termination-log", ""
        self.mem_limit, self.deadline = mem_limit, deadline
        self.state = "waiting"  # waiting | running | terminated
        self.pid = 0
        self.started_at = self.finished_at = ""
        self.exit_code: int | None = None
        self.reason = ""  # container terminated reason: Completed | Error | OOMKilled | ...
        self.pod_reason = self.pod_message = ""  # pod-level: Evicted | DeadlineExceeded
        self.peak_rss = 0
        self.cancelled = threading.Event()  # the pod is being deleted: do not start
        self.done = threading.Event()
        self.reported = threading.Event()  # final status written (or given up)
        self._kill_reason: tuple[str | None, str, str] | None = None
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_path.touch()
        self.message_path.touch()

    # -- running ---------------------------------------------------------------------------
    def start(self, argv: list[str], env: dict[str, str]) -> None:
        """Spawn the process group; raises OSError if argv[0] cannot be executed."""
        read_fd, write_fd = os.pipe()
        try:
            self._proc = subprocess.Popen(argv, cwd=self.root, env=env, stdin=subprocess.DEVNULL,
                                          stdout=write_fd, stderr=write_fd, start_new_session=True)
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self.pid = self._proc.pid
        self.started_at = now_rfc3339()
        self.state = "running"
        self._reader = threading.Thread(target=self._read_output, args=(read_fd,), daemon=True,
                                        name=f"log-{self.name}")
        self._reader.start()
        threading.Thread(target=self._supervise, daemon=True, name=f"run-{self.name}").start()

    def _read_output(self, fd: int) -> None:
        pending = b""
        with open(self.log_path, "ab", buffering=0) as log:
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                while len(pending) >= 16384:  # the CRI splits very long lines, so do we
                    lines.append(pending[:16384] + b"\0P")
                    pending = pending[16384:]
                for line in lines:
                    tag, body = (b"P", line[:-2]) if line.endswith(b"\0P") else (b"F", line)
                    log.write(b"%s stdout %s %s\n" % (now_rfc3339(True).encode(), tag, body))
            if pending:
                log.write(b"%s stdout P %s\n" % (now_rfc3339(True).encode(), pending))
        os.close(fd)

    def _supervise(self) -> None:
        assert self._proc is not None
        start = time.monotonic()
        waiter = threading.Thread(target=self._wait4, daemon=True)
        waiter.start()
        while waiter.is_alive():
            if self.mem_limit is not None:
                rss = rss_bytes(session_members(self.pid))
                self.peak_rss = max(self.peak_rss, rss)
                if rss > self.mem_limit:
                    self.kill("OOMKilled")
            if self.deadline is not None and time.monotonic() - start > self.deadline:
                self.kill(None, "DeadlineExceeded",
                          "Pod was active on the node longer than the specified deadline")
            waiter.join(POLL)

    def _wait4(self) -> None:
        assert self._proc is not None
        _, status, usage = os.wait4(self.pid, 0)
        self._proc.returncode = os.waitstatus_to_exitcode(status)
        self.peak_rss = max(self.peak_rss, usage.ru_maxrss * 1024)
        self._killpg(signal.SIGKILL)  # like a container: the rest dies with the main process
        self._reader.join(2.0)
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
        with self._lock:
            over = self.mem_limit is not None and self.peak_rss > self.mem_limit
            if over and not self._kill_reason:
                self._kill_reason = ("OOMKilled", "", "")
            reason, self.pod_reason, self.pod_message = self._kill_reason or (None, "", "")
            if reason == "OOMKilled":
                code = 137
            self.reason = reason or ("Completed" if code == 0 else "Error")
            self.exit_code = code
            self.message = read_message(self.message_path)
            self.finished_at = now_rfc3339()
            self.state = "terminated"
        self.done.set()

    def _killpg(self, sig: int) -> None:
        if self.pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)

    def kill(self, reason: str | None = None, pod_reason: str = "", pod_message: str = "",
             sig: int = signal.SIGKILL, grace: float = 0.0) -> None:
        """Kill the process group; `reason` overrides the container's terminated reason.

        With sig=SIGTERM, SIGKILL follows after `grace` seconds (like a pod deletion).
        """
        with self._lock:
            if self.state != "running":
                return
            if self._kill_reason is None:
                self._kill_reason = (reason, pod_reason, pod_message)
        self._killpg(sig)
        if sig != signal.SIGKILL and not self.done.wait(grace):
            self._killpg(signal.SIGKILL)

    def alive(self) -> bool:
        """Whether any process of this pod still exists."""
        return bool(self.pid) and bool(session_members(self.pid))

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    # -- reporting -------------------------------------------------------------------------
    @property
    def container_id(self) -> str:
        return f"gitpipe-agent://{self.uid}-{self.pid}"

    def container_status(self, waiting: tuple[str, str] | None = None) -> dict[str, Any]:
        status: dict[str, Any] = {
            "name": self.container, "image": self.image or "none",
            "imageID": f"gitpipe-agent://{self.image}", "restartCount": 0,
            "ready": self.state == "running", "started": self.state == "running"}
        if self.state == "running":
            status["containerID"] = self.container_id
            status["state"] = {"running": {"startedAt": self.started_at}}
        elif self.state == "terminated":
            status["containerID"] = self.container_id
            status["state"] = {"terminated": {
                "exitCode": self.exit_code, "reason": self.reason,
                "startedAt": self.started_at or self.finished_at, "finishedAt": self.finished_at,
                "containerID": self.container_id}}
            if self.message:
                status["state"]["terminated"]["message"] = self.message
        else:
            reason, message = waiting or ("ContainerCreating", "")
            status["state"] = {"waiting": {"reason": reason, "message": message}}
        return status

    def pod_status(self, waiting: tuple[str, str] | None = None) -> dict[str, Any]:
        """The pods/status body a kubelet would write for this run."""
        ready = "True" if self.state == "running" else "False"
        ts = now_rfc3339()
        status: dict[str, Any] = {
            "hostIP": "127.0.0.1", "containerStatuses": [self.container_status(waiting)],
            "conditions": [{"type": t, "status": s, "lastTransitionTime": ts} for t, s in
                           (("Initialized", "True"), ("Ready", ready), ("ContainersReady", ready))]}
        if self.state == "waiting":
            status["phase"] = "Pending"
        elif self.state == "running":
            status.update(phase="Running", startTime=self.started_at, podIP="127.0.0.1",
                          podIPs=[{"ip": "127.0.0.1"}])
        else:
            ok = self.exit_code == 0 and not self.pod_reason
            status["phase"] = "Succeeded" if ok else "Failed"
            if self.pod_reason or self.pod_message:
                status.update(reason=self.pod_reason or None, message=self.pod_message or None)
            for cond in status["conditions"][1:]:
                cond["reason"] = "PodCompleted"
        return status


def mount_message_file(container: dict[str, Any], run: PodRun, argv: list[str], env: dict[str, str]
                       ) -> tuple[list[str], dict[str, str]]:
    """Where a kubelet bind-mounts the pod's own file at the container's
    terminationMessagePath (the apiserver defaults it), this agent, with no mount
    namespace, puts the pod's file in place of that path wherever the command
    line or the environment names it exactly."""
    path = container.get("terminationMessagePath") or "/dev/termination-log"
    local = str(run.message_path)
    return ([local if word == path else word for word in argv],
            {name: local if value == path else value for name, value in env.items()})
