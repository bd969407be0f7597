"""A clone's two foreach stages of 2,000 items each, every item of the
second reading the folder that every item of the first writes into: four
million edges, as the spec says, but each edge's producer was made unique by
hashing its Task, whose stage holds all 2,000 items: `validate` (what CI runs
first) grew with the cube of the items, some two minutes of CPU here.
Producers are made unique by identity. The bound is on CPU time
(RLIMIT_CPU), not the clock: about ten seconds of it now."""

from __future__ import annotations

import json
import resource

from tests.conftest import Repo

ITEMS = 2_000
CPU_SECONDS = 60


def _cpu_bound() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def test_a_wide_foreach_reading_another_s_folder_builds_its_graph_in_square_time(
        repo: Repo) -> None:
    items = json.dumps([f"i{n}" for n in range(ITEMS)])
    repo.gen({"gitpipe.yaml": (
        f"stages:\n  s:\n    foreach: {items}\n    do:\n      cmd: echo s\n"
        "      outs: ['all/${item}.txt']\n"
        f"  u:\n    foreach: {items}\n    do:\n      cmd: echo u\n      deps: [all]\n"
        "      outs: ['u/${item}.txt']\n")}, commit="two wide foreach stages")
    repo.run("init", check=True)
    done = repo.run("validate", preexec_fn=_cpu_bound)
    said = done.stdout + done.stderr
    assert done.returncode == 0, (done.returncode, said[-2000:])
    assert f"2 stages ({2 * ITEMS} items), {ITEMS * ITEMS} dependency edges" in said, said[-500:]
