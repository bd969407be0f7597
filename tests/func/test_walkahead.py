"""A status's directory walks (hashing/walkahead.py, hashing/statsig.py): started
in forked processes before the lock is read, each folder listed through a
descriptor of it. The answers themselves are held to the sealed and
from-scratch ones by tests/func/test_property.py."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import GIT_ENV, Repo

SEVERAL_CPUS = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2,
                                  reason="the walks fork only with more than one CPU")

SCANDIR_ARGS = """
import sys
from gitpipe.hashing.statsig import directory_signature, walk_files

listed = []
sys.addaudithook(lambda event, args: event in ("os.scandir", "os.listdir")
                 and listed.append(args[0]))
walk_files(sys.argv[1])
directory_signature(sys.argv[2])
print(repr(listed))
"""


def test_each_folder_is_listed_through_a_descriptor(tmp_path: Path) -> None:
    """walk_files and directory_signature list a folder through a descriptor
    of it, so that each file's stat resolves one name, not its full path."""
    (tmp_path / "deep" / "sub").mkdir(parents=True)
    (tmp_path / "deep" / "a.txt").write_text("a\n")
    (tmp_path / "deep" / "sub" / "b.txt").write_text("b\n")
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "c.txt").write_text("c\n")
    done = subprocess.run([sys.executable, "-c", SCANDIR_ARGS, str(tmp_path / "deep"),
                           str(tmp_path / "flat")], capture_output=True, text=True, check=True)
    listed = ast.literal_eval(done.stdout)
    assert len(listed) == 3 and all(isinstance(arg, int) for arg in listed), listed


def two_folders(repo: Repo) -> Repo:
    """A built pipeline with two directory deps."""
    repo.gen({"one/a.txt": "a\n", "one/b.txt": "b\n", "two/c.txt": "c\n"})
    repo.spec({
        "first": {"cmd": "cat one/* > first.txt", "deps": ["one"], "outs": ["first.txt"]},
        "second": {"cmd": "cat two/* > second.txt", "deps": ["two"], "outs": ["second.txt"]},
    })
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("built")
    repo.age()
    return repo


ORDER = """
import os, sys
from gitpipe.hashing import forkmap, walkahead
from gitpipe.pipeline import graph, lockfile
from gitpipe.storage import workspace

walkahead.DIRECTORIES_PER_WORKER = 1
events, parent = [], os.getpid()
fork, read, walk = forkmap._fork, lockfile.read, walkahead.walk_files
forkmap._fork = lambda *args: events.append("fork") or fork(*args)
lockfile.read = lambda *args: events.append("lock") or read(*args)
build = graph.build
graph.build = lambda *args: events.append("graph") or build(*args)
walkahead.walk_files = lambda folder: (
    os.getpid() == parent and events.append("walked here")) or walk(folder)
signed, hashed = walkahead.Signing.signed, workspace.Workspace._info
walkahead.Signing.signed = lambda self: events.append("joined") or signed(self)
workspace.Workspace._info = lambda self, path, algo: events.append(path) or hashed(
    self, path, algo)
sys.argv = ["gitpipe", "status", *sys.argv[1:]]
from gitpipe.cli.launch import main
try:
    main(leave_at_once=False)
finally:  # a status of targets is the CLI's: it leaves by SystemExit
    sys.stderr.write("EVENTS " + repr(events) + "\\n")
"""


@SEVERAL_CPUS
@pytest.mark.parametrize("targets, first", [((), ["fork", "fork", "graph"]),
                                            (("first", "second"), ["graph", "fork", "fork"])])
def test_the_walks_are_started_before_the_lock_is_read(
        repo: Repo, targets: tuple[str, ...], first: list[str]) -> None:
    """A status without a seal forks its directory walks, every share in a
    child, and reads the lock and hashes the paths that need no walk (the
    outs here) while they run: the process that answers walks none of the
    directories itself, and hashes them once the walks are done. A status of
    every task starts them from the stages' tasks before it builds the graph
    (built while they run); one of targets needs the graph to know what to walk."""
    two_folders(repo)
    env = {**os.environ, **GIT_ENV, "GITPIPE_NO_SEAL": "1", "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", ORDER, *targets], cwd=repo.path, env=env,
                          capture_output=True, text=True, check=True)
    assert done.stdout == "everything is up to date\n", done.stderr
    events = [ln for ln in done.stderr.splitlines() if ln.startswith("EVENTS ")]
    then = ["lock", "first.txt", "second.txt", "one", "joined", "two"]
    assert events == [f"EVENTS {[*first, *then]!r}"], done.stderr


BAD_INPUT = """
import os, sys
from gitpipe.hashing import walkahead

walkahead.DIRECTORIES_PER_WORKER = 1
sys.argv = ["gitpipe", "status"]
from gitpipe.cli.launch import main
try:
    main(leave_at_once=False)
except SystemExit as exit:
    code = exit.code
try:
    left = os.waitpid(-1, os.WNOHANG)
except ChildProcessError:
    left = None
sys.stderr.write(f"CODE {code} LEFT {left}\\n")
"""


def _bad_lock(repo: Repo) -> None:
    (repo.path / "gitpipe.lock").write_text("schema: [\n")


def _fifo_out(repo: Repo) -> None:
    (repo.path / "first.txt").unlink()
    os.mkfifo(repo.path / "first.txt")


@SEVERAL_CPUS
@pytest.mark.parametrize("spoil, said", [(_bad_lock, "gitpipe.lock"), (_fifo_out, "first.txt")])
def test_an_error_met_while_the_walks_run_leaves_no_child(
        repo: Repo, spoil: Callable[[Repo], None], said: str) -> None:
    """The lock is read, and the paths that need no walk hashed, while the
    forked walks run: where one is bad (a lock that does not parse, an out
    that is a fifo), the walks are stopped and reaped, and the error is the
    one a status that walks in one process reports (GITPIPE_HASH_WORKERS=1)."""
    spoil(two_folders(repo))
    told = []
    for workers in ("", "1"):
        env = {**os.environ, **GIT_ENV, "GITPIPE_NO_SEAL": "1", "NO_COLOR": "1",
               "GITPIPE_HASH_WORKERS": workers}
        done = subprocess.run([sys.executable, "-c", BAD_INPUT], cwd=repo.path, env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        told.append(done.stderr)
    assert told[0] == told[1], told
    assert said in told[0] and "Traceback" not in told[0], told[0]
    assert told[0].rstrip().endswith("LEFT None") and "CODE 0" not in told[0], told[0]
