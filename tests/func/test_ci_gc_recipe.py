"""docs/ci.md's `gc --remote` recipe as a CI job runs it: in a clone of one
branch, one commit deep, whose remote URL is committed. It keeps what
another branch's lock names and removes what no kept lock names; without
its `remote modify --local` line, `--yes` refuses and deletes nothing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.conftest import GIT_ENV, Repo
from tests.func.test_tutorial import gitpipe_on_path

CI_DOC = Path(__file__).resolve().parents[2] / "docs" / "ci.md"
SECTION = re.compile(r"^## Cleaning the remote.*?^```sh\n(.*?)^```$", re.S | re.M)
LOCAL_URL = re.compile(r"^gitpipe remote modify --local .*\n", re.M)


def _recipe() -> str:
    found = SECTION.search(CI_DOC.read_text())
    assert found, "docs/ci.md has the gc recipe in a ```sh block"
    return found.group(1)


def _objects(store: Path) -> set[str]:
    return {p.name for p in (store / "files").rglob("*") if p.is_file()}


def _ci_clone(tmp_path: Path) -> tuple[Path, Path, set[str], set[str]]:
    """The origin's main and exp each pushed their outs; main's first run's
    out is named by no branch now. A clone of main alone, as CI checks out."""
    store, origin = tmp_path / "store", tmp_path / "origin.git"
    (tmp_path / "dev").mkdir()
    dev = Repo(tmp_path / "dev")
    dev.gen({"p.txt": "1\n"}).spec({"gen": {"cmd": "cat p.txt > o.txt", "deps": ["p.txt"],
                                            "outs": ["o.txt"]}})
    dev.run("init", check=True)
    dev.run("remote", "add", "-d", "store", str(store), check=True)
    pushed = []
    for branch, value in (("main", "1"), ("main", "2"), ("exp", "3")):
        if branch == "exp":
            dev.git("checkout", "-q", "-b", "exp")
        dev.gen({"p.txt": f"{value}\n"})
        before = _objects(store)
        dev.run("repro", check=True)
        dev.run("push", check=True)
        dev.commit(value)
        pushed.append(_objects(store) - before)
    dev.git("checkout", "-q", "main")
    dev.git("clone", "-q", "--bare", str(dev.path), str(origin))
    ci = tmp_path / "ci"
    dev.git("clone", "-q", "--depth", "1", "--single-branch", "--branch", "main",
            f"file://{origin}", str(ci))
    return ci, store, pushed[0], pushed[1] | pushed[2]


def _run(script: str, ci: Path, tmp_path: Path, url: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV, "PATH": gitpipe_on_path(tmp_path / "bin"),
           "HOME": str(tmp_path), "NO_COLOR": "1", "GITPIPE_REMOTE_URL": str(url)}
    return subprocess.run(["bash", "-c", "set -eu\n" + script], cwd=ci, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_ci_gc_recipe_keeps_other_branches_and_removes_the_rest(tmp_path: Path) -> None:
    ci, store, unnamed, named = _ci_clone(tmp_path)
    assert unnamed and named and _objects(store) == unnamed | named
    done = _run(_recipe(), ci, tmp_path, store)
    assert done.returncode == 0, done.stderr
    assert _objects(store) == named, done.stdout


def test_without_the_local_url_the_recipe_refuses(tmp_path: Path) -> None:
    ci, store, unnamed, named = _ci_clone(tmp_path)
    script, lines = LOCAL_URL.subn("", _recipe())
    assert lines == 1, "the recipe sets the remote's URL in config.local.yaml"
    done = _run(script, ci, tmp_path, store)
    assert done.returncode == 2, done.stderr
    assert "whose URL comes from the committed .gitpipe/config.yaml" in done.stderr, done.stderr
    assert "gc would delete from" in done.stderr, done.stderr
    assert _objects(store) == unnamed | named


def test_without_the_local_url_the_recipe_refuses_with_nothing_to_delete(
        tmp_path: Path) -> None:
    """A CI job that passes while the remote holds no garbage, then fails the
    day some appears, is found out late: --yes on a committed URL refuses
    every time, whatever there is to delete."""
    ci, store, unnamed, named = _ci_clone(tmp_path)
    for path in list((store / "files").rglob("*")):
        if path.is_file() and path.name in unnamed:
            path.unlink()
    shutil.rmtree(store / "runs")  # the first run's entry is garbage too
    script, _ = LOCAL_URL.subn("", _recipe())
    done = _run(script, ci, tmp_path, store)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "whose URL comes from the committed .gitpipe/config.yaml" in done.stderr, done.stderr
    assert "would remove 0 object(s) (0 B) and 0 run-cache entries" in done.stdout
    assert "gc has nothing to delete from" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert _objects(store) == named
