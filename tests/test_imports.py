"""Light imports, and imports only downward between the layer packages, without cycles."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Repo

PACKAGE = Path(__file__).parents[1] / "gitpipe"
HEAVY = ("kubernetes", "s3fs", "boto3", "botocore", "watchdog", "rich", "networkx", "pygit2")

def test_cli_import_is_light() -> None:
    code = (f"import sys, gitpipe.cli.main; heavy = {HEAVY!r}; "
            "print([m for m in sys.modules if m.split('.')[0] in heavy])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def _status_loading(repo: Repo, command: str, watched: set[str]) -> tuple[list[str], list[str]]:
    """Run `gitpipe <command>` in a fresh interpreter: its output lines, and which of
    the `watched` modules (top-level names, or dotted gitpipe modules) it imported."""
    code = ("import json, sys; from gitpipe.cli.main import cli\n"
            f"try:\n    cli(['-C', {str(repo.path)!r}, {command!r}])\nexcept SystemExit: pass\n"
            f"print('LOADED', json.dumps(sorted(m for m in {sorted(watched)!r} if m in sys.modules"
            " or m in {n.split('.')[0] for n in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    assert lines and lines[-1].startswith("LOADED "), out.stdout + out.stderr
    return lines[:-1], json.loads(lines[-1].removeprefix("LOADED "))


def test_status_does_not_import_remote_or_cluster_clients(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "echo > o", "outs": ["o"]}}, commit="spec")
    lines, loaded = _status_loading(repo, "status", {"kubernetes", "s3fs", "boto3", "botocore",
                                                     "watchdog", "networkx"})
    assert lines[0] == "a:" and loaded == [], lines


def test_status_of_local_stages_loads_no_executor_nor_installed_packages_metadata(
        repo: Repo) -> None:
    # The registry answers for the built-in names itself: the entry points of
    # installed packages are read only for a name it does not know.
    repo.spec({"a": {"cmd": "echo > o", "outs": ["o"]},
               "b": {"cmd": "echo > p", "outs": ["p"], "executor": "local"}}, commit="spec")
    lines, loaded = _status_loading(repo, "status", {"importlib.metadata",
                                                     "gitpipe.executors.base"})
    assert lines[0] == "a:" and loaded == [], lines


def test_status_of_kubernetes_stages_does_not_import_the_client(repo: Repo) -> None:
    repo.spec({"k": {"cmd": "echo > o", "outs": ["o"], "executor": "kubernetes",
                     "image": "reg/x:1"}}, commit="spec")
    lines, loaded = _status_loading(repo, "status", {"kubernetes", "importlib.metadata",
                                                     "gitpipe.executors.kubernetes.session"})
    assert lines[0] == "k:" and loaded == [], lines


def test_repeated_noop_status_and_repro_need_no_pygit2_yaml_or_runner(repo: Repo) -> None:
    # A no-op must answer from the stat cache and the parse cache alone: importing
    # pygit2, yaml or the runner would each cost more than the rest of the command.
    repo.gen({"src.py": "print(1)\n", "params.yaml": {"n": 1}})
    repo.spec({"a": {"cmd": "python3 src.py > o", "deps": ["src.py"], "params": ["n"],
                     "outs": ["o"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("built")
    repo.run("status", check=True)  # fills the caches after the commit changed the index
    watched = {"pygit2", "yaml", "gitpipe.engine.runner", "gitpipe.executors.kubernetes.session"}
    lines, loaded = _status_loading(repo, "status", watched)
    assert lines[0] == "everything is up to date" and loaded == [], lines
    lines, loaded = _status_loading(repo, "repro", watched)
    assert loaded == [], lines


def _package_layers() -> dict[str, int]:
    """Each layer package's `LAYER`, read from its `__init__.py` without importing it."""
    layers = {}
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        for node in ast.parse(init.read_text()).body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "LAYER"
                    and isinstance(node.value, ast.Constant)):
                layers[init.parent.name] = node.value.value
        assert init.parent.name in layers, f"{init} declares no LAYER"
    assert len(set(layers.values())) == len(layers), f"two packages share a layer: {layers}"
    return layers


LAYER_OF = _package_layers()
TOP = max(LAYER_OF.values()) + 1  # gitpipe/__init__.py and __main__.py stand above all


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(("gitpipe", *parts[:-1])) if parts[-1] == "__init__" else ".".join(
        ("gitpipe", *parts))


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYER_OF[parts[1]] if len(parts) > 1 and parts[1] in LAYER_OF else TOP


def _imported(path: Path) -> set[str]:
    """The gitpipe modules `path` imports, at any depth of its code (lazy imports too).
    Absolute names only: test_no_relative_imports keeps it so."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gitpipe"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("gitpipe"))
    return found


GRAPH = {name: _imported(path) - {name} for name, path in MODULES.items()}


def test_no_relative_imports() -> None:
    # The layer and cycle checks read absolute names: a relative import
    # (`from . import x`) would slip past them.
    relative = [f"{path}:{node.lineno}" for path in MODULES.values()
                for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, ast.ImportFrom) and node.level != 0]
    assert relative == [], f"relative imports; write the absolute gitpipe name: {relative}"


def test_every_module_lives_in_a_layer_package() -> None:
    loose = [name for name in MODULES if _layer(name) == TOP
             and name not in ("gitpipe", "gitpipe.__main__")]
    assert loose == [], f"modules outside every layer package: {loose}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down(name: str) -> None:
    for target in GRAPH[name]:
        if target == "gitpipe":
            continue  # the package's own names: __version__
        assert target in MODULES, f"{name} imports unknown module {target}"
        assert _layer(target) <= _layer(name), (
            f"{name} (layer {_layer(name)}) imports {target} (layer {_layer(target)})")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    # a package's __init__ is loaded before its modules, but imports of a
    # module name only that module here, so a light __init__ makes no cycle
    assert _cycles(GRAPH) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_nothing_below_cli_prints_or_uses_click() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] in ("cli", "__main__.py"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [
                    a.name for a in node.names]
                assert not any(n.split(".")[0] == "click" for n in names), path
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "print", f"{path}:{node.lineno} prints"


def test_version_without_click_says_what_click_says(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gitpipe import __version__
    from gitpipe.cli.main import cli

    expected = CliRunner().invoke(cli, ["--version"]).output
    code = "import sys; from gitpipe.cli.launch import main; main(); print(sorted(" \
           "m for m in ('click', 'gitpipe.cli.main') if m in sys.modules), file=sys.stderr)"
    done = subprocess.run([sys.executable, "-c", code, "--version"], cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    assert done.stdout == expected == f"gitpipe, version {__version__}\n"
    assert done.stderr.strip() == "[]"


def test_repro_imports_only_its_own_command_module(repo: Repo) -> None:
    # The group loads a command's module when the command is looked up; a repro
    # of stages without `python:` deps needs neither the other commands nor
    # the module that reads a python module's imports.
    repo.spec({"a": {"cmd": "echo > o", "outs": ["o"]}}, commit="spec")
    others = {f"gitpipe.cli.{m}" for m in ("gitcmds", "storage", "remotes", "values",
                                            "imports", "report")}
    lines, loaded = _status_loading(repo, "repro", others | {"gitpipe.pipeline.pyimports"})
    assert loaded == [] and (repo.path / "o").exists(), lines
