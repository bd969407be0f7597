"""The contract between gitpipe and a pod, through the remote.

A pod cannot see the workspace: gitpipe stores the task's deps as objects,
writes `jobs/<fingerprint>.json` (what to run, with which deps and outs);
`gitpipe exec` in the pod writes `heartbeats/<fingerprint>` while it runs and
`results/<fingerprint>.json` (exit code, out digests) when it ends.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from gitpipe.cache import Cache
from gitpipe.hashing import XXH3
from gitpipe.remote import Remote, push
from gitpipe.spec import Task
from gitpipe.workspace import Workspace


def _key(fingerprint: str) -> str:
    return fingerprint.partition(":")[2] or fingerprint


def job_rel(fingerprint: str) -> str:
    return f"jobs/{_key(fingerprint)}.json"


def result_rel(fingerprint: str) -> str:
    return f"results/{_key(fingerprint)}.json"


def heartbeat_rel(fingerprint: str) -> str:
    return f"heartbeats/{_key(fingerprint)}"


@dataclass(frozen=True)
class JobRecord:
    """Everything `gitpipe exec` needs to run one task away from the workspace."""

    task: str
    fingerprint: str
    cmd: str
    wdir: str
    env: dict[str, str] = field(default_factory=dict)
    deps: list[list[Any]] = field(default_factory=list)   # [path, xxh3 digest]
    outs: list[list[Any]] = field(default_factory=list)   # [path, is_dir]
    stage: str = ""
    partition: str | None = None

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> JobRecord:
        return cls(**json.loads(data))


@dataclass(frozen=True)
class ResultRecord:
    """How the command ended in the pod, and what it produced."""

    exit_code: int
    outs: list[list[Any]] = field(default_factory=list)   # [path, digest, size]
    message: str = ""

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> ResultRecord:
        return cls(**json.loads(data))


def stage_job(task: Task, fingerprint: str, workspace: Workspace, cache: Cache,
              remote: Remote) -> JobRecord:
    """Store the task's deps as xxh3 objects, push them, and publish the job record.

    Code deps are named by git blob ids in the lock; a pod needs their bytes,
    so every dep is also hashed with xxh3 and cached here.
    """
    deps = []
    for path in task.deps:
        info = workspace.info(path, XXH3)
        assert info.digest is not None, f"dependency {path!r} does not exist"
        full = workspace.root / path
        if info.is_dir:
            cache.add_tree(full, info.digest)
        else:
            cache.add_file(full, info.digest)
        deps.append([path, info.digest])
    push(remote, cache, [digest for _, digest in deps], [])
    record = JobRecord(task.name, fingerprint, task.cmd, task.stage.wdir, dict(task.env),
                       deps, [[o.path, o.is_dir] for o in task.outs], task.stage.name,
                       task.partition)
    remote.put_bytes(job_rel(fingerprint), record.to_bytes())
    return record


def read_result(remote: Remote, fingerprint: str) -> ResultRecord | None:
    data = remote.get_bytes(result_rel(fingerprint))
    return None if data is None else ResultRecord.from_bytes(data)


def heartbeat_age(remote: Remote, fingerprint: str) -> float | None:
    """Seconds since the pod last said it is alive, or None before its first beat."""
    data = remote.get_bytes(heartbeat_rel(fingerprint))
    if data is None:
        return None
    try:
        return max(0.0, time.time() - float(data.decode()))
    except ValueError:
        return None


def clear_result(remote: Remote, fingerprint: str) -> None:
    """Before a new attempt: an old result or heartbeat must not be mistaken for it."""
    for rel in (result_rel(fingerprint), heartbeat_rel(fingerprint)):
        with contextlib.suppress(FileNotFoundError, OSError):
            remote.fs.rm_file(remote.full(rel))
