"""The transfer benchmark checks each timed push and pull by its summary line:
its patterns must read what the CLI prints, or every figure is flagged (or,
worse, a run that did no work goes unnoticed)."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import ran_cmd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_transfer  # a script, found on the path set above


def test_the_patterns_read_a_real_push_and_pull(make_repo, tmp_path: Path) -> None:
    repo = make_repo("origin")
    repo.gen({"raw.txt": "a\n"})
    repo.spec({"copy": {"cmd": ran_cmd("copy", "cp raw.txt out.txt"), "deps": ["raw.txt"],
                        "outs": ["out.txt"]}})
    repo.run("init", check=True)
    repo.run("remote", "add", "--default", "store", str(tmp_path / "remote"), check=True)
    repo.run("repro", check=True)
    repo.commit("pipeline")

    first = repo.run("push", check=True).stdout
    match = bench_transfer.PUSHED.search(first)
    assert match and match.groups() == ("1", "1"), first
    again = repo.run("push", check=True).stdout
    match = bench_transfer.PUSHED.search(again)
    assert match and match.groups() == ("0", "0"), again

    clone = repo.clone_to(tmp_path / "laptop")
    pulled = clone.run("pull", check=True).stdout
    match = bench_transfer.FETCHED.search(pulled)
    assert match and match.groups() == ("1", "1"), pulled
