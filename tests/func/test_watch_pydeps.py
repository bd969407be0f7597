"""`gitpipe watch` reruns a stage whose `python:` dep imports a module that is
edited while watch runs: the module stands in no `deps:` list, only in what
the root imports (project/pydeps.py), and watch must see it as status does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.conftest import GIT_ENV, Repo, ran_cmd
from tests.func.test_watch_items import Lines


@pytest.mark.slow
def test_watch_reruns_a_stage_when_a_module_its_python_dep_imports_changes(repo: Repo) -> None:
    repo.gen({"src/train.py": "from helpers import scale\nprint(scale(2))\n",
              "src/helpers.py": "def scale(x):\n    return x * 10\n"})
    repo.spec({"train": {"cmd": ran_cmd("train", f"{sys.executable} src/train.py > model.txt"),
                         "deps": [{"python": "src/train.py"}], "outs": ["model.txt"]}})
    repo.run("repro", check=True)
    assert repo.ran() == ["train"]
    assert repo.read("model.txt") == "20\n"
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gitpipe", "watch"], cwd=repo.path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines = Lines(proc)
    try:
        assert lines.wait_for("watching", 60), lines.seen
        repo.gen({"src/helpers.py": "def scale(x):\n    return x * 100\n"})
        # (no status here: watch may rerun the stage before a status could start)
        assert lines.wait_for("1 ran", 60), lines.seen
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        lines.thread.join(timeout=10)
    assert any("changed: src/helpers.py" in line for line in lines.seen), lines.seen
    assert repo.ran() == ["train"]
    assert repo.read("model.txt") == "200\n"
    assert repo.run("status").stdout == "everything is up to date\n"
