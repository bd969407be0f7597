"""Attacks on the terminal: a cloned repository's names and values (a dep path
in gitpipe.yaml, a params value or key, a metrics file's keys and values) hold
escape sequences that would set the window title, clear the screen or rewrite
the lines above, newlines that forge lines, and bidi controls that show a name
reversed. gitpipe shows them escaped, on a pipe and on a real terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.func.terminal import Terminal
from tests.security.conftest import assert_only_changed, snapshot

# Set the title, clear the screen, move up a line and erase it, then a forged line.
OSC = "\x1b]0;owned\x07"
CLEAR = "\x1b[2J\x1b[1A\x1b[K"
FORGED = "\nall 1 stage up to date"
BIDI = "\u202etxt.lmth"
EVIL = OSC + CLEAR + FORGED + BIDI
SHOWN = r"\x1b]0;owned\x07\x1b[2J\x1b[1A\x1b[K\nall 1 stage up to date\u202etxt.lmth"
STATE = [f"repo/.gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]


def evil_repo(repo: Repo) -> Repo:
    """A stage whose params, dep path and metrics file say EVIL, run and
    committed once with plain values, then changed as a clone would bring them."""
    command = "cp params.yaml a.txt && cp src.json m.json"
    repo.spec({"a": {"cmd": command, "deps": ["params.yaml", "src.json"],
                     "params": ["x", "y"], "outs": ["a.txt"], "metrics": ["m.json"]}})
    repo.gen({"params.yaml": {"x": "plain", "y": 1},
              "src.json": json.dumps({"score": 1})}, commit="plain")
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("ran")
    repo.spec({"a": {"cmd": command, "deps": ["params.yaml", "src.json", "in/" + EVIL],
                     "params": ["x", "y"], "outs": ["a.txt"], "metrics": ["m.json"]}})
    repo.gen({"params.yaml": {"x": EVIL, "y": 1},
              "m.json": json.dumps({EVIL: EVIL, "score": 2})}, commit="evil")
    return repo


def assert_escaped(text: str) -> None:
    for obeyed in ("\x1b", "\x07", "\u202e", "all 1 stage up to date\n"):
        assert obeyed not in text, (obeyed, text)


@pytest.mark.parametrize("args", [("status",), ("params", "diff", "HEAD~1"),
                                  ("metrics", "show"), ("diff", "HEAD~1"),
                                  ("repro", "--dry-run")])
def test_names_and_values_from_git_are_shown_escaped(repo: Repo, tmp_path: Path,
                                                     args: tuple[str, ...]) -> None:
    evil_repo(repo)
    before = snapshot(tmp_path)
    done = repo.run(*args)
    assert "Traceback" not in done.stderr, done.stderr
    assert_escaped(done.stdout + done.stderr)
    assert SHOWN in done.stdout + done.stderr, done.stdout + done.stderr
    assert_only_changed(before, snapshot(tmp_path), STATE)


def test_a_terminal_gets_no_escape_sequence_from_the_repository(repo: Repo,
                                                                tmp_path: Path) -> None:
    evil_repo(repo)
    before = snapshot(tmp_path)
    terminal = Terminal(repo.path, "status")
    assert terminal.finish() == 0
    shown = terminal.output.decode()
    assert "\x1b]" not in shown and "\x1b[2J" not in shown and "\x1b[1A" not in shown
    assert "\x1b[K" not in shown and "\u202e" not in shown
    assert SHOWN in terminal.plain(), shown  # gitpipe's own colours taken out
    assert_only_changed(before, snapshot(tmp_path), STATE)


def test_import_dvc_notes_show_a_dvc_yaml_path_escaped(repo: Repo, tmp_path: Path) -> None:
    dvc = {"stages": {"a": {"cmd": "true", "outs": [{"out/" + EVIL: {"persist": True}},
                                                    "plain.txt"]}}}
    repo.gen({"dvc.yaml": dvc}, commit="a dvc project from someone")
    before = snapshot(tmp_path)
    done = repo.run("import", "dvc")
    assert done.returncode == 0 and "every out of the stage now persists" in done.stderr
    assert_escaped(done.stdout + done.stderr)
    assert SHOWN in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/gitpipe.yaml"])


def test_checkout_names_an_out_it_leaves_in_place_escaped(repo: Repo, tmp_path: Path) -> None:
    """A clone's spec declares an out whose name sets the window title; the
    user's own file is there, changed and not in the cache: checkout's
    warning that it leaves the file shows the name escaped, and leaves it."""
    evil = "o" + OSC + ".txt"
    repo.spec({"s": {"cmd": "true",
                     "outs": [evil]}}, commit="spec")
    (repo.path / evil).write_text("first\n")
    repo.run("commit", check=True)
    (repo.path / evil).write_text("the user's\n")
    before = snapshot(tmp_path)
    done = repo.run("checkout")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "was modified and its content is not in the cache" in done.stderr, done.stderr
    assert_escaped(done.stdout + done.stderr)
    assert_only_changed(before, snapshot(tmp_path), STATE)
