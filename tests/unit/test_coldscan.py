"""The cold scan (a directory hashed for the first time) against the known-directory
path, in one process and forked; fork_map's failure handling."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from array import array
from pathlib import Path

import pytest

from gitpipe.core.errors import BadInputError
from gitpipe.hashing.coldscan import scan_directory
from gitpipe.hashing.digests import DIR_SUFFIX, FIRST_READ, file_digest, hash_manifest
from gitpipe.hashing.forkmap import ENV_WORKERS, fork_map, usable_workers
from gitpipe.hashing.statsig import listing_signature, walk_files
from gitpipe.storage.state import RACY_NS, State
from gitpipe.storage.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
# The start of a script run as its own process (one thread, so it may fork):
# `forks` counts the processes it made.
COUNTING_FORKS = textwrap.dedent("""
    import json, os, sys
    forks = []
    real_fork = os.fork
    def counting_fork():
        forks.append(1)
        return real_fork()
    os.fork = counting_fork
""")


def odd_tree(root: Path, plain_files: int = 0) -> Path:
    """Names that sort differently as whole paths than directory by directory,
    names JSON must escape, symlinks of every kind, the FIRST_READ boundary."""
    for rel, data in {
        "a/b": b"1", "a-b/x": b"2", "a.b": b"3", "a0": b"",
        "sub/\u00e9t\u00e9 \"q\\uote\"": b"4", "sub/new\nline": b"5",
        "sub/deep/er/f": b"6", "edge/exact": b"e" * FIRST_READ,
        "edge/over": b"o" * (FIRST_READ + 1), "edge/big": os.urandom(3 * FIRST_READ + 7),
    }.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "empty-dir").mkdir()
    os.symlink("a.b", root / "link-to-file")
    os.symlink("nowhere", root / "sub" / "dangling")
    os.symlink("../a", root / "sub" / "link-to-dir")
    os.link(root / "a.b", root / "hard-link")
    for index in range(plain_files):
        path = root / f"many/d{index % 13:02}/f{index:05}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(index.to_bytes(4, "little") * 256)
    return root


def known_path(directory: Path) -> dict[str, object]:
    """What walk_files and the per-file hashing of storage/workspace.py make of it."""
    listing = walk_files(str(directory))
    digests = ["link:" + os.readlink(directory / item[0]) if stat.S_ISLNK(item[4])
               else file_digest(directory / item[0]) for item in listing]
    sizes = [0 if stat.S_ISLNK(item[4]) else item[3] for item in listing]
    manifest = hash_manifest(list(zip([item[0] for item in listing], digests, sizes,
                                      strict=True)))
    return {"signature": list(listing_signature(listing)),
            "digest": f"{manifest}{DIR_SUFFIX}", "size": sum(sizes), "files": len(listing),
            "digests": digests, "names": [item[0] for item in listing],
            "row_numbers": [value for item in listing for value in (*item[1:4], item[5])]}


def cold_path(directory: Path) -> dict[str, object]:
    scan = scan_directory(str(directory))
    assert scan is not None
    got: dict[str, object] = {"signature": list(scan.signature), "digest": scan.digest,
                              "size": scan.size, "files": scan.files, "digests": scan.digests}
    if scan.row is not None:
        names, numbers, digests = scan.row
        packed = array("q")
        packed.frombytes(numbers)
        assert (digests.split("\0") if digests else []) == scan.digests
        got.update(names=names.split("\0") if names else [], row_numbers=list(packed))
    else:
        got.update(names=[item[0] for item in scan.listing],
                   row_numbers=[value for item in scan.listing
                                for value in (*item[1:4], item[5])])
    return got


def age(root: Path) -> None:
    """Old mtimes, and ctimes (set to now by utime itself) past the racy window."""
    old = time.time_ns() - 5 * RACY_NS
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.utime(os.path.join(folder, name), ns=(old, old), follow_symlinks=False)
    time.sleep(1.1 * RACY_NS / 1e9)


def test_cold_scan_equals_the_known_directory_path(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "only-a-directory").mkdir(parents=True)
    assert cold_path(empty) == known_path(empty)
    directory = odd_tree(tmp_path / "d")
    assert cold_path(directory) == known_path(directory)  # racy: a listing to filter
    age(directory)
    assert cold_path(directory) == known_path(directory)  # a stat-cache row


def test_cold_scan_forked_equals_one_process(tmp_path: Path) -> None:
    # In its own process: a test process may run threads, where nothing forks.
    if usable_cpus() < 2:
        pytest.skip("one CPU: the scan never forks")
    directory = odd_tree(tmp_path / "d", plain_files=2600)
    age(directory)
    script = COUNTING_FORKS + textwrap.dedent("""
        from tests.unit.test_coldscan import cold_path
        from pathlib import Path
        got = cold_path(Path(sys.argv[1]))
        print(json.dumps({"forks": len(forks), "got": got}))
    """)
    for workers, forks in (("2", 1), ("1", 0)):
        out = subprocess.run([sys.executable, "-c", script, str(directory)], cwd=ROOT,
                             env={**os.environ, ENV_WORKERS: workers}, check=True,
                             capture_output=True, text=True).stdout
        result = json.loads(out)
        assert result["forks"] == forks
        assert result["got"] == known_path(directory)


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def test_fifos_and_sockets_are_left_out_as_git_leaves_them(tmp_path: Path) -> None:
    # Reading a fifo waits for a writer forever: hashing one hung before.
    import socket

    directory = odd_tree(tmp_path / "d")
    before = known_path(directory)
    os.mkfifo(directory / "sub" / "pipe")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(directory / "sock"))
        assert known_path(directory) == before
        assert cold_path(directory) == before
        state = State(tmp_path / "state.db")
        assert Workspace(tmp_path, state, None).info("d").digest == before["digest"]
        with pytest.raises(BadInputError, match="sub/pipe: a fifo"):
            Workspace(tmp_path, state, None).info("d/sub/pipe")


def test_a_directory_swapped_for_a_symlink_during_the_scan_fails_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gitpipe.hashing.coldscan as coldscan

    directory = odd_tree(tmp_path / "d")
    outside = tmp_path / "outside"  # the same names, so only the swap can tell
    shutil.copytree(directory / "sub", outside, symlinks=True)
    (outside / "deep" / "er" / "f").write_text("not in the tree")
    real = coldscan.descriptor_digest

    def swap_then_hash(fd: int) -> str:
        if (directory / "sub").is_dir() and not (directory / "sub").is_symlink():
            os.rename(directory / "sub", tmp_path / "sub-moved")
            os.symlink(outside, directory / "sub")
        return real(fd)

    monkeypatch.setenv(ENV_WORKERS, "1")
    monkeypatch.setattr(coldscan, "descriptor_digest", swap_then_hash)
    assert scan_directory(str(directory)) is None  # the walk decides then


def test_workspace_records_a_cold_directory_as_the_walk_would(tmp_path: Path) -> None:
    directory = odd_tree(tmp_path / "d")
    age(directory)
    state = State(tmp_path / "state.db")
    cold = Workspace(tmp_path, state, None).info("d")
    state.close()
    expected = known_path(directory)
    assert cold.digest == expected["digest"] and cold.files == expected["files"]
    state = State(tmp_path / "state.db")
    entries = state.directory_entries("d")
    assert sorted(entries) == expected["names"]
    assert [entries[name][1] for name in expected["names"]] == expected["digests"]
    # Known now: walked, recognized by its signature, the same answer.
    warm = Workspace(tmp_path, state, None)
    assert warm.info("d") == cold
    (directory / "a.b").write_text("changed")
    changed = warm.info("d")
    state.close()
    assert changed.digest == known_path(directory)["digest"] != cold.digest


def test_racy_files_of_a_cold_directory_are_not_kept(tmp_path: Path) -> None:
    odd_tree(tmp_path / "d")  # every file written just now
    state = State(tmp_path / "state.db")
    Workspace(tmp_path, state, None).info("d")
    state.close()
    assert State(tmp_path / "state.db").directory_entries("d") == {}


# fork_map --------------------------------------------------------------------------


def test_fork_map_keeps_the_order_of_its_parts() -> None:
    parts = [list(range(k, k + 5)) for k in range(0, 20, 5)]
    results = fork_map(_pids_and_sums, parts)
    assert [total for _, total in results] == [sum(part) for part in parts]
    assert results[0][0] == os.getpid()
    assert len({pid for pid, _ in results}) == len(parts)  # each part its own process


def _pids_and_sums(part: list[int]) -> tuple[int, int]:
    return os.getpid(), sum(part)


def test_a_part_whose_child_fails_is_done_by_the_parent() -> None:
    parent = os.getpid()
    results = fork_map(_fails_outside, [(parent, 1), (parent, 2), (parent, 3)])
    assert results == [(parent, 1), (parent, 2), (parent, 3)]


def _fails_outside(part: tuple[int, int]) -> tuple[int, int]:
    parent, value = part
    if os.getpid() != parent:
        raise OSError("only the parent can")
    return os.getpid(), value


def test_an_error_in_the_parent_stops_and_reaps_the_children(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    with pytest.raises(KeyboardInterrupt):
        fork_map(_interrupted_or_waiting, [("parent", str(marker)), ("child", str(marker))])
    pid = int(marker.read_text())
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped, not a zombie left behind
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _interrupted_or_waiting(part: tuple[str, str]) -> None:
    role, marker = part
    if role == "child":
        # Renamed into place: the parent waits for the name, and must never
        # see it before the pid is in it.
        Path(marker + ".part").write_text(str(os.getpid()))
        os.rename(marker + ".part", marker)
        time.sleep(60)
        return
    deadline = time.monotonic() + 10
    while not Path(marker).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    raise KeyboardInterrupt


def test_nothing_forks_while_another_thread_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_WORKERS, "4")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert usable_workers(1_000_000) == 1
    finally:
        stop.set()
        other.join()


def test_workers_setting_and_size_decide_when_alone() -> None:
    script = textwrap.dedent("""
        import json
        from gitpipe.hashing.forkmap import usable_workers
        print(json.dumps([usable_workers(n) for n in (100, 2048, 10**6)]))
    """)
    def counts(setting: str) -> list[int]:
        out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True,
                             env={**os.environ, ENV_WORKERS: setting},
                             capture_output=True, text=True).stdout
        return list(json.loads(out))
    cpus = usable_cpus()
    assert counts("1") == [1, 1, 1]
    assert counts("2") == [1, min(2, cpus), min(2, cpus)]
    assert counts("")[2] == min(cpus, 8)


def test_ctrl_c_during_a_forked_scan_leaves_no_process_behind(tmp_path: Path) -> None:
    if usable_cpus() < 2:
        pytest.skip("one CPU: the scan never forks")
    directory = odd_tree(tmp_path / "d", plain_files=4000)
    script = textwrap.dedent("""
        import os, sys, time
        import gitpipe.hashing.coldscan as coldscan
        from gitpipe.hashing.digests import descriptor_digest
        def slow(fd):
            time.sleep(0.01)
            return descriptor_digest(fd)
        coldscan.descriptor_digest = slow
        print(os.getpid(), flush=True)
        coldscan.scan_directory(sys.argv[1])
    """)
    proc = subprocess.Popen([sys.executable, "-c", script, str(directory)], cwd=ROOT,
                            env={**os.environ, ENV_WORKERS: "2"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout is not None
    pid = int(proc.stdout.readline())
    time.sleep(1.0)
    children = _children_of(pid)
    assert children, "the scan did not fork"
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole group
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    for child in children:
        with pytest.raises(ProcessLookupError):
            os.kill(child, 0)


def _children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(word) for word in path.read_text().split()] if path.exists() else []


def test_hash_many_forked_equals_one_process_and_raises_as_it(tmp_path: Path) -> None:
    if usable_cpus() < 2:
        pytest.skip("one CPU: hash_many never forks")
    directory = odd_tree(tmp_path / "d", plain_files=2600)
    paths = [str(directory / item[0]) for item in walk_files(str(directory))
             if stat.S_ISREG(item[4])]
    script = COUNTING_FORKS + textwrap.dedent("""
        from gitpipe.hashing.digests import hash_many
        paths = json.loads(sys.stdin.read())
        try:
            digests = hash_many(paths)
        except FileNotFoundError as error:
            digests = "missing: " + os.path.basename(error.filename)
        print(json.dumps({"forks": len(forks), "digests": digests}))
    """)

    def forked(paths: list[str]) -> dict[str, object]:
        out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True,
                             input=json.dumps(paths), capture_output=True, text=True,
                             env={**os.environ, ENV_WORKERS: "2"}).stdout
        return dict(json.loads(out))

    assert forked(paths) == {"forks": 1, "digests": [file_digest(path) for path in paths]}
    # A file gone from either share (the parent's, a child's) fails as it does
    # in one process.
    for at in (1500, 1501):
        assert forked([*paths[:at], paths[0] + ".gone", *paths[at:]])["digests"] == \
            f"missing: {os.path.basename(paths[0])}.gone"


def test_a_failed_fork_leaves_the_part_to_the_parent_and_no_descriptor_open(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise BlockingIOError("Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    before = sorted(os.listdir("/proc/self/fd"))
    parts = [list(range(k, k + 5)) for k in range(0, 20, 5)]
    results = fork_map(_pids_and_sums, parts)
    assert results == [(os.getpid(), sum(part)) for part in parts]
    assert sorted(os.listdir("/proc/self/fd")) == before


def test_ctrl_c_while_waiting_for_a_child_reaps_it(tmp_path: Path) -> None:
    # SIGINT to the parent alone (a CI runner's stop, `kill -INT`), while it
    # waits for a child's result: the child is killed and reaped, not left to
    # run on or as a zombie.
    script = textwrap.dedent("""
        import os, signal, sys, time
        from pathlib import Path
        from gitpipe.hashing.forkmap import fork_map
        marker = Path(sys.argv[1])
        def work(role):
            if role == "child":
                marker.write_text(str(os.getpid()))
                time.sleep(60)
                return 0
            while not marker.exists():
                time.sleep(0.01)
            signal.setitimer(signal.ITIMER_REAL, 0.3)  # SIGINT once waiting for the child
            return 0
        signal.signal(signal.SIGALRM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
        try:
            fork_map(work, ["parent", "child"])
        except KeyboardInterrupt:
            pid = int(marker.read_text())
            try:
                os.kill(pid, 0)
                print("child still there")
            except ProcessLookupError:
                print("child gone")
    """)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "pid")], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "child gone", done.stderr
