"""Shared fixtures: real git repositories in temp dirs, the CLI in-process and as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

GIT_ENV = {
    "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}
RUNLOG = "runs.log"


def ran_cmd(name: str, body: str) -> str:
    """A stage command that appends its name to runs.log, then does `body`."""
    return f"echo {name} >> {RUNLOG} && {body}"


class Repo:
    """A temporary git repository with gitpipe helpers."""

    def __init__(self, path: Path, init: bool = True) -> None:
        self.path = path
        if init:
            self.git("init", "-q", "-b", "main")
            # The test's run log is never committed, so clones start without one.
            (path / ".git/info/exclude").write_text(f"{RUNLOG}\n")

    def clone_to(self, path: Path) -> Repo:
        """A real `git clone` of this repository."""
        self.git("clone", "-q", str(self.path), str(path))
        return Repo(path, init=False)

    def git(self, *args: str) -> str:
        env = {**os.environ, **GIT_ENV, "HOME": str(self.path)}
        done = subprocess.run(["git", *args], cwd=self.path, env=env, check=True,
                              capture_output=True, text=True)
        return done.stdout

    def gen(self, files: dict[str, Any], commit: str | None = None) -> Repo:
        """Write files (str, bytes, or dict → YAML); optionally commit everything."""
        import yaml

        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, (dict, list)):
                content = yaml.safe_dump(content, sort_keys=False)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(textwrap.dedent(content) if "\n" in content else content)
        if commit:
            self.commit(commit)
        return self

    def commit(self, message: str = "commit") -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)

    def spec(self, stages: dict[str, Any], commit: str | None = None) -> Repo:
        return self.gen({"gitpipe.yaml": {"stages": stages}}, commit=commit)

    def read(self, name: str) -> str:
        return (self.path / name).read_text()

    def ran(self) -> list[str]:
        """Stage names in the order their commands ran; clears the log."""
        log = self.path / RUNLOG
        if not log.exists():
            return []
        names = log.read_text().split()
        log.unlink()
        return names

    def project(self) -> Any:
        from gitpipe.api import Project

        return Project(self.path)

    def cli(self, *args: str) -> Any:
        """The CLI in-process (click's runner), from the repository root."""
        from gitpipe.cli import cli

        runner = CliRunner()
        return runner.invoke(cli, ["-C", str(self.path), *args], catch_exceptions=False)

    def run(self, *args: str, check: bool = False, **kwargs: Any) -> subprocess.CompletedProcess:
        """The CLI as a real subprocess (`python -m gitpipe`)."""
        env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", "GITPIPE_RETRY_BACKOFF": "0.05"}
        env.update(kwargs.pop("env", {}))
        return subprocess.run([sys.executable, "-m", "gitpipe", *args], cwd=self.path,
                              env=env, capture_output=True, text=True, check=check, **kwargs)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    path = tmp_path / "repo"
    path.mkdir()
    return Repo(path)


@pytest.fixture
def make_repo(tmp_path: Path) -> Any:
    """Factory for several repositories in one test."""
    count = 0

    def make(name: str | None = None) -> Repo:
        nonlocal count
        count += 1
        path = tmp_path / (name or f"repo{count}")
        path.mkdir()
        return Repo(path)

    return make


@pytest.fixture(autouse=True)
def _quiet_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("GITPIPE_RETRY_BACKOFF", "0.05")
    monkeypatch.delenv("GITPIPE_JOBS", raising=False)
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="session")
def s3_server() -> Any:
    """moto's S3 server on 127.0.0.1 (a real HTTP endpoint), for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Dummy credentials and the endpoint in the standard AWS variables only.

    NOTE: without credentials botocore probes a cloud metadata address; only
    127.0.0.1 may ever be contacted, so credentials are always set.
    """
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": s3_server}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    return env


@pytest.fixture
def s3_bucket(s3_env: dict[str, str]) -> str:
    """A fresh bucket; returns its s3:// URL with a prefix."""
    import uuid

    import boto3

    name = f"gitpipe-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_env["AWS_ENDPOINT_URL"]).create_bucket(Bucket=name)
    return f"s3://{name}/cache"


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def remote_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every remote kind the contract suite runs against."""
    if request.param == "local":
        return str(tmp_path / "remote-store")
    return str(request.getfixturevalue("s3_bucket"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, keep the tests that share the Kubernetes control plane on one worker."""
    for item in items:
        path = str(item.fspath)
        if "/tests/k8s/" in path:
            item.add_marker(pytest.mark.xdist_group("k8s"))
