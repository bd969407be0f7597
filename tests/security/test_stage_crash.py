"""A clone's stage that makes a step raise what gitpipe did not foresee: an
out beneath a committed file (`outs: [f/x]`, `f` a file) made the step crash
with FileExistsError. The traceback went out through logging and the stage
"failed" with no message; now it is a failure like any other: `error:
internal error in stage 's': FileExistsError: …`, the traceback under
--debug only, exit 1, and what the run computed beside it is recorded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot


def test_a_crashing_step_fails_its_stage_with_a_message(make_repo: Callable[[str], Repo],
                                                        tmp_path: Path) -> None:
    evil = make_repo("evil")
    evil.gen({"f": "a file\n"})
    evil.spec({"s": {"cmd": "true", "outs": ["f/x"]},
               "u": {"cmd": "echo u > u.txt", "outs": ["u.txt"]}}, commit="an out under a file")
    ci = evil.clone_to(tmp_path / "ci")
    before = snapshot(tmp_path)
    done = ci.run("repro", "--keep-going")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert any(line.startswith("error: internal error in stage 's': FileExistsError: ")
               for line in lines), done.stderr
    assert "hint: rerun with --debug for a traceback" in lines, done.stderr
    lock = ci.read("gitpipe.lock")
    assert "\n  u:\n" in lock and "\n  s:\n" not in lock, lock
    assert ci.read("f") == "a file\n"
    assert_only_changed(before, snapshot(tmp_path),
                        ["ci/.gitpipe", "ci/gitpipe.lock", "ci/.gitignore", "ci/u.txt"])
    debug = ci.run("--debug", "repro", "-f", "s")
    assert debug.returncode == 1 and "Traceback" in debug.stderr, debug.stderr
