"""`gitpipe watch` reruns a stage whose `python:` dep imports a module that is
edited while watch runs: the module stands in no `deps:` list, only in what
the root imports (project/pydeps.py), and watch must see it as status does."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import Repo, ran_cmd
from tests.func.test_watch_items import watch_while


@pytest.mark.slow
def test_watch_reruns_a_stage_when_a_module_its_python_dep_imports_changes(repo: Repo) -> None:
    repo.gen({"src/train.py": "from helpers import scale\nprint(scale(2))\n",
              "src/helpers.py": "def scale(x):\n    return x * 10\n"})
    repo.spec({"train": {"cmd": ran_cmd("train", f"{sys.executable} src/train.py > model.txt"),
                         "deps": [{"python": "src/train.py"}], "outs": ["model.txt"]}})
    repo.run("repro", check=True)
    assert repo.ran() == ["train"]
    assert repo.read("model.txt") == "20\n"
    seen = watch_while(repo, lambda: repo.gen({"src/helpers.py": "def scale(x):\n"
                                                                "    return x * 100\n"}),
                       "1 ran")
    assert any("changed: src/helpers.py" in line for line in seen), seen
    assert repo.ran() == ["train"]
    assert repo.read("model.txt") == "200\n"
    assert repo.run("status").stdout == "everything is up to date\n"
