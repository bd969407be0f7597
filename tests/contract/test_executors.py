"""One suite, every executor: the local one, the Kubernetes one on the loopback
control plane, and the third-party example of docs/reference/executors.md installed from
the docs' own blocks. Each scenario runs `gitpipe repro` as a subprocess."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GIT_ENV, Repo

DOCS = Path(__file__).parents[2] / "docs" / "reference" / "executors.md"
WORKTREE = Path(__file__).parents[2]


def doc_blocks() -> dict[str, str]:
    """The fenced blocks of docs/reference/executors.md that name a file, by that name."""
    text = DOCS.read_text()
    return dict(re.findall(r'^```\w+ title="([^"]+)"\n(.*?)^```$', text, re.S | re.M))


def install_package(folder: Path, files: dict[str, str]) -> Path:
    """Write a package's files into `folder` and install it as a development
    install does: setuptools reads its pyproject.toml and writes the metadata
    and entry points (`egg_info`) beside the modules, where importlib.metadata
    finds them once the folder is on the path. Offline, and without the
    `wheel` package that building a wheel needs. Returns the folder."""
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "egg_info"],
                   cwd=folder, check=True, capture_output=True)
    return folder


def install_from_docs(site: Path) -> Path:
    """The docs' example package, from its blocks exactly as written, installed."""
    prefix = "gitpipe-sandbox/"
    return install_package(site / "gitpipe-sandbox", {
        name.removeprefix(prefix): text for name, text in doc_blocks().items()
        if name.startswith(prefix)})


@pytest.fixture(scope="session")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PYTHONPATH on which the docs' example executor is installed."""
    return os.pathsep.join([str(WORKTREE),
                            str(install_from_docs(tmp_path_factory.mktemp("site")))])


@dataclass
class Place:
    """One executor as the suite drives it."""

    name: str
    stage_fields: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)
    timeout_says: str = "timed out after"
    configure: Callable[[Repo], None] | None = None  # `gitpipe init`, and what else it needs

    def pipeline(self, repo: Repo, **stages: dict[str, Any]) -> Repo:
        repo.gen({"in.txt": "hello\n"})
        repo.spec({name: {**body, **self.stage_fields} for name, body in stages.items()})
        if self.configure is None:
            repo.run("init", check=True, env=self.env)
        else:
            self.configure(repo)
        repo.commit("pipeline")
        return repo

    def repro(self, repo: Repo, *args: str) -> subprocess.CompletedProcess:
        return repo.run("repro", *args, env=self.env, timeout=240)

    def popen(self, repo: Repo, *args: str) -> subprocess.Popen[str]:
        env = {**os.environ, **GIT_ENV, **self.env}
        return subprocess.Popen([sys.executable, "-m", "gitpipe", *args], cwd=repo.path,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)


def _kubernetes(request: pytest.FixtureRequest) -> Place:
    from tests.k8s.cluster import STAGE_SECRETS, use_cluster

    k8s = request.getfixturevalue("k8s")
    namespace = request.getfixturevalue("k8s_namespace")
    bucket = request.getfixturevalue("s3_bucket")
    s3_env = request.getfixturevalue("s3_env")
    return Place("kubernetes", {"executor": "kubernetes", **STAGE_SECRETS}, dict(k8s.env),
                 "DeadlineExceeded",
                 lambda repo: use_cluster(repo, k8s, namespace, bucket, s3_env))


@pytest.fixture(params=["local", pytest.param("kubernetes",
                                              marks=[pytest.mark.k8s, pytest.mark.s3,
                                                     pytest.mark.slow]),
                        "sandbox"])
def place(request: pytest.FixtureRequest) -> Place:
    if request.param == "kubernetes":
        return _kubernetes(request)
    if request.param == "sandbox":
        return Place("sandbox", {"executor": "sandbox"},
                     {"PYTHONPATH": request.getfixturevalue("plugin_path")})
    return Place("local", {})


def lock_outs(repo: Repo, stage: str) -> dict[str, str | None]:
    entries = repo.project().lock_entries
    return {out.path: out.digest for out in entries[stage].outs} if stage in entries else {}


