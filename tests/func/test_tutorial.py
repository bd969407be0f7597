"""docs/getting-started.md as a reader follows it: every `sh` block, in order,
in one shell, with `gitpipe` on the PATH (blocks after a
`<!-- tutorial-test: skip -->` line install gitpipe, which the test has done)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import GIT_ENV

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "getting-started.md"
BLOCK = re.compile(r"^(<!-- tutorial-test: skip -->\n)?```sh\n(.*?)^```$", re.S | re.M)


def tutorial_blocks() -> list[str]:
    return [body for skip, body in BLOCK.findall(TUTORIAL.read_text()) if not skip]


def gitpipe_on_path(folder: Path) -> str:
    """A PATH whose `gitpipe` is this checkout's, as an installed one would be."""
    folder.mkdir()
    script = folder / "gitpipe"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gitpipe "$@"\n')
    script.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def test_the_tutorial_runs_as_written(tmp_path: Path) -> None:
    blocks = tutorial_blocks()
    assert len(blocks) >= 10, "the tutorial's commands are in ```sh blocks"
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, **GIT_ENV, "PATH": gitpipe_on_path(tmp_path / "bin"),
           "HOME": str(home)}
    script = "set -eu\n" + "\n".join(blocks)
    done = subprocess.run(["bash", "-c", script], cwd=home, env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    project, copy = home / "my-project", home / "copy"
    # The clone pulled every out, and the hooks are installed.
    assert (copy / "data/daily/2024-01-03.csv").read_text() == "2024-01-03,3\n"
    assert (copy / "data/split/test.csv").read_text() == "id,value\n2,b\n3,c\n"
    assert (project / ".git/hooks/pre-commit").exists()
    log = subprocess.run(["git", "log", "--format=%s"], cwd=project, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert log[0] == "one test row"
    assert "restored" in done.stdout  # the last repro restored split from the run-cache


def test_the_install_blocks_are_skipped_and_nothing_else() -> None:
    text = TUTORIAL.read_text()
    skipped = re.findall(r"<!-- tutorial-test: skip -->\n```sh\n(.*?)```", text, re.S)
    assert skipped and all("pip install" in b or "activate" in b for b in skipped)
