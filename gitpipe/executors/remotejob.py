"""The contract between gitpipe and a pod, through the remote.

A pod cannot see the workspace: gitpipe stores the task's deps as objects,
writes `jobs/<task key>/<fingerprint>.json` (what to run, with which deps and
outs) and puts the record's sha256 in the Job it creates; `gitpipe exec` in the
pod checks that digest before it trusts the record, writes
`heartbeats/<task key>/<fingerprint>` while it runs and
`results/<task key>/<fingerprint>.json` (exit code, out digests) when it ends,
and vouches for that record with its sha256 in the container's termination
message, which the controller reads from the pod's status. Both sides check
the other's digest and parse every record strictly: the remote is shared, so
what is on it is untrusted input.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gitpipe.core.errors import BadInputError, RecordError
from gitpipe.hashing.digests import EXEC, XXH3
from gitpipe.pipeline.model import Task
from gitpipe.project.pydeps import modules_of
from gitpipe.storage.cache import Cache
from gitpipe.storage.remote import Remote, push
from gitpipe.storage.workspace import Workspace
from gitpipe.trust import checks as trust
from gitpipe.trust.sizes import loads_record

FINGERPRINT = re.compile(r"xxh3:[0-9a-f]{1,64}")
OBJECT_DIGEST = re.compile(r"xxh3:[0-9a-f]{32}(\.dir)?")
SCRATCH = ".gitpipe-exec"  # the pod's own cache and state, beside the materialised deps
RESERVED_TOP = frozenset({".gitpipe", SCRATCH})


def task_key(task: str) -> str:
    """A name for `task` safe in remote keys, Job names and labels, and distinct for
    every exact name: `Train`, `train` and `train.x` differ only in the hash."""
    readable = re.sub(r"[^a-z0-9]+", "-", task.lower()).strip("-")[:30] or "task"
    return f"{readable}-{hashlib.sha256(task.encode()).hexdigest()[:10]}"


def _key(task: str, fingerprint: str) -> str:
    return f"{task_key(task)}/{fingerprint.partition(':')[2] or fingerprint}"


def job_rel(task: str, fingerprint: str) -> str:
    return f"jobs/{_key(task, fingerprint)}.json"


def result_rel(task: str, fingerprint: str) -> str:
    return f"results/{_key(task, fingerprint)}.json"


def heartbeat_rel(task: str, fingerprint: str) -> str:
    return f"heartbeats/{_key(task, fingerprint)}"


def record_digest(data: bytes) -> str:
    """What the Job spec carries to vouch for a job record: sha256, which nobody
    can meet with another record (xxh3 is fast, not collision-proof)."""
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def check_fingerprint(fingerprint: str) -> None:
    """A fingerprint names remote keys: nothing but `xxh3:` and hex digits."""
    if not FINGERPRINT.fullmatch(fingerprint):
        raise BadInputError(f"not a fingerprint: {fingerprint!r}",
                            hint="gitpipe passes 'xxh3:<hex>' in the Job it creates")


# -- path rules for records (the same as gitpipe/trust/checks.py's; folded in there at merge) --
def record_path_problem(path: object) -> str | None:
    """Why `path` from a job or result record is not a plain relative path inside
    its folder (trust.path_problem's rules, and nothing under the pod's own
    folders), or None when it is one."""
    problem = trust.path_problem(path)
    if problem is not None:
        return problem
    assert isinstance(path, str)
    top = path.split("/", 1)[0]
    if top in RESERVED_TOP:
        return f"is under {top!r}, which gitpipe keeps for itself"
    return None


def wdir_problem(wdir: object) -> str | None:
    """A record's `wdir`: '.' or a path by the record path rules."""
    return None if wdir == "." else record_path_problem(wdir)


def symlinked_parent(root: Path, path: str) -> str | None:
    """The first parent folder of `path` under `root` that is a symlink (or not a
    folder), or None: writing through one would land outside `root`."""
    blocked = trust.blocking_parent(root, path)
    return None if blocked is None else blocked[0]


# -- records ---------------------------------------------------------------------------


