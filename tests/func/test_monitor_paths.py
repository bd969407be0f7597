"""The monitor's journal of changed paths (`changes/1`) and the seal's check
that stats only the seal's paths those changes reach. The journal is a real
Monitor on real inotify events, in this process; the protocol's versions
are checked against a real daemon and a server that answers as an older one."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitpipe.trust import monitorlink as link
from gitpipe.trust.dotdir import user_cache_dir
from gitpipe.usecases import fsmonitor
from gitpipe.usecases.fsmonitor import Monitor
from tests.conftest import Repo
from tests.func.test_monitor import (  # noqa: F401 (monitored: a fixture)
    gitpipe,
    monitor_token,
    monitored,
    overflow,
    token_field,
    unsealed,
    vouched,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify")


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[Monitor]:
    root = tmp_path / "tree"
    (root / ".gitpipe").mkdir(parents=True)
    (root / "data" / "d0").mkdir(parents=True)
    (root / "data" / "d0" / "f.txt").write_text("f\n")
    monitor = Monitor(str(root))
    monitor.watch_tree("")
    yield monitor
    monitor.inotify.close()
    os.close(monitor.cookie_folder)


def drained(monitor: Monitor) -> Monitor:
    """Every event queued so far taken."""
    while True:
        events = monitor.inotify.read()
        if not events:
            return monitor
        monitor.take(events)


def test_a_renamed_folder_is_changed_under_both_names(watched: Monitor) -> None:
    root = Path(watched.root)
    since = watched.generation
    (root / "data" / "d0").rename(root / "data" / "d1")
    (root / "data" / "d1" / "f.txt").write_text("g\n")
    changed = drained(watched).changes_since(watched.instance, since)
    assert changed is not None
    assert {"data/d0", "data/d1", "data/d1/f.txt"} <= set(changed)


def test_a_folder_made_then_filled_is_changed_as_a_whole(watched: Monitor) -> None:
    root = Path(watched.root)
    since = watched.generation
    (root / "data" / "new" / "deep").mkdir(parents=True)
    (root / "data" / "new" / "deep" / "x.txt").write_text("x\n")  # maybe before its watch
    changed = drained(watched).changes_since(watched.instance, since)
    assert changed is not None and "data/new" in changed
    since = watched.generation
    (root / "data" / "new" / "deep" / "x.txt").write_text("y\n")  # watched by now
    assert drained(watched).changes_since(watched.instance, since) == ["data/new/deep/x.txt"]


def test_the_journal_past_its_bound_cannot_answer_older_tokens(watched: Monitor,
                                                              monkeypatch) -> None:
    monkeypatch.setattr(fsmonitor, "JOURNAL_PATHS", 4)
    root = Path(watched.root)
    since = watched.generation
    for i in range(6):
        (root / "data" / f"n{i}.txt").write_text(f"{i}\n")
    drained(watched)
    assert watched.changes_since(watched.instance, since) is None
    assert watched.changes_since(watched.instance, watched.generation) == []
    assert watched.changes_since("another", watched.generation) is None
    assert watched.changes_since(watched.instance, watched.generation + 1) is None


def test_a_change_it_cannot_name_voids_every_older_token(watched: Monitor) -> None:
    since = watched.generation
    watched.take([(9999, 0x2, "x")])  # an event of a folder it no longer knows
    assert watched.changes_since(watched.instance, since) is None
    assert watched.changes_since(watched.instance, watched.generation) == []


def test_a_cookie_an_overflow_dropped_is_made_again(watched: Monitor) -> None:
    """A client whose cookie's event the kernel dropped in an overflow is
    answered once the queue is drained, not left to its deadline."""
    root = Path(watched.root)
    overflow(root)
    client, server = socket.socketpair()
    try:
        watched.sync(server)  # its cookie's event: past the full queue, dropped
        for _ in range(4):
            drained(watched)
            if select.select([client], [], [], 0.5)[0]:
                break
        assert select.select([client], [], [], 0)[0], "no answer once every event was taken"
        assert client.recv(100).startswith(b"ok ")
    finally:
        client.close()
        server.close()


# A server that answers as a monitor of an older gitpipe would (no `changes/1`),
# or with a newer version's answer; it says what it was asked.
OLDER = """
import socket, sys
path, kind = sys.argv[1], sys.argv[2]
server = socket.socket(socket.AF_UNIX)
server.bind(path)
server.listen(8)
print("ready", flush=True)
while True:
    client, _ = server.accept()
    asked = client.recv(64)
    print(asked.decode().strip(), flush=True)
    if asked == b"sync\\n":
        client.sendall(b"ok abc 7\\n")
    elif kind == "older":
        client.sendall(b"error unknown request\\n")
    else:
        client.sendall(b"changes/2 abc 7 4\\nx\\0y\\0")
    client.close()
"""


@pytest.mark.parametrize("kind", ["older", "newer"])
def test_a_monitor_of_another_version_is_never_misread(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    server = subprocess.Popen([sys.executable, "-c", OLDER, link.socket_path(str(folder)), kind],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline() == "ready\n"
        found = link.changes(str(folder), "abc:3")
        assert server.stdout.readline() == "changes/1 abc 3\n"
        if kind == "older":  # asked again as it understands, and no paths believed
            assert found == ("abc:7", None)
            assert server.stdout.readline() == "sync\n"
        else:
            assert found is None
    finally:
        server.kill()
        server.wait()


def test_the_daemon_answers_both_questions(monitored: Repo) -> None:  # noqa: F811
    root = monitored.path
    folder = user_cache_dir(str(root))
    assert folder is not None
    token = monitor_token(root)
    assert token is not None
    (root / "data" / "f1.txt").write_text("changed\n")
    found = link.changes(folder, token)
    assert found is not None and found[1] is not None
    assert found[0] == monitor_token(root) and "data/f1.txt" in found[1]
    assert link.changes(folder, "0123456789abcdef:0") == (found[0], None)  # another instance


def trace_of(root: Path, trace: Path, *args: str) -> tuple[str, list[str]]:
    trace.unlink(missing_ok=True)
    said = gitpipe(root, *args, env={"GITPIPE_TRACE_MONITOR": str(trace)})
    return said, trace.read_text().splitlines() if trace.exists() else []


def test_an_unrelated_change_is_replayed_without_a_stat(monitored: Repo,  # noqa: F811
                                                        tmp_path: Path) -> None:
    root = monitored.path
    vouched(root)
    (root / "README.md").write_text("notes\n")
    said, lines = trace_of(root, tmp_path / "trace", "status")
    assert said == "everything is up to date\n"
    assert lines[0] == "token moved" and lines[1].startswith("held: 0 of ")
    assert token_field(root) == monitor_token(root)  # re-armed with the new token


def test_a_touched_dep_is_judged_and_sealed_with_the_new_token(monitored: Repo,  # noqa: F811
                                                              tmp_path: Path) -> None:
    root = monitored.path
    vouched(root)
    os.utime(root / "data" / "f1.txt")
    said, lines = trace_of(root, tmp_path / "trace", "status")
    assert said == unsealed(root) == "everything is up to date\n"
    assert lines[0] == "token moved" and lines[1].startswith("judged: 1 of ")
    time.sleep(1.1)  # the touch is past the racy window: the next judgement seals
    (root / "README.md").write_text("again\n")
    gitpipe(root, "status")
    assert token_field(root) == monitor_token(root)
    (root / "data" / "f1.txt").write_text("other\n")
    said, lines = trace_of(root, tmp_path / "trace", "status")
    assert "a:" in said and lines[1].startswith("judged: 1 of ")
