"""`make bench` writes its latest run into docs/explanation/performance.md between markers."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_peers  # noqa: E402  (a script, found on the path set above)


def test_the_latest_run_replaces_only_the_marked_section() -> None:
    doc = (f"# Performance\n\nintro\n\n{bench_peers.LATEST_BEGIN}\nold table\n"
           f"{bench_peers.LATEST_END}\n\n## Older runs\n")
    report = "# gitpipe next to DVC\n\n| a | b |\n\n## Issue 7 targets\n"
    once = bench_peers.with_latest_run(doc, report)
    assert "old table" not in once
    assert "### gitpipe next to DVC" in once and "#### Issue 7 targets" in once
    assert once.startswith("# Performance\n\nintro\n") and once.endswith("## Older runs\n")
    assert bench_peers.with_latest_run(once, report) == once


def test_a_doc_without_the_markers_is_left_alone() -> None:
    assert bench_peers.with_latest_run("# Performance\n", "# run\n") == "# Performance\n"


def test_the_performance_doc_has_the_markers() -> None:
    text = bench_peers.PERFORMANCE_DOC.read_text()
    assert text.index(bench_peers.LATEST_BEGIN) < text.index(bench_peers.LATEST_END)