def _load_object(data: bytes, where: str) -> dict[str, Any]:
    try:
        loaded = loads_record(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordError(f"{where}: not JSON: {exc}") from None
    if not isinstance(loaded, dict):
        raise RecordError(f"{where}: must be a JSON object")
    return loaded


def _field(body: dict[str, Any], name: str, kinds: tuple[type, ...], where: str) -> Any:
    value = body.get(name)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise RecordError(f"{where}: {name!r} is missing or of the wrong type")
    return value


def _rows(value: Any, kinds: tuple[tuple[type, ...], ...], name: str, where: str,
          flagged: bool = False) -> list[list[Any]]:
    """A list of rows whose items have the given types; `flagged` rows of a
    file may end with EXEC as well (see with_mode)."""
    if not isinstance(value, list):
        raise RecordError(f"{where}: {name!r} must be a list")
    for row in value:
        if not _well_formed(row, kinds, flagged):
            raise RecordError(f"{where}: {name!r} holds a malformed entry {row!r:.80}")
    return value


def _well_formed(row: Any, kinds: tuple[tuple[type, ...], ...], flagged: bool) -> bool:
    if not isinstance(row, list):
        return False
    fixed, flags = row[:len(kinds)], row[len(kinds):]
    allowed = ([], [EXEC]) if flagged else ([],)
    return len(fixed) == len(kinds) and flags in allowed and all(
        isinstance(item, kind) and (bool in kind or not isinstance(item, bool))
        for item, kind in zip(fixed, kinds, strict=True))


def with_mode(row: list[Any], executable: bool) -> list[Any]:
    """A record's row of a file, flagged EXEC when the file is executable: the
    objects a pod and the workspace exchange are bytes without a mode, so the
    bit travels in the record, as in a directory's manifest."""
    return [*row, EXEC] if executable else row


def is_flagged(row: list[Any]) -> bool:
    """Whether a dep row of a job record or an out row of a result names an
    executable file."""
    return row[-1] == EXEC


def _checked_paths(paths: list[str], name: str, where: str) -> None:
    for path in paths:
        problem = record_path_problem(path)
        if problem:
            raise RecordError(f"{where}: {name} path {path!r:.80} {problem}")
    if len(set(paths)) != len(paths):
        raise RecordError(f"{where}: {name} names a path twice")


def _sizes(value: Any, where: str) -> dict[str, int]:
    if not isinstance(value, dict) or not all(
            OBJECT_DIGEST.fullmatch(str(k)) and type(n) is int and n >= 0
            for k, n in value.items()):
        raise RecordError(f"{where}: 'sizes' must map object digests to byte counts")
    return value


@dataclass(frozen=True)
class JobRecord:
    """Everything `gitpipe exec` needs to run one task away from the workspace."""

    task: str
    fingerprint: str
    cmd: str
    wdir: str
    env: dict[str, str] = field(default_factory=dict)
    deps: list[list[Any]] = field(default_factory=list)   # [path, xxh3 digest(, EXEC)]
    outs: list[list[Any]] = field(default_factory=list)   # [path, is_dir]
    stage: str = ""
    partition: str | None = None
    # A file dep's size by its digest: the pod downloads no more (trust/sizes.py).
    sizes: dict[str, int] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "job record") -> JobRecord:
        """Parse and validate: the types, and every path by the record path rules."""
        body = _load_object(data, where)
        env = _field(body, "env", (dict,), where)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise RecordError(f"{where}: 'env' must map names to strings")
        record = cls(_field(body, "task", (str,), where),
                     _field(body, "fingerprint", (str,), where),
                     _field(body, "cmd", (str,), where), _field(body, "wdir", (str,), where),
                     env, _rows(body.get("deps"), ((str,), (str,)), "deps", where, True),
                     _rows(body.get("outs"), ((str,), (bool,)), "outs", where),
                     _field(body, "stage", (str,), where),
                     body.get("partition") if isinstance(body.get("partition"), str) else None,
                     _sizes(body.get("sizes", {}), where))
        problem = wdir_problem(record.wdir)
        if problem:
            raise RecordError(f"{where}: wdir {record.wdir!r:.80} {problem}")
        if not all(OBJECT_DIGEST.fullmatch(row[1]) for row in record.deps):
            raise RecordError(f"{where}: a dep's digest is not an xxh3 object digest")
        _checked_paths([row[0] for row in record.deps], "dep", where)
        _checked_paths([path for path, _ in record.outs], "out", where)
        return record


@dataclass(frozen=True)
class ResultRecord:
    """How the command ended in the pod, and what it produced, for which task."""

    exit_code: int
    outs: list[list[Any]] = field(default_factory=list)   # [path, digest, size(, EXEC)]
    message: str = ""
    task: str = ""
    fingerprint: str = ""

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "result record") -> ResultRecord:
        """Parse and validate the shape; which outs it may name is `check_outs`'."""
        body = _load_object(data, where)
        record = cls(_field(body, "exit_code", (int,), where),
                     _rows(body.get("outs", []), ((str,), (str,), (int,)), "outs", where, True),
                     _field(body, "message", (str,), where),
                     _field(body, "task", (str,), where),
                     _field(body, "fingerprint", (str,), where))
        _checked_paths([row[0] for row in record.outs], "out", where)
        if not all(OBJECT_DIGEST.fullmatch(row[1]) for row in record.outs):
            raise RecordError(f"{where}: an out's digest is not an xxh3 object digest")
        return record

    def check_outs(self, declared: dict[str, bool], where: str) -> None:
        """Exactly the declared outs (path -> is_dir), each with its declared kind."""
        named = {row[0]: row[1].endswith(".dir") for row in self.outs}
        if set(named) != set(declared):
            extra = sorted(set(named) - set(declared))
            lacking = sorted(set(declared) - set(named))
            raise RecordError(f"{where}: names outs the stage does not declare {extra}"
                              if extra else f"{where}: lacks declared outs {lacking}")
        for path, is_dir in named.items():
            if is_dir != declared[path]:
                kinds = ("a file", "a directory")
                raise RecordError(f"{where}: out {path!r} is {kinds[is_dir]}, declared as "
                                  f"{kinds[declared[path]]}")


