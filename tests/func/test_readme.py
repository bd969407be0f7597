"""The README's Python example, run as written against the example pipeline."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import GIT_ENV, Repo

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_python_example_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(blocks) == 1, "the README shows one Python example"
    shutil.copytree(ROOT / "examples/ml-pipeline", tmp_path / "demo")
    repo = Repo(tmp_path / "demo")
    repo.commit("example pipeline")
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run([sys.executable, "-c", blocks[0]], cwd=repo.path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # Every stage is new, and `repro(["train"])` ran train and what it needs.
    assert "train ['new stage', 'upstream: clean']" in done.stdout
    assert (repo.path / "model").is_dir() and not (repo.path / "metrics.json").exists()
