"""`gitpipe exec`: what a Kubernetes pod runs. Pull the deps, run the command,
verify and push the outs, and say how it went, all through the remote.

It needs nothing from the workspace, only an image with gitpipe installed
and access to the remote (credentials from the environment).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from gitpipe.core.errors import BadInputError, GitpipeError
from gitpipe.executors.base import command_env
from gitpipe.executors.remotejob import (
    SCRATCH,
    JobRecord,
    RecordError,
    ResultRecord,
    check_fingerprint,
    heartbeat_rel,
    is_flagged,
    job_rel,
    record_digest,
    result_rel,
    symlinked_parent,
    with_mode,
)
from gitpipe.hashing.digests import XXH3
from gitpipe.storage.cache import Cache
from gitpipe.storage.remote import Remote, fetch_objects, push
from gitpipe.storage.state import State
from gitpipe.storage.workspace import Workspace

EXIT_DEPS_MISSING = 3


def _beat(remote: Remote, record: JobRecord, stop: threading.Event, every: float) -> None:
    while not stop.is_set():
        # A missed beat is survivable: the controller allows several.
        with contextlib.suppress(GitpipeError):
            remote.put_bytes(heartbeat_rel(record.task, record.fingerprint),
                             str(time.time()).encode())
        stop.wait(every)


def run_in_pod(task: str, fingerprint: str, remote_url: str, workdir: Path,
               expected_digest: str, termination_log: Path | None = None) -> int:
    """Run one task's attempt in `workdir`; the exit code is the command's.

    The job record is only obeyed if its digest is the one the Job was created
    with: a record planted on the shared remote is refused before anything is
    fetched, run or uploaded. The other way round, the result record's digest
    goes to `termination_log` (the container's terminationMessagePath), which
    the kubelet hands the controller through the pod's status, out of reach
    of whoever else writes the remote.
    """
    check_fingerprint(fingerprint)
    options = json.loads(os.environ.get("GITPIPE_REMOTE_OPTIONS") or "{}")
    remote = Remote("remote", remote_url, options)
    record = _vouched_record(remote, task, fingerprint, expected_digest)
    cache = Cache(workdir / SCRATCH / "cache", "copy")
    cache.note_sizes(record.sizes.items())  # the record is vouched for: a download's cap
    fetch_objects(remote, cache, [row[1] for row in record.deps])
    missing = [row[0] for row in record.deps if cache.missing(row[1])]
    if missing:
        message = f"deps missing on the remote: {', '.join(map(repr, missing))}"
        _report(remote, record, ResultRecord(EXIT_DEPS_MISSING, message=message),
                termination_log)
        raise GitpipeError(message, hint="run 'gitpipe push' from the workspace")
    for row in record.deps:
        path, digest = row[0], row[1]
        _refuse_symlinked_parent(workdir, path, "dep")
        cache.checkout(workdir / path, digest, is_flagged(row))
    return _run_and_report(record, remote, cache, workdir, termination_log)


def _vouched_record(remote: Remote, task: str, fingerprint: str,
                    expected_digest: str) -> JobRecord:
    """The job record, checked against the Job's digest, then parsed and validated."""
    rel = job_rel(task, fingerprint)
    data = remote.get_bytes(rel)
    if data is None:
        raise BadInputError(f"no job record for {task!r} at fingerprint {fingerprint} on "
                            f"{remote.url}", hint="gitpipe writes it before creating the Job; "
                            "is this the right remote?")
    where = f"job record {rel!r}"
    if record_digest(data) != expected_digest:
        raise RecordError(f"{where}: its digest is not the one this Job was created with; "
                          "refusing to run it", hint="the record on the remote was replaced "
                          "after the Job was made: rerun 'gitpipe repro'")
    record = JobRecord.from_bytes(data, where)
    if (record.task, record.fingerprint) != (task, fingerprint):
        raise RecordError(f"{where}: is for {record.task!r} at {record.fingerprint}, "
                          f"not {task!r} at {fingerprint}")
    return record


def _refuse_symlinked_parent(workdir: Path, path: str, kind: str) -> None:
    link = symlinked_parent(workdir, path)
    if link is not None:
        raise RecordError(f"{kind} {path!r}: its parent {link!r} is a symlink or a file; "
                          "gitpipe writes and reads only inside the work folder")


def _report(remote: Remote, record: JobRecord, result: ResultRecord,
            termination_log: Path | None) -> None:
    """Write the result record, naming the task and fingerprint it is for, then
    vouch for exactly those bytes in the termination log: the controller
    believes no other record."""
    named = ResultRecord(result.exit_code, result.outs, result.message, record.task,
                         record.fingerprint)
    data = named.to_bytes()
    remote.put_bytes(result_rel(record.task, record.fingerprint), data)
    if termination_log is not None:
        termination_log.write_text(record_digest(data), encoding="ascii")


def _run_and_report(record: JobRecord, remote: Remote, cache: Cache, workdir: Path,
                    termination_log: Path | None) -> int:
    stop = threading.Event()
    every = float(os.environ.get("GITPIPE_HEARTBEAT", "10"))
    beat = threading.Thread(target=_beat, args=(remote, record, stop, every), daemon=True)
    beat.start()
    try:
        code = _run_command(record, workdir)
        if code != 0:
            result = ResultRecord(code, message=f"command exited with code {code}")
        else:
            result = _collect_outs(record, remote, cache, workdir)
        _report(remote, record, result, termination_log)
        return result.exit_code
    finally:
        stop.set()


def _run_command(record: JobRecord, workdir: Path) -> int:
    for path, _ in record.outs:
        _refuse_symlinked_parent(workdir, path, "out")
        (workdir / path).parent.mkdir(parents=True, exist_ok=True)
    _refuse_symlinked_parent(workdir, f"{record.wdir}/.", "wdir")
    (workdir / record.wdir).mkdir(parents=True, exist_ok=True)
    env = command_env(workdir, record.stage, record.partition, record.env)
    sys.stdout.flush()
    process = subprocess.run(["/bin/sh", "-c", record.cmd], cwd=workdir / record.wdir, env=env,
                             stdin=subprocess.DEVNULL)
    return process.returncode


def _collect_outs(record: JobRecord, remote: Remote, cache: Cache,
                  workdir: Path) -> ResultRecord:
    state = State(workdir / SCRATCH / "state.db")
    space = Workspace(workdir, state, None)
    outs = []
    for path, _ in record.outs:
        problem = _escaping_out(workdir, path)
        if problem:
            return ResultRecord(1, message=f"out {path!r}: {problem}")
        info = space.info(path, XXH3)
        if info.digest is None:
            return ResultRecord(1, message=f"the command succeeded but did not create out "
                                           f"{path!r}")
        if info.is_dir:
            cache.add_tree(workdir / path, info.digest)
        else:
            cache.add_file(workdir / path, info.digest)
        outs.append(with_mode([path, info.digest, info.size], info.executable))
    push(remote, cache, [row[1] for row in outs])
    return ResultRecord(0, outs)


def _escaping_out(workdir: Path, path: str) -> str | None:
    """Why an out would be read from outside the work folder, or None.

    The command may leave an out as a symlink (or under one) to a file it did
    not make, such as the service-account token: that is never uploaded.
    """
    link = symlinked_parent(workdir, path)
    if link is not None:
        return f"its parent {link!r} is a symlink or a file; not uploaded"
    full = workdir / path
    inside = os.path.realpath(workdir) + os.sep
    if full.is_symlink() and not os.path.realpath(full).startswith(inside):
        return "is a symlink out of the work folder; not uploaded"
    return None
