"""Every command the local executor starts reads /dev/null as its stdin (one
descriptor the executor keeps for all its commands), never gitpipe's own
stdin, and inherits no descriptor but its three; the executor's /dev/null is
closed with it."""

from __future__ import annotations

import gc
import os
import sys

import pytest

from gitpipe.executors import local
from gitpipe.executors.base import Context
from tests.conftest import Repo

PROBE = """\
import os, sys
print(os.readlink("/proc/self/fd/0"), repr(sys.stdin.read()), sorted(os.listdir("/proc/self/fd")))
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="no /proc here")
def test_each_command_reads_dev_null_and_inherits_nothing_more(repo: Repo) -> None:
    (repo.path / "probe.py").write_text(PROBE)
    repo.spec({"day": {"cmd": f"{sys.executable} probe.py",
                       "partition": {"by": "date", "start": "2024-01-01",
                                     "end": "2024-01-03", "freq": "daily"}}})
    project = repo.project()
    tasks = [project.graph.nodes[node]["task"] for node in project.graph]
    read, write = os.pipe()
    os.write(write, b"gitpipe's own stdin\n")
    os.close(write)
    stdin = os.dup(0)
    os.dup2(read, 0)
    try:
        executor = local.LocalExecutor(Context(project))
        for task in tasks:
            log = repo.path / f"{task.partition}.log"
            assert executor.run_in(project.root, task, log).ok
            # fd 3 is the listing's own
            assert log.read_text() == f"{os.devnull} '' ['0', '1', '2', '3']\n"
    finally:
        os.dup2(stdin, 0)
        os.close(stdin)
        os.close(read)
    devnull = executor.devnull
    assert os.path.samefile(f"/proc/self/fd/{devnull}", os.devnull)
    del executor
    gc.collect()
    assert not os.path.exists(f"/proc/self/fd/{devnull}")
