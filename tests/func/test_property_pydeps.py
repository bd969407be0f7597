"""Property: for a `python:` dep, status answered from the seal, by the full path
with the stat cache and the import cache (state.db), and from scratch agree
after any sequence of edits to the modules: contents, imports added and
removed, a module that starts shadowing a third-party import, an
`__init__.py` deleted and restored, a module that stops parsing, a repro."""

from __future__ import annotations

import importlib
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Repo
from tests.func.test_property import RACY_MODULES, TEST_RACY_NS, three_answers

MODULES = {
    "src/train.py": "import numpy\nimport later\nfrom pkg import tool\n",
    "src/pkg/__init__.py": "",
    "src/pkg/tool.py": "import helpers\n",
    "src/helpers.py": "X = 1\n",
    "src/extra.py": "Y = 1\n",
}
# Files whose appearance changes what an import resolves to: `numpy` is
# third-party until one of these shadows it; `later` is imported but missing.
SHADOWS = ("numpy.py", "src/numpy.py", "numpy/__init__.py", "src/later.py", "src/later/x.py")
EDITS = st.sampled_from([
    "edit", "same_bytes", "add_import", "drop_import", "shadow", "unshadow", "delete_init",
    "restore_init", "syntax",
])
EDITABLE = ("src/train.py", "src/pkg/tool.py", "src/helpers.py", "src/extra.py")
IMPORTS = ("import extra\n", "from pkg import helpers\n", "from . import tool\n",
           "import pkg.tool\n", "from .. import helpers\n")


def python_pipeline(repo: Repo) -> None:
    repo.gen(dict(MODULES))
    repo.spec({"train": {"cmd": "echo trained > model.txt",
                         "deps": [{"python": "src/train.py"}], "outs": ["model.txt"]}})
    repo.run("init", check=True)
    repo.commit("sources")
    project = repo.project()
    try:
        assert project.repro().ok
    finally:
        project.close()


def apply_edit(repo: Repo, kind: str, value: int) -> None:
    path = repo.path
    target = path / EDITABLE[value % len(EDITABLE)]
    if kind == "edit" and target.exists():
        target.write_text(target.read_text() + f"V{value} = {value}\n")
    elif kind == "same_bytes" and target.exists():
        target.write_bytes(target.read_bytes())
    elif kind == "add_import" and target.exists():
        target.write_text(target.read_text() + IMPORTS[value % len(IMPORTS)])
    elif kind == "drop_import" and target.exists():
        lines = target.read_text().splitlines(keepends=True)
        imports = [line for line in lines if "import" in line]
        if imports:
            lines.remove(imports[value % len(imports)])
            target.write_text("".join(lines))
    elif kind in ("shadow", "unshadow"):
        shadow = path / SHADOWS[value % len(SHADOWS)]
        if kind == "shadow":
            shadow.parent.mkdir(parents=True, exist_ok=True)
            shadow.write_text(f"SHADOW = {value}\n")
        else:
            shadow.unlink(missing_ok=True)
    elif kind == "delete_init":
        (path / "src/pkg/__init__.py").unlink(missing_ok=True)
    elif kind == "restore_init":
        (path / "src/pkg/__init__.py").write_text(f"I = {value}\n")
    elif kind == "syntax" and target.exists():
        target.write_text(target.read_text() + "def (:\n")


def repro(repo: Repo) -> None:
    project = repo.project()
    try:
        assert project.repro().ok
    finally:
        project.close()


def agree(repo: Repo, step: object) -> tuple[str, bool]:
    """Ask twice (the second may come from the seal the first wrote); the
    answer, and whether the seal gave it."""
    time.sleep(2 * TEST_RACY_NS / 1e9)
    for _ in range(2):
        sealed, unsealed, scratch, from_seal = three_answers(repo)
        assert sealed == unsealed == scratch, (step, sealed, unsealed, scratch)
    return sealed, from_seal


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(EDITS, st.integers(0, 9)), min_size=1, max_size=8))
def test_python_deps_sealed_unsealed_and_scratch_agree(edits: list[tuple[str, int]]) -> None:
    modules = [importlib.import_module(name) for name in RACY_MODULES]
    saved = [module.RACY_NS for module in modules]
    for module in modules:
        module.RACY_NS = TEST_RACY_NS
    try:
        with tempfile.TemporaryDirectory() as tmp:
            repo = Repo(Path(tmp))
            python_pipeline(repo)
            for kind, value in edits:
                # Every edit lands on a sealed no-op: the seal must notice it.
                answer, from_seal = agree(repo, "repro")
                assert answer == "everything is up to date\n" and from_seal, answer
                apply_edit(repo, kind, value)
                agree(repo, (kind, value))
                repro(repo)
    finally:
        for module, value in zip(modules, saved, strict=True):
            module.RACY_NS = value
