"""Light imports and the direction of imports between layers (STYLE.md)."""

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

# Lower number = lower layer; a module may import only its own layer or below.
LAYERS = {
    "errors": 0,
    "statsig": 1, "yamlio": 1, "spec": 1, "specparse": 1, "stageparse": 1, "params": 1,
    "partitions": 1, "hashing": 1, "gitrepo": 1, "signedcache": 1,
    "forkmap": 1, "coldscan": 1, "gitcli": 1, "trust": 1, "nofollow": 1, "dotdir": 1,
    "runlogs": 1, "trees": 1, "ignore": 1, "checkoutattrs": 1,
    "dag": 1, "state": 2, "fingerprint": 2, "lockfile": 2, "graph": 2, "cache": 2, "remote": 2,
    "project": 2, "config": 2, "workspace": 2,
    "staleness": 3, "scheduler": 3, "outcome": 3, "executors": 3, "dagviz": 3, "runcache": 3,
    "repro": 4, "runner": 4, "status": 4, "hooks": 4, "watch": 4, "transfer": 4, "backfill": 4,
    "podexec": 4, "remotejob": 3, "kuberun": 4, "lockguard": 3, "garbage": 4,
    "revision": 4, "commit": 4, "seal": 4, "render": 4, "quick": 5,
    "api": 5, "cli": 5, "cli_render": 5, "cli_git": 5, "cli_storage": 5, "launch": 6, "__main__": 6,
    "__init__": 6,
}


def test_cli_import_is_light() -> None:
    code = (f"import sys, gitpipe.cli; heavy = {HEAVY!r}; "
            "print([m for m in sys.modules if m.split('.')[0] in heavy])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def _status_loading(repo: Repo, command: str, watched: set[str]) -> tuple[list[str], list[str]]:
    """Run `gitpipe <command>` in a fresh interpreter: its output lines, and which of
    the `watched` modules (top-level names, or dotted gitpipe modules) it imported."""
    code = ("import json, sys; from gitpipe.cli import cli\n"
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


def test_repeated_noop_status_and_repro_need_no_pygit2_yaml_or_runner(repo: Repo) -> None:
    # A no-op must answer from the stat cache and the parse cache alone: pygit2
    # (~80 ms), yaml (~25 ms) and the runner (~30 ms) would each cost more than
    # the rest of the command.
    repo.gen({"src.py": "print(1)\n", "params.yaml": {"n": 1}})
    repo.spec({"a": {"cmd": "python3 src.py > o", "deps": ["src.py"], "params": ["n"],
                     "outs": ["o"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("built")
    repo.run("status", check=True)  # fills the caches after the commit changed the index
    watched = {"pygit2", "yaml", "gitpipe.runner", "gitpipe.kuberun"}
    lines, loaded = _status_loading(repo, "status", watched)
    assert lines[0] == "everything is up to date" and loaded == [], lines
    lines, loaded = _status_loading(repo, "repro", watched)
    assert loaded == [], lines


def _module_layer(path: Path) -> tuple[str, int]:
    rel = path.relative_to(PACKAGE)
    name = rel.parts[0].removesuffix(".py")
    return name, LAYERS[name]


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gitpipe"):
            parts = node.module.split(".")
            if len(parts) > 1:
                found.add(parts[1])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "gitpipe" and len(parts) > 1:
                    found.add(parts[1])
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_imports_point_down(path: Path) -> None:
    name, layer = _module_layer(path)
    for target in _imported(path):
        if target == "__version__":
            continue
        assert target in LAYERS, f"{name} imports unknown module {target}: add it to LAYERS"
        assert LAYERS[target] <= layer, f"{name} (L{layer}) imports {target} (L{LAYERS[target]})"


def test_nothing_below_cli_prints_or_uses_click() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.name in ("cli.py", "cli_render.py", "cli_git.py", "cli_storage.py", "launch.py",
                         "__main__.py"):
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
    from gitpipe.cli import cli

    expected = CliRunner().invoke(cli, ["--version"]).output
    code = "import sys; from gitpipe.launch import main; main(); print(sorted(" \
           "m for m in ('click', 'gitpipe.cli') if m in sys.modules), file=sys.stderr)"
    done = subprocess.run([sys.executable, "-c", code, "--version"], cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    assert done.stdout == expected == f"gitpipe, version {__version__}\n"
    assert done.stderr.strip() == "[]"
