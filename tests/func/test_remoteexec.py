"""`gitpipe exec` as a pod runs it, without a cluster: the job record on a remote, an empty
directory that cannot see the workspace, and the outs brought back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gitpipe.executors.kubernetes.session import bring_back
from gitpipe.executors.remotejob import read_result, result_rel
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
    return subprocess.run([sys.executable, "-m", "gitpipe", "exec", *args], cwd=workdir,
                          capture_output=True, text=True)


def test_exec_runs_in_an_empty_dir_and_pushes_outs(repo: Repo, tmp_path: Path) -> None:
    fp, url, digest = staged(repo, tmp_path, "sh src/make.sh && echo $GREETING")
    done = pod(tmp_path, "make", "--fingerprint", fp, "--remote", url, "--record-digest", digest)
    assert done.returncode == 0, done.stderr
    assert "hi" in done.stdout
    assert (tmp_path / "pod/out/up.txt").read_text() == "HELLO\n"
    result = read_result(repo.project().remote(), "make", fp)
    assert result is not None and result.exit_code == 0
    assert [row[0] for row in result.outs] == ["out"]
    assert result.outs[0][1].endswith(".dir")


def test_exec_failure_is_recorded(repo: Repo, tmp_path: Path) -> None:
    fp, url, digest = staged(repo, tmp_path, "echo broken >&2; exit 7")
    done = pod(tmp_path, "make", "--fingerprint", fp, "--remote", url, "--record-digest", digest)
    assert done.returncode == 7
    result = read_result(repo.project().remote(), "make", fp)
    assert result is not None and result.exit_code == 7
    assert "exited with code 7" in result.message


def test_exec_with_deps_missing_on_the_remote(repo: Repo, tmp_path: Path) -> None:
    fp, url, digest = staged(repo, tmp_path, "sh src/make.sh")
    for obj in (tmp_path / "store/files").rglob("*"):
        if obj.is_file():
            obj.unlink()
    done = pod(tmp_path, "make", "--fingerprint", fp, "--remote", url, "--record-digest", digest)
    assert done.returncode == 1
    assert "deps missing on the remote: src/make.sh, data/in.txt" in done.stderr
    record = json.loads((tmp_path / "store" / result_rel("make", fp)).read_text())
    assert record["exit_code"] == 3


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
    bring_back(project, project.remote(), project.graph.nodes["make"]["task"], fp)
    out = repo.path / "run.sh"
    assert os.access(out, os.X_OK)
    assert subprocess.run([str(out)], capture_output=True, text=True).stdout == "made\n"
