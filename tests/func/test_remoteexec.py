"""`gitpipe exec` as a pod runs it, without a cluster: the job record on a remote, an empty
directory that cannot see the workspace, and the outs brought back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitpipe.core.errors import RecordError
from gitpipe.executors.kubernetes.session import bring_back
from gitpipe.executors.remotejob import ResultRecord, read_result, record_digest, result_rel
from tests.conftest import Repo, staged_for_a_pod


def staged(repo: Repo, tmp_path: Path, cmd: str) -> tuple[str, str, str]:
    repo.gen({"src/make.sh": "mkdir -p out && tr a-z A-Z < data/in.txt > out/up.txt\n",
              "data/in.txt": "hello\n"})
    fingerprint, digest = staged_for_a_pod(repo, tmp_path, {
        "cmd": cmd, "deps": ["src/make.sh", "data/in.txt"], "outs": ["out/"],
        "env": {"GREETING": "hi"}})
    return fingerprint, str(tmp_path / "store"), digest


def pod(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    workdir = tmp_path / "pod"
    workdir.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "gitpipe", "exec", *args, "--termination-log",
                           str(tmp_path / "termination-log")], cwd=workdir,
                          capture_output=True, text=True)


def vouched(repo: Repo, tmp_path: Path, fingerprint: str) -> ResultRecord | None:
    """The result record as the controller reads it: vouched for by the digest the
    pod left in its termination log."""
    message = (tmp_path / "termination-log").read_text()
    return read_result(repo.project().remote(), "make", fingerprint, {message}, "pod p")


def test_exec_runs_in_an_empty_dir_and_pushes_outs(repo: Repo, tmp_path: Path) -> None:
    fp, url, digest = staged(repo, tmp_path, "sh src/make.sh && echo $GREETING")
    done = pod(tmp_path, "make", "--fingerprint", fp, "--remote", url, "--record-digest", digest)
    assert done.returncode == 0, done.stderr
    assert "hi" in done.stdout
    assert (tmp_path / "pod/out/up.txt").read_text() == "HELLO\n"
    result = vouched(repo, tmp_path, fp)
    assert result is not None and result.exit_code == 0
    assert [row[0] for row in result.outs] == ["out"]
    assert result.outs[0][1].endswith(".dir")


def test_exec_failure_is_recorded(repo: Repo, tmp_path: Path) -> None:
    fp, url, digest = staged(repo, tmp_path, "echo broken >&2; exit 7")
    done = pod(tmp_path, "make", "--fingerprint", fp, "--remote", url, "--record-digest", digest)
    assert done.returncode == 7
    result = vouched(repo, tmp_path, fp)
    assert result is not None and result.exit_code == 7
    assert "exited with code 7" in result.message


def test_exec_with_deps_missing_on_the_remote(repo: Repo, tmp_path: Path) -> None:
    fp, url, digest = staged(repo, tmp_path, "sh src/make.sh")
    for obj in (tmp_path / "store/files").rglob("*"):
        if obj.is_file():
            obj.unlink()
    done = pod(tmp_path, "make", "--fingerprint", fp, "--remote", url, "--record-digest", digest)
    assert done.returncode == 1
    assert "deps missing on the remote: 'src/make.sh', 'data/in.txt'" in done.stderr
    data = (tmp_path / "store" / result_rel("make", fp)).read_bytes()
    assert json.loads(data)["exit_code"] == 3
    assert (tmp_path / "termination-log").read_text() == record_digest(data)


def test_exec_without_a_job_record(tmp_path: Path) -> None:
    done = pod(tmp_path, "make", "--fingerprint", "xxh3:00", "--remote", str(tmp_path / "nope"),
               "--record-digest", "sha256:00")
    assert done.returncode == 2 and "no job record for 'make' at fingerprint" in done.stderr


def test_executable_deps_and_outs_keep_their_bit_through_the_pod(
        repo: Repo, tmp_path: Path) -> None:
    # The pod runs the dep itself, and the out it makes executable comes back so.
    repo.gen({"bin/gen.sh": "printf '#!/bin/sh\\necho made\\n' > run.sh\n"})
    os.chmod(repo.path / "bin/gen.sh", 0o755)
    fp, digest = staged_for_a_pod(repo, tmp_path, {
        "cmd": "./bin/gen.sh && chmod +x run.sh", "deps": ["bin/gen.sh"], "outs": ["run.sh"]})
    done = pod(tmp_path, "make", "--fingerprint", fp, "--remote", str(tmp_path / "store"),
               "--record-digest", digest)
    assert done.returncode == 0, done.stderr
    project = repo.project()
    bring_back(project, project.remote(), project.graph.nodes["make"]["task"], fp,
               vouched(repo, tmp_path, fp))
    out = repo.path / "run.sh"
    assert os.access(out, os.X_OK)
    assert subprocess.run([str(out)], capture_output=True, text=True).stdout == "made\n"


def test_a_result_record_the_pod_did_not_write_is_refused(repo: Repo, tmp_path: Path) -> None:
    """The pod vouches for the exact bytes it uploaded: a record put in their place
    by another writer of the remote, even a well-formed one, is not believed."""
    fp, url, digest = staged(repo, tmp_path, "sh src/make.sh")
    done = pod(tmp_path, "make", "--fingerprint", fp, "--remote", url, "--record-digest", digest)
    assert done.returncode == 0, done.stderr
    stored = tmp_path / "store" / result_rel("make", fp)
    assert (tmp_path / "termination-log").read_text() == record_digest(stored.read_bytes())
    stored.write_bytes(stored.read_bytes().replace(b'"message": ""', b'"message": "forged"'))
    with pytest.raises(RecordError, match="is not the record pod p wrote"):
        vouched(repo, tmp_path, fp)
    with pytest.raises(RecordError, match="pod p vouched for no result record"):
        read_result(repo.project().remote(), "make", fp, set(), "pod p")
