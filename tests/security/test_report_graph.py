"""Attack through a clone's spec on `gitpipe report`, which runs none of its
commands: each of 300 stages reading every earlier stage's out (a spec of
260 KB) split each long edge at every layer it crosses, 4.5 million points
to lay out, named by the stages' names, which have no length bound; the
report grew to 2 GB and ran for minutes (under 512 MiB: `unexpected
MemoryError`). Past daglayout.MAX_WAYPOINTS long edges are drawn straight."""

from __future__ import annotations

import json
import re
import resource
from pathlib import Path
from typing import Any

from tests.security.conftest import assert_only_changed, snapshot

MEMORY = 512 << 20
STAGES = 300


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def test_a_dense_spec_is_drawn_within_bounded_memory(make_repo: Any, tmp_path: Path) -> None:
    origin = make_repo("origin")
    origin.spec({f"s{i}": {"cmd": f"echo > o{i}", "outs": [f"o{i}"],
                           **({"deps": [f"o{j}" for j in range(i)]} if i else {})}
                 for i in range(STAGES)})
    origin.run("init", check=True)
    origin.commit("a dense pipeline")
    clone = origin.clone_to(tmp_path / "clone")
    page = tmp_path / "report.html"
    before = snapshot(tmp_path)
    done = clone.run("report", "-o", str(page), preexec_fn=_limited)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    found = re.search(r'<script type="application/json" id="gitpipe-data">(.*?)</script>',
                      page.read_text(), re.S)
    assert found is not None
    dag = json.loads(found.group(1))["dag"]  # every edge drawn, none dropped
    assert len(dag["edges"]) == STAGES * (STAGES - 1) // 2
    assert_only_changed(before, snapshot(tmp_path),
                        ["report.html", "clone/.gitpipe/state.db", "clone/.gitpipe/tmp"])
