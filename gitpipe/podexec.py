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

from gitpipe.cache import Cache
from gitpipe.errors import BadInputError, GitpipeError
from gitpipe.hashing import XXH3
from gitpipe.remote import Remote, fetch_objects, push
from gitpipe.remotejob import (
    JobRecord,
    ResultRecord,
    heartbeat_rel,
    job_rel,
    result_rel,
)
from gitpipe.state import State
from gitpipe.workspace import Workspace

EXIT_DEPS_MISSING = 3


def _beat(remote: Remote, fingerprint: str, stop: threading.Event, every: float) -> None:
    while not stop.is_set():
        # A missed beat is survivable: the controller allows several.
        with contextlib.suppress(GitpipeError):
            remote.put_bytes(heartbeat_rel(fingerprint), str(time.time()).encode())
        stop.wait(every)


def run_in_pod(task: str, fingerprint: str, remote_url: str, workdir: Path) -> int:
    """Run one task's attempt in `workdir`; the exit code is the command's."""
    options = json.loads(os.environ.get("GITPIPE_REMOTE_OPTIONS") or "{}")
    remote = Remote("remote", remote_url, options)
    data = remote.get_bytes(job_rel(fingerprint))
    if data is None:
        raise BadInputError(f"no job record for fingerprint {fingerprint} on {remote_url}",
                            hint="gitpipe writes it before creating the Job; is this the "
                            "right remote?")
    record = JobRecord.from_bytes(data)
    if record.task != task:
        raise BadInputError(f"the job record is for {record.task!r}, not {task!r}")
    scratch = workdir / ".gitpipe-exec"
    cache = Cache(scratch / "cache", "copy")
    fetch_objects(remote, cache, [digest for _, digest in record.deps])
    missing = [path for path, digest in record.deps if cache.missing(digest)]
    if missing:
        message = f"deps missing on the remote: {', '.join(missing)}"
        remote.put_bytes(result_rel(fingerprint),
                         ResultRecord(EXIT_DEPS_MISSING, message=message).to_bytes())
        raise GitpipeError(message, hint="run 'gitpipe push' from the workspace")
    for path, digest in record.deps:
        cache.checkout(workdir / path, digest)
    return _run_and_report(record, remote, cache, workdir)


def _run_and_report(record: JobRecord, remote: Remote, cache: Cache, workdir: Path) -> int:
    stop = threading.Event()
    every = float(os.environ.get("GITPIPE_HEARTBEAT", "10"))
    beat = threading.Thread(target=_beat, args=(remote, record.fingerprint, stop, every),
                            daemon=True)
    beat.start()
    try:
        code = _run_command(record, workdir)
        if code != 0:
            result = ResultRecord(code, message=f"command exited with code {code}")
        else:
            result = _collect_outs(record, remote, cache, workdir)
        remote.put_bytes(result_rel(record.fingerprint), result.to_bytes())
        return result.exit_code
    finally:
        stop.set()


def _run_command(record: JobRecord, workdir: Path) -> int:
    for path, _ in record.outs:
        (workdir / path).parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **record.env, "GITPIPE_ROOT": str(workdir),
           "GITPIPE_STAGE": record.stage, "GITPIPE_PARTITION": record.partition or ""}
    sys.stdout.flush()
    process = subprocess.run(["/bin/sh", "-c", record.cmd], cwd=workdir / record.wdir, env=env,
                             stdin=subprocess.DEVNULL)
    return process.returncode


def _collect_outs(record: JobRecord, remote: Remote, cache: Cache,
                  workdir: Path) -> ResultRecord:
    state = State(workdir / ".gitpipe-exec" / "state.db")
    space = Workspace(workdir, state, None)
    outs = []
    for path, _ in record.outs:
        info = space.info(path, XXH3)
        if info.digest is None:
            return ResultRecord(1, message=f"the command succeeded but did not create out "
                                           f"{path!r}")
        if info.is_dir:
            cache.add_tree(workdir / path, info.digest)
        else:
            cache.add_file(workdir / path, info.digest)
        outs.append([path, info.digest, info.size])
    push(remote, cache, [digest for _, digest, _ in outs], [])
    return ResultRecord(0, outs)
