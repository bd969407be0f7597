"""A clone's `.gitpipeignore` in a directory dep, `**/a/**/a/**/a/**/a/b`
(four `**`, as many as a pattern may hold), and a folder chain `a/a/…/a/c`
300 deep beside it (600 bytes of path): each `**/` was a regex that
backtracks, so matching one path cost the fourth power of its depth, and
`gitpipe status` (CI's first command on a pull request) ran past two
minutes of CPU before it was stopped. Each `**/` but the last now takes
its part's leftmost place (hashing/wildmatch.py), linear in the depth.

The bound is on CPU time (RLIMIT_CPU), not on the clock."""

from __future__ import annotations

import resource
from pathlib import Path

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

CPU_SECONDS = 60
DEPTH = 300


def _cpu_bound() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def test_a_deep_tree_and_many_double_stars_cost_a_status_little(repo: Repo,
                                                                 tmp_path: Path) -> None:
    repo.gen({"data/" + "a/" * DEPTH + "c": "x\n", "data/b": "kept\n",
              "data/.gitpipeignore": "**/a/**/a/**/a/**/a/b\n"})
    repo.spec({"s": {"cmd": "ls -R data > o.txt", "deps": ["data"], "outs": ["o.txt"]}},
              commit="a deep folder")
    repo.run("init", check=True)
    before = snapshot(tmp_path)
    done = repo.run("status", preexec_fn=_cpu_bound, env={"GITPIPE_HASH_WORKERS": "1"})
    said = done.stdout + done.stderr
    assert done.returncode == 0, (done.returncode, said[-2000:])
    assert "s:\n    new stage" in done.stdout, said
    assert_only_changed(before, snapshot(tmp_path),
                        [f"repo/.gitpipe/state.db{suffix}"
                         for suffix in ("", "-wal", "-shm", "-journal")])
