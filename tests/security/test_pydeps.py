"""Attacks through `python:` deps: the modules come from git (a cloned
repository), so they may be symlinks out of it, cycles, chains deeper than any
recursion, more modules or bytes than a source tree has, nesting that breaks
the parser; the lock's `python:` rows and the spec's roots may name paths
outside. Each is built for real; the CLI must refuse with a clear message (or
follow safely) and change nothing but gitpipe's own state."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import Repo, ran_cmd
from tests.security.conftest import assert_only_changed, snapshot

OWN = ("repo/.gitpipe",)


def python_repo(repo: Repo, files: dict[str, str | bytes]) -> Repo:
    repo.gen(files)
    repo.spec({"train": {"cmd": ran_cmd("train", "echo trained > model.txt"),
                         "deps": [{"python": "src/train.py"}], "outs": ["model.txt"]}})
    repo.run("init", check=True)
    repo.commit("sources")
    return repo


def refused(done: subprocess.CompletedProcess, *texts: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    for text in texts:
        assert text in done.stderr, done.stderr


@pytest.mark.parametrize("link", ["src/utils.py", "src/pkg"])
def test_a_module_symlinked_out_of_the_repository_is_never_read(
        repo: Repo, tmp_path: Path, link: str) -> None:
    outside = tmp_path / "outside"
    (outside / "pkg").mkdir(parents=True)
    (outside / "secret.py").write_text("TOKEN = 'secret'\n")
    (outside / "pkg/__init__.py").write_text("import secret_too\n")
    python_repo(repo, {"src/train.py": "import utils\nimport pkg\n"})
    target = outside / ("secret.py" if link.endswith(".py") else "pkg")
    (repo.path / link).symlink_to(target)
    repo.commit("a link out")
    before = snapshot(tmp_path)
    for command in ("status", "repro"):
        refused(repo.run(command), f"gitpipe.yaml: stage 'train': python: {link.split('/')[0]}/",
                "(imported by src/train.py) resolves outside the repository (through a "
                "symlink); nothing was run", "hint: a module followed by python:")
    assert repo.ran() == []
    assert_only_changed(before, snapshot(tmp_path), OWN)


def test_a_module_that_is_a_symlink_loop_is_not_followed(repo: Repo, tmp_path: Path) -> None:
    python_repo(repo, {"src/train.py": "import loop\n"})
    (repo.path / "src/loop.py").symlink_to("loop.py")
    before = snapshot(tmp_path)
    done = repo.run("status")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), OWN)


def test_an_import_cycle_and_a_chain_deeper_than_recursion_are_followed(
        repo: Repo, tmp_path: Path) -> None:
    depth = 1500  # past Python's default recursion limit of 1,000
    chain = {f"src/m{i}.py": f"import m{i + 1}\n" for i in range(depth)}
    chain[f"src/m{depth}.py"] = "import m0\nimport train\n"  # back to the start: a cycle
    python_repo(repo, {"src/train.py": "import m0\n", **chain})
    before = snapshot(tmp_path)
    done = repo.run("status")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), OWN)
    repo.run("repro", check=True)
    rows = yaml.safe_load(repo.read("gitpipe.lock"))["stages"]["train"]["python"]
    assert len(rows) == depth + 2


@pytest.mark.slow
def test_a_closure_of_more_modules_than_the_bound_is_refused(repo: Repo, tmp_path: Path) -> None:
    count = 10_001
    wide = "".join(f"import m{i}\n" for i in range(count))
    files: dict[str, str | bytes] = {f"src/m{i}.py": "" for i in range(count)}
    python_repo(repo, {"src/train.py": wide, **files})
    before = snapshot(tmp_path)
    refused(repo.run("status"), "python: src/train.py imports more than 10,000 modules of the "
            "project", "hint: name the modules it needs as plain deps")
    assert_only_changed(before, snapshot(tmp_path), OWN)


def test_a_module_too_large_to_be_source_is_refused(repo: Repo, tmp_path: Path) -> None:
    python_repo(repo, {"src/train.py": "import big\n",
                       "src/big.py": b"#" * (8 * 1024 * 1024 + 1)})
    before = snapshot(tmp_path)
    refused(repo.run("status"), "python: src/big.py (imported by src/train.py) is 8,388,609 "
            "bytes, more than the 8,388,608 a module followed by python: may have")
    assert_only_changed(before, snapshot(tmp_path), OWN)


def test_nesting_that_breaks_the_parser_is_a_module_that_does_not_parse(
        repo: Repo, tmp_path: Path) -> None:
    nested = "x = " + "(" * 200_000 + ")" * 200_000 + "\n"
    python_repo(repo, {"src/train.py": "import deep\n", "src/deep.py": nested})
    before = snapshot(tmp_path)
    done = repo.run("validate")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "src/deep.py: does not parse" in done.stderr
    assert repo.run("status").returncode == 0
    assert_only_changed(before, snapshot(tmp_path), OWN)


def test_imports_that_would_leave_the_repository_are_not_followed(
        repo: Repo, tmp_path: Path) -> None:
    (tmp_path / "above.py").write_text("ABOVE = 1\n")
    python_repo(repo, {"src/train.py": "from .... import above\nfrom .. import above\n"
                                       "import importlib\n"
                                       "importlib.import_module('../../above')\n"
                                       "importlib.import_module('.above', 'x')\n"})
    before = snapshot(tmp_path)
    done = repo.run("validate")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("importlib.import_module(...)") == 2
    repo.run("repro", check=True)
    rows = yaml.safe_load(repo.read("gitpipe.lock"))["stages"]["train"]["python"]
    assert [row["path"] for row in rows] == ["src/train.py"]
    assert_only_changed(before, snapshot(tmp_path), (*OWN, "repo/gitpipe.lock",
                                                     "repo/model.txt", "repo/runs.log"))


@pytest.mark.parametrize(("row", "problem"), [
    ({"path": "../../etc/passwd.py", "hash": "xxh3:" + "0" * 32}, "is not normalised"),
    ({"path": "/etc/x.py", "hash": "xxh3:" + "0" * 32}, "is absolute"),
    ({"path": "src/\x1b[2Jx.py", "hash": "xxh3:" + "0" * 32}, "is not a module file's path"),
    ({"path": "src/x.py\n", "hash": "xxh3:" + "0" * 32}, "is not a module file's path"),
    ({"path": "src/x.py", "hash": "sha1:abc"}, "is not a file digest"),
    ({"path": "src/x.py", "hash": "xxh3:" + "0" * 32 + "\n"}, "is not a file digest"),
    ({"path": "src/x.py", "hash": "xxh3:" + "0" * 32, "imported_by": ".git/x.py"},
     "belongs to git or gitpipe"),
    ({"path": "src/x.py", "hash": "xxh3:" + "0" * 32, "run": "rm -rf"}, "is not {path, hash"),
])
def test_a_forged_python_row_in_the_lock_is_refused(repo: Repo, tmp_path: Path,
                                                    row: dict[str, str], problem: str) -> None:
    python_repo(repo, {"src/train.py": "X = 1\n"})
    repo.run("repro", check=True)
    data = yaml.safe_load(repo.read("gitpipe.lock"))
    data["stages"]["train"]["python"].append(row)
    repo.gen({"gitpipe.lock": yaml.safe_dump(data)}, commit="forged")
    repo.ran()
    before = snapshot(tmp_path)
    for command in ("status", "repro"):
        refused(repo.run(command), "gitpipe.lock: stage 'train' python:", problem,
                "hint: restore it from git")
    assert repo.ran() == []
    assert_only_changed(before, snapshot(tmp_path), OWN)


@pytest.mark.parametrize(("root", "problem"), [
    ("../../etc/passwd.py", "it resolves outside the repository"),
    ("/etc/passwd.py", "absolute paths are not allowed"),
    ("src/../../x.py", "it resolves outside the repository"),
    (".git/hooks/x.py", "belong to git or gitpipe"),
    ("os.path/../x", "a module file's name ends in '.py'"),
    ("..pkg", "neither a module file"),
])
def test_a_python_root_outside_the_repository_is_refused(repo: Repo, tmp_path: Path,
                                                         root: str, problem: str) -> None:
    repo.spec({"train": {"cmd": "true", "deps": [{"python": root}]}})
    before = snapshot(tmp_path)
    refused(repo.run("validate"), "gitpipe.yaml:5: stage 'train': python:", problem)
    refused(repo.run("status"), problem)
    assert_only_changed(before, snapshot(tmp_path), OWN)