def test_success_brings_the_outs_back_and_records_them(place: Place, repo: Repo,
                                                       tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    place.pipeline(repo, make={
        "cmd": f"echo ran >> {runs}; mkdir -p model && tr a-z A-Z < in.txt > out.txt && "
               "cp out.txt model/m.txt",
        "deps": ["in.txt"], "outs": ["out.txt", "model/"]})
    done = place.repro(repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.read("out.txt") == repo.read("model/m.txt") == "HELLO\n"
    outs = lock_outs(repo, "make")
    assert set(outs) == {"out.txt", "model"} and all(outs.values())
    assert repo.run("status", "--check", env=place.env).returncode == 0  # lock = work tree
    again = place.repro(repo)
    assert again.returncode == 0 and runs.read_text() == "ran\n"


def test_a_failing_command_reports_its_exit_code(place: Place, repo: Repo) -> None:
    place.pipeline(repo, make={"cmd": "echo about to fail; exit 3", "deps": ["in.txt"],
                               "outs": ["out.txt"]})
    done = place.repro(repo)
    assert done.returncode == 1
    assert "command exited with code 3" in done.stderr, done.stderr
    assert lock_outs(repo, "make") == {}
    log = sorted((repo.path / ".gitpipe/logs").glob("make-*.log"))[-1]
    assert "about to fail" in log.read_text()


def test_a_command_past_its_timeout_is_stopped(place: Place, repo: Repo) -> None:
    place.pipeline(repo, make={"cmd": "sleep 120", "deps": ["in.txt"], "outs": ["out.txt"],
                               "timeout": "3s"})
    started = time.monotonic()
    done = place.repro(repo)
    assert done.returncode == 1
    assert place.timeout_says in done.stderr, done.stderr
    assert time.monotonic() - started < 90
    assert lock_outs(repo, "make") == {}


def _gone(pid: int) -> bool:
    """Whether the process ended (a zombie waiting for its parent counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout:g}s"
        time.sleep(0.1)


def test_ctrl_c_cancels_the_running_command(place: Place, repo: Repo, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    place.pipeline(repo, make={"cmd": f"echo $$ > {pid_file}.tmp && mv {pid_file}.tmp "
                                      f"{pid_file} && sleep 120",
                               "deps": ["in.txt"], "outs": ["out.txt"]})
    proc = place.popen(repo, "repro")
    try:
        _wait_for(pid_file.exists, 120, "the command started")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    pid = int(pid_file.read_text())
    _wait_for(lambda: _gone(pid), 30, "the command ended")
    assert lock_outs(repo, "make") == {}


def test_a_failed_attempt_is_retried(place: Place, repo: Repo, tmp_path: Path) -> None:
    count = tmp_path / "count"
    place.pipeline(repo, make={
        "cmd": f'n=$(cat {count} 2>/dev/null || echo 0); echo $((n + 1)) > {count}; '
               'test "$n" -ge 1 && tr a-z A-Z < in.txt > out.txt',
        "deps": ["in.txt"], "outs": ["out.txt"], "retries": 2})
    done = place.repro(repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert count.read_text() == "2\n"
    assert "attempt 2 of 3" in done.stdout + done.stderr
    assert repo.read("out.txt") == "HELLO\n" and lock_outs(repo, "make")


def test_the_command_reads_its_params_and_sees_its_stage(place: Place, repo: Repo) -> None:
    repo.gen({"params.yaml": {"n": 7}})
    place.pipeline(repo, make={
        "cmd": 'grep "n: 7" params.yaml > out.txt && '
               'echo "stage=$GITPIPE_STAGE partition=$GITPIPE_PARTITION" >> out.txt',
        "deps": ["in.txt"], "params": ["n"], "outs": ["out.txt"]})
    done = place.repro(repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.read("out.txt") == "n: 7\nstage=make partition=\n"


def test_two_packages_registering_one_name_is_an_error_naming_both(
        repo: Repo, plugin_path: str, tmp_path: Path) -> None:
    blocks = doc_blocks()
    fork = install_package(tmp_path / "fork", {
        "pyproject.toml": blocks["gitpipe-sandbox/pyproject.toml"]
        .replace('name = "gitpipe-sandbox"', 'name = "gitpipe-sandbox-fork"')
        .replace("gitpipe_sandbox", "gitpipe_sandbox_fork"),
        "gitpipe_sandbox_fork.py": blocks["gitpipe-sandbox/gitpipe_sandbox.py"]})
    env = {"PYTHONPATH": os.pathsep.join([plugin_path, str(fork)])}
    repo.gen({"in.txt": "x\n"})
    repo.spec({"a": {"cmd": "cp in.txt out.txt", "deps": ["in.txt"], "outs": ["out.txt"],
                     "executor": "sandbox"}}, commit="spec")
    done = repo.run("repro", env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "executor 'sandbox' is registered by several installed packages" in done.stderr
    assert "gitpipe-sandbox 0.1.0 (gitpipe_sandbox:SandboxExecutor)" in done.stderr
    assert "gitpipe-sandbox-fork 0.1.0 (gitpipe_sandbox_fork:SandboxExecutor)" in done.stderr
    # Only a use of the name is an error: the same pipeline runs on another executor.
    assert repo.run("repro", "--executor", "local", env=env).returncode == 0


def test_an_unknown_executor_in_the_spec_names_file_stage_and_the_known_ones(
        repo: Repo, plugin_path: str) -> None:
    repo.spec({"a": {"cmd": "true", "executor": "nosuch"}}, commit="spec")
    done = repo.run("status", env={"PYTHONPATH": plugin_path})
    assert done.returncode == 2
    assert ("gitpipe.yaml:4: stage 'a': unknown executor 'nosuch'; known executors: local, "
            "kubernetes, sandbox") in done.stderr, done.stderr


def test_repro_executor_takes_any_registered_name_and_refuses_others(
        repo: Repo, plugin_path: str) -> None:
    repo.gen({"in.txt": "x\n"})
    repo.spec({"a": {"cmd": "cat in.txt secret.txt > out.txt", "deps": ["in.txt"],
                     "outs": ["out.txt"]}})
    repo.gen({"secret.txt": "undeclared\n"}, commit="spec")
    env = {"PYTHONPATH": plugin_path}
    refused = repo.run("repro", "--executor", "nosuch", env=env)
    assert refused.returncode == 2
    assert "unknown executor 'nosuch'; known executors: local, kubernetes, sandbox" in \
        refused.stderr
    # The sandbox holds only declared deps: the undeclared read fails there.
    sandboxed = repo.run("repro", "--executor", "sandbox", env=env)
    assert sandboxed.returncode == 1
    log = sorted((repo.path / ".gitpipe/logs").glob("a-*.log"))[-1].read_text()
    assert "secret.txt" in log
    assert repo.run("repro", "--executor", "local", env=env).returncode == 0
    assert repo.read("out.txt") == "x\nundeclared\n"


def test_the_docs_pipeline_for_the_plugin_validates_with_it_installed(
        repo: Repo, plugin_path: str) -> None:
    repo.gen({"gitpipe.yaml": doc_blocks()["gitpipe.yaml"]}, commit="spec")
    done = repo.run("validate", env={"PYTHONPATH": plugin_path})
    assert done.returncode == 0, done.stderr
    without = repo.run("validate")
    assert without.returncode == 2 and "unknown executor 'sandbox'" in without.stderr
