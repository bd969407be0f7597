"""`gitpipe validate` (what CI runs first on a pull request) on a clone's
foreach stage whose items' deps are not there yet: each missing dep was
compared with every out (is it one, or under one?) and given a near miss
among all of them (difflib against every out), so the work grew with the
square of the items. 300 KB of gitpipe.yaml, 20,000 items, took hours of
CPU. Outs are looked up now, and only the first few missing deps get a
near miss (a typo is one of a few; thousands are data still to come).

The bound is on CPU time (RLIMIT_CPU), not on the clock: the linear check
takes a few seconds of it, the quadratic one a thousand."""

from __future__ import annotations

import json
import resource

from tests.conftest import Repo

ITEMS = 10_000
CPU_SECONDS = 60


def _cpu_bound() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def test_validate_with_many_missing_deps_is_linear(repo: Repo) -> None:
    items = json.dumps([f"i{n}" for n in range(ITEMS)])
    repo.gen({"gitpipe.yaml": (
        "stages:\n"
        "  t:\n    cmd: echo t\n    deps: [out/i1.tx]\n    outs: [t.txt]\n"
        f"  s:\n    foreach: {items}\n    do:\n      cmd: echo hi\n"
        "      deps: ['data/${item}.csv']\n      outs: ['out/${item}.txt']\n"),
        "data/keep": ""}, commit="a wide foreach")
    repo.run("init", check=True)
    done = repo.run("validate", preexec_fn=_cpu_bound)
    said = done.stdout + done.stderr
    assert done.returncode == 0, (done.returncode, said[-2000:])
    assert "Traceback" not in said
    warned = [line for line in said.splitlines() if "does not exist and no stage" in line]
    assert len(warned) == ITEMS + 1, said[-2000:]
    assert "did you mean 'out/i1.txt'?" in warned[0], warned[0]
