"""The file-system monitor (`gitpipe monitor`): a sealed status it vouches
for answers without stat calls, and every way it can fail to vouch (killed,
restarted, socket gone, queue overflow, a folder it cannot watch) leaves the
answer to today's stat check. Real daemons, real inotify."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitpipe.fastpath.seal import _head, seal_path
from gitpipe.trust.dotdir import user_cache_dir
from gitpipe.trust.monitorlink import socket_path, sync
from tests.conftest import RACY_SECONDS, Repo

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify")

LAUNCH = "from gitpipe.cli.launch import main\nmain()\n"


def gitpipe(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """stdout of `gitpipe ARGS` run from `root` through the console script's
    doors (the seal's check first), in a process of its own."""
    done = subprocess.run([sys.executable, "-c", LAUNCH, *args], cwd=root, text=True,
                          capture_output=True, env={**os.environ, **(env or {})}, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


def unsealed(root: Path) -> str:
    return gitpipe(root, "status", env={"GITPIPE_NO_SEAL": "1"})


def token_field(root: Path) -> str | None:
    """The monitor token a status's seal records (None: no seal)."""
    path = seal_path(str(root), "status")
    if path is None or not os.path.exists(path):
        return None
    head = _head(Path(path).read_bytes())
    return None if head is None else head[0]


def monitor_token(root: Path) -> str | None:
    folder = user_cache_dir(str(root))
    return None if folder is None else sync(folder)


def monitor_pid(root: Path) -> int:
    words = gitpipe(root, "monitor", "status").split()
    return int(words[words.index("pid") + 1].rstrip(","))


@pytest.fixture
def monitored(repo: Repo) -> Iterator[Repo]:
    """A built project with a running monitor, stopped (or killed) at the end."""
    built(repo)
    assert "monitor started" in gitpipe(repo.path, "monitor", "start")
    pid = monitor_pid(repo.path)
    yield repo
    gitpipe(repo.path, "monitor", "stop")
    for started in {pid, *_pids_started(repo)}:
        end_monitor(started, repo.path)


def end_monitor(pid: int, root: Path) -> None:
    """Kill the monitor `pid` of `root` if it still runs (a stopped one may
    have left its pid to another process: its command line says)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return
    if b"gitpipe.usecases.fsmonitor" in command and os.fsencode(root) in command:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
            os.kill(pid, signal.SIGKILL)


_started: dict[Path, set[int]] = {}


def _pids_started(repo: Repo) -> set[int]:
    return _started.get(repo.path, set())


def built(repo: Repo) -> Repo:
    repo.gen({f"data/f{i}.txt": f"{i}\n" for i in range(3)})
    repo.gen({"params.yaml": "n: 1\n"})
    repo.spec({"a": {"cmd": "cat data/*.txt > out.txt", "deps": ["data"],
                     "params": ["n"], "outs": ["out.txt"]}})
    repo.commit("start")
    gitpipe(repo.path, "repro")
    return repo


def vouched(root: Path) -> str:
    """Seal the no-op status and see the monitor vouch for it: its token is
    the seal's. Returns that token."""
    time.sleep(RACY_SECONDS)
    assert gitpipe(root, "status") == "everything is up to date\n"
    gitpipe(root, "status")  # the seal re-armed if the first judged without a token
    token = monitor_token(root)
    assert token is not None and token_field(root) == token
    return token


def test_a_vouched_seal_answers_and_a_change_breaks_it(monitored: Repo) -> None:
    root = monitored.path
    vouched(root)
    assert gitpipe(root, "status") == "everything is up to date\n"
    (root / "data" / "f1.txt").write_text("changed\n")
    assert "a:" in gitpipe(root, "status")
    assert gitpipe(root, "status") == unsealed(root)


def test_a_folder_made_after_the_start_is_watched(monitored: Repo) -> None:
    root = monitored.path
    (root / "data" / "sub").mkdir()
    (root / "data" / "sub" / "g.txt").write_text("g\n")
    gitpipe(root, "repro")
    vouched(root)
    (root / "data" / "sub" / "g.txt").write_text("h\n")  # same size: stat sees the ctime
    assert "a:" in gitpipe(root, "status")


def test_a_restarted_monitor_is_another_instance(monitored: Repo) -> None:
    """Killed and started again, a monitor counts from zero again: a seal of
    the first one's token must not hold by the second one's word."""
    root = monitored.path
    before = vouched(root)
    os.kill(monitor_pid(root), signal.SIGKILL)
    (root / "data" / "f0.txt").write_text("x\n")  # same size, no monitor running
    os.utime(root / "data" / "f0.txt", ns=(0, 0))
    gitpipe(root, "monitor", "start")
    assert monitor_token(root) != before
    assert before.split(":")[1] == monitor_token(root).split(":")[1]  # type: ignore[union-attr]
    assert "a:" in gitpipe(root, "status")


@pytest.mark.parametrize("failure", ["killed", "socket removed", "stopped"])
def test_without_a_monitor_to_ask_the_stat_check_answers(monitored: Repo, failure: str) -> None:
    root = monitored.path
    vouched(root)
    pid = monitor_pid(root)
    if failure == "killed":
        os.kill(pid, signal.SIGKILL)
    elif failure == "socket removed":
        folder = user_cache_dir(str(root))
        assert folder is not None
        os.remove(socket_path(folder))
    else:
        os.kill(pid, signal.SIGSTOP)  # alive but answering nothing: the client's wait ends
        _started.setdefault(root, set()).add(pid)
    (root / "params.yaml").write_text("n: 2\n")
    assert "a:" in gitpipe(root, "status")
    if failure == "stopped":
        os.kill(pid, signal.SIGCONT)


def test_a_queue_overflow_watches_every_folder_again(monitored: Repo) -> None:
    """Changes lost in an overflow (here a folder made while the monitor was
    stopped) are counted, and the folder is watched from then on."""
    root = monitored.path
    vouched(root)
    pid = monitor_pid(root)
    os.kill(pid, signal.SIGSTOP)
    try:
        (root / "data" / "late").mkdir()
        (root / "data" / "late" / "g.txt").write_text("g\n")
        overflow(root)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert "a:" in gitpipe(root, "status")
    gitpipe(root, "repro")
    vouched(root)
    (root / "data" / "late" / "g.txt").write_text("h\n")
    assert "a:" in gitpipe(root, "status")


def test_a_folder_it_cannot_watch_makes_it_blind(monitored: Repo) -> None:
    """A watch that cannot be added (here a path too long for the kernel) is
    never papered over: the monitor vouches for nothing from then on."""
    root = monitored.path
    top = os.open(root / "data", os.O_RDONLY | os.O_DIRECTORY)
    depth = 0
    try:
        while depth * 201 < 4200:
            os.mkdir("d" * 200, dir_fd=top)
            inner = os.open("d" * 200, os.O_RDONLY | os.O_DIRECTORY, dir_fd=top)
            os.close(top)
            top = inner
            depth += 1
    finally:
        os.close(top)
    time.sleep(0.2)
    assert "blind" in gitpipe(root, "monitor", "status")
    assert monitor_token(root) is None
    shutil.rmtree(root / "data" / ("d" * 200))  # blind for good, whatever comes next
    assert "blind" in gitpipe(root, "monitor", "status")
    gitpipe(root, "repro")
    time.sleep(RACY_SECONDS)
    gitpipe(root, "status")
    gitpipe(root, "status")
    assert token_field(root) == "-"
    (root / "params.yaml").write_text("n: 3\n")
    assert "a:" in gitpipe(root, "status")


def test_a_seal_through_a_symlink_is_never_vouched(monitored: Repo) -> None:
    """A dep reached through a link is stat-ed through it: the monitor would
    have to follow every link to vouch for it (and gitpipe refuses links out
    of the repository), so that seal is always checked with stat calls."""
    root = monitored.path
    (root / "conf").mkdir()
    (root / "conf" / "p.yaml").write_text("n: 1\n")
    (root / "params.yaml").unlink()
    (root / "params.yaml").symlink_to("conf/p.yaml")
    gitpipe(root, "repro")
    time.sleep(RACY_SECONDS)
    gitpipe(root, "status")
    gitpipe(root, "status")
    assert token_field(root) == "x"
    (root / "conf" / "p.yaml").write_text("n: 5\n")
    assert "a:" in gitpipe(root, "status")


def test_start_twice_and_stop(monitored: Repo) -> None:
    root = monitored.path
    assert "already running" in gitpipe(root, "monitor", "start")
    assert "monitor running" in gitpipe(root, "monitor", "status")
    assert gitpipe(root, "monitor", "stop") == "monitor stopped\n"
    assert gitpipe(root, "monitor", "status") == "no monitor is running\n"
    assert gitpipe(root, "monitor", "stop") == "no monitor was running\n"


def test_a_removed_project_ends_its_monitor(monitored: Repo, tmp_path: Path) -> None:
    root = monitored.path
    pid = monitor_pid(root)
    root.rename(tmp_path / "moved")
    try:
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{pid}").exists() or b"fsmonitor" not in Path(
            f"/proc/{pid}/cmdline").read_bytes()
    finally:
        (tmp_path / "moved").rename(root)


def overflow(root: Path) -> None:
    """More events under `root` than the kernel queues for a monitor: the
    last ones are dropped and an overflow event is queued in their place."""
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    flip = [root / "flip0", root / "flip1"]
    for path in flip:
        path.write_text("")
    for i in range(limit + 10):  # two files in turn: the kernel merges repeats
        os.utime(flip[i % 2], ns=(i, i))
