"""benchmarks/paired_builds.py: full builds of one template by two code trees, paired."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import Repo

ROOT = Path(__file__).resolve().parents[2]


def test_each_variant_builds_the_template_afresh_and_is_compared_with_the_first(
        tmp_path: Path) -> None:
    (tmp_path / "template").mkdir()
    template = Repo(tmp_path / "template")
    template.spec({"one": {"cmd": "echo 1 > one.txt", "outs": ["one.txt"]},
                   "two": {"cmd": "cat one.txt one.txt > two.txt", "deps": ["one.txt"],
                           "outs": ["two.txt"]}})
    template.run("init", check=True)
    template.commit("never built")
    work = tmp_path / "work"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "paired_builds.py"),
                           str(template.path), f"base={ROOT}", f"same={ROOT}", "--rounds", "2",
                           "--warmup", "0", "--work", str(work)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "same: tree_cpu_s " in done.stdout
    assert "own_cpu_s minus base's: median " in done.stdout
    runs = json.loads((work / "last.json").read_text())
    assert sorted(runs) == ["base", "same"] and all(len(builds) == 2 for builds in runs.values())
    for builds in runs.values():  # the gitpipe process's own CPU is part of the tree's
        assert all(0 < b["own_cpu_s"] <= b["tree_cpu_s"] for b in builds)
    assert not (template.path / ".gitpipe" / "cache" / "runs").exists()  # copies were built
    assert not (work / "repo").exists()


def test_a_folder_without_gitpipe_is_refused(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "paired_builds.py"),
                           str(tmp_path), f"base={tmp_path}"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 2 and "DIR holding a gitpipe/ package" in done.stderr


def test_another_command_is_run_in_place_of_repro(tmp_path: Path) -> None:
    (tmp_path / "template").mkdir()
    template = Repo(tmp_path / "template")
    template.spec({"day": {"cmd": "echo $GITPIPE_PARTITION >> days.txt",
                           "partition": {"by": "date", "start": "2024-01-01",
                                         "end": "2024-01-03", "freq": "daily"}}})
    template.run("init", check=True)
    template.commit("never run")
    work = tmp_path / "work"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "paired_builds.py"),
                           str(template.path), f"base={ROOT}", "--rounds", "1", "--warmup", "0",
                           "--work", str(work), "--args", "backfill day --concurrency 2"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    runs = json.loads((work / "last.json").read_text())
    assert len(runs["base"]) == 1 and runs["base"][0]["own_cpu_s"] > 0
    assert not (template.path / "days.txt").exists()  # a copy was run
    refused = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "paired_builds.py"),
                              str(template.path), f"base={ROOT}", "--rounds", "1",
                              "--warmup", "0", "--work", str(work),
                              "--args", "backfill no-such-stage"],
                             capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "no-such-stage" in refused.stderr  # gitpipe was told
