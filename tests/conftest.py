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

    def __init__(self, path: Path) -> None:
        self.path = path
        self.git("init", "-q", "-b", "main")

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
