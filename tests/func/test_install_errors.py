"""What a user sees when gitpipe cannot run as installed: a platform without
POSIX, an extra that is not installed. The console script in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Repo


def test_the_console_script_refuses_a_platform_without_posix(tmp_path: Path) -> None:
    # os.name as native Windows reports it, read by the real entry point.
    code = ("import os, sys; os.name = 'nt'; sys.argv = ['gitpipe', 'status']\n"
            "from gitpipe.cli.launch import main; main()")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0].startswith("error: gitpipe runs on Linux and macOS"), done.stderr
    assert lines[1].startswith("hint: on Windows, run gitpipe inside WSL 2")
    assert "Traceback" not in done.stderr


def _without(module: str, argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The console script run as if `module` were not installed (its import fails)."""
    code = (f"import sys; sys.modules[{module!r}] = None; sys.argv = ['gitpipe', *{argv!r}]\n"
            "from gitpipe.cli.launch import main; main()")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "AWS_ACCESS_KEY_ID": "x"})


def test_a_missing_s3_filesystem_names_the_extra_to_install(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "echo a > o", "outs": ["o"]}}, commit="spec")
    repo.run("init", check=True)
    (repo.path / ".gitpipe/config.yaml").write_text(
        "remotes:\n  store:\n    url: s3://bucket/prefix\ncore:\n  remote: store\n")
    done = _without("s3fs", ["push"], repo.path)
    assert done.returncode == 2, done.stderr
    assert "needs the 's3' filesystem" in done.stderr
    assert "hint: pip install 'gitpipe-ml[s3]'" in done.stderr.splitlines()


def test_a_missing_kubernetes_client_names_the_extra_to_install(repo: Repo,
                                                                 tmp_path: Path) -> None:
    repo.spec({"k": {"cmd": "echo > o", "outs": ["o"], "executor": "kubernetes",
                     "image": "reg/x:1"}}, commit="spec")
    repo.run("init", check=True)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    done = _without("kubernetes", ["repro"], repo.path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "error: the kubernetes executor needs the kubernetes client",
        "hint: pip install 'gitpipe-ml[k8s]'"]


def test_a_missing_watchdog_names_the_dependency(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "echo a > o", "outs": ["o"]}}, commit="spec")
    done = _without("watchdog", ["watch"], repo.path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == ["error: gitpipe watch needs watchdog",
                                        "hint: pip install watchdog (gitpipe-ml depends on it)"]
