"""`gitpipe watch` sees what status sees: a foreach item whose value holds a `/`
names a dep below a folder (`data/${item}.csv` with `a/b` is `data/a/b.csv`),
and an edit there reruns that item while watch runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

from tests.conftest import GIT_ENV, Repo, ran_cmd


class Lines:
    """A process's output lines, read by a thread so that waiting for one that
    never comes ends at a deadline instead of blocking."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.seen: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.seen.append(line)

    def wait_for(self, marker: str, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if any(marker in line for line in list(self.seen)):
                return True
            time.sleep(0.1)
        return False


def watch_while(repo: Repo, edit: Callable[[], None], until: str) -> list[str]:
    """The lines `gitpipe watch` printed, run until `edit` (made once it
    watches) has it print `until`. No status between: watch may rerun the
    stage before a status could start, and then that status is up to date."""
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gitpipe", "watch"], cwd=repo.path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines = Lines(proc)
    try:
        assert lines.wait_for("watching", 60), lines.seen
        edit()
        assert lines.wait_for(until, 60), lines.seen
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        lines.thread.join(timeout=10)
    return list(lines.seen)


@pytest.mark.slow
def test_watch_reruns_an_item_whose_value_holds_a_slash(repo: Repo) -> None:
    repo.gen({"data/a/b.csv": "1\n", "data/c.csv": "2\n"})
    repo.spec({"s": {"foreach": {"ab": "a/b", "c": "c"},
                     "do": {"cmd": ran_cmd("s@${key}", "mkdir -p out/${item} && "
                                           "cp data/${item}.csv out/${item}/copy.csv"),
                            "deps": ["data/${item}.csv"],
                            "outs": ["out/${item}/copy.csv"]}}})
    repo.run("repro", check=True)
    assert sorted(repo.ran()) == ["s@ab", "s@c"]
    seen = watch_while(repo, lambda: repo.gen({"data/a/b.csv": "3\n"}), "1 ran")
    assert any("changed: data/a/b.csv" in line for line in seen), seen
    assert repo.ran() == ["s@ab"]
    assert repo.read("out/a/b/copy.csv") == "3\n"
