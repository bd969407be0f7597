"""Attacks through a cloned spec's `foreach:` and `matrix:`: more nodes than a
stage may make, as a list, a mapping, a params list named by `${...}` and a
matrix. Each is refused naming the file, line, stage and count, counted
before a single item is made (making them cost seconds each time the spec
was read), with nothing written but gitpipe's own bookkeeping."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

COUNT = 120_001  # past the 100,000 a stage may make
ITEMS = "".join(f"      - i{n}\n" for n in range(COUNT))
PAIRS = "".join(f"      k{n}: {n}\n" for n in range(COUNT))
DO = "    do:\n      cmd: echo ${item} > o-${key}\n      outs: ['o-${key}']\n"


@pytest.mark.parametrize(("spec", "params", "message"), [
    (f"stages:\n  s:\n    foreach:\n{ITEMS}{DO}", None,
     f"gitpipe.yaml:3: stage 's': 'foreach' makes {COUNT:,} items (at most 100,000)"),
    (f"stages:\n  s:\n    foreach:\n{PAIRS}{DO}", None,
     f"gitpipe.yaml:3: stage 's': 'foreach' makes {COUNT:,} items (at most 100,000)"),
    (f"vars: [params.yaml]\nstages:\n  s:\n    foreach: ${{many}}\n{DO}", f"many:\n{ITEMS}",
     f"gitpipe.yaml:4: stage 's': 'foreach' makes {COUNT:,} items (at most 100,000)"),
    ("stages:\n  s:\n    matrix:\n      a: [" + ",".join(map(str, range(400))) + "]\n"
     "      b: [" + ",".join(map(str, range(400))) + "]\n"
     "    cmd: echo ${key} > o-${key}\n    outs: ['o-${key}']\n", None,
     "gitpipe.yaml:3: stage 's': 'matrix' makes 160,000 combinations (at most 100,000)"),
], ids=["list", "mapping", "params-list", "matrix"])
def test_too_many_items_are_refused_before_any_is_made(
        repo: Repo, tmp_path: Path, spec: str, params: str | None, message: str) -> None:
    repo.gen({"gitpipe.yaml": spec, **({"params.yaml": params} if params else {})},
             commit="crafted")
    before = snapshot(tmp_path)
    # status reads the spec as validate does: tried once, on the plain list.
    listed = spec.startswith(f"stages:\n  s:\n    foreach:\n{ITEMS[:12]}")
    for command in ("validate", "status") if listed else ("validate",):
        done = repo.run(command, timeout=120)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        assert message in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])