def job_record(task: Task, fingerprint: str, workspace: Workspace) -> JobRecord:
    """The record a pod runs `task` from; every dep named by its xxh3 digest.

    Code deps are named by git blob ids in the lock; a pod needs their bytes,
    so every dep is hashed with xxh3 here. The stage's params files go with
    its deps: the command reads them too; so do the module files its
    `python:` deps stand for, which the fingerprint holds: a pod that imported
    the image's copy instead would record a result of code it never ran.
    """
    deps = []
    sizes = {}
    params_files = sorted({ref.file for ref in task.stage.params} - set(task.deps))
    for path in [*task.deps, *params_files, *_module_files(task, workspace, params_files)]:
        info = workspace.info(path, XXH3)
        assert info.digest is not None, f"dependency {path!r} does not exist"
        deps.append(with_mode([path, info.digest], info.executable))
        if not info.is_dir:
            sizes[info.digest] = info.size
    return JobRecord(task.name, fingerprint, task.cmd, task.stage.wdir, dict(task.env),
                     deps, [[o.path, o.is_dir] for o in task.outs], task.stage.name,
                     task.partition, sizes)


def _module_files(task: Task, workspace: Workspace, params_files: list[str]) -> list[str]:
    """The module files of the task's `python:` deps that no dep (a file, or a
    folder above it) or params file already brings to the pod."""
    modules, _ = modules_of(task, workspace)
    brought = (*task.deps, *params_files)
    return sorted(path for path in modules
                  if not any(path == dep or path.startswith(dep.rstrip("/") + "/")
                             for dep in brought))


def stage_job(task: Task, fingerprint: str, workspace: Workspace, cache: Cache,
              remote: Remote) -> str:
    """Cache and push the task's deps, publish its job record, and return the
    record's digest (what the Job spec carries for the pod to check)."""
    record = job_record(task, fingerprint, workspace)
    for path, digest, *_ in record.deps:
        if digest.endswith(".dir"):
            cache.add_tree(workspace.root / path, digest)
        else:
            cache.add_file(workspace.root / path, digest)
    push(remote, cache, [row[1] for row in record.deps])
    data = record.to_bytes()
    remote.put_bytes(job_rel(task.name, fingerprint), data)
    return record_digest(data)


def read_result(remote: Remote, task: str, fingerprint: str, vouched: Collection[str],
                pod: str) -> ResultRecord | None:
    """The pod's result record for this task and fingerprint, or None while there is
    none. Only the exact bytes `pod` vouched for (a digest in `vouched`, from its
    termination message) are believed: anyone else who writes the remote may have
    replaced the record. A record not vouched for, malformed, or naming another
    task is a RecordError."""
    rel = result_rel(task, fingerprint)
    data = remote.get_bytes(rel)
    if data is None:
        return None
    where = f"result record {rel!r} on remote {remote.name!r}"
    if not vouched:
        raise RecordError(f"{where}: {pod} vouched for no result record (no sha256 in its "
                          "termination message; is the image's gitpipe older than this "
                          "one?); refusing it")
    if record_digest(data) not in vouched:
        raise RecordError(f"{where}: is not the record {pod} wrote (its sha256 is not the "
                          "one in the termination message); refusing it: something else "
                          "that writes the remote replaced it")
    result = ResultRecord.from_bytes(data, where)
    if (result.task, result.fingerprint) != (task, fingerprint):
        raise RecordError(f"{where}: is for {result.task!r} at {result.fingerprint!r:.40}, "
                          f"not {task!r} at {fingerprint!r}")
    return result


def heartbeat(remote: Remote, task: str, fingerprint: str) -> bytes | None:
    """The pod's last heartbeat as the remote holds it, or None before its first.
    Only its changes tell: the time it holds is the pod's clock (or another
    writer's word), so a beat from "the future" keeps nothing alive."""
    return remote.get_bytes(heartbeat_rel(task, fingerprint))


def clear_result(remote: Remote, task: str, fingerprint: str) -> None:
    """Before a new attempt: an old result or heartbeat must not be mistaken for it.
    Removed as every remote file is (`Remote.delete`: in a folder remote, never
    through a link planted on the way, which stops the attempt instead)."""
    for rel in (result_rel(task, fingerprint), heartbeat_rel(task, fingerprint)):
        with contextlib.suppress(FileNotFoundError, OSError):
            remote.delete([rel])
