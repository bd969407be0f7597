"""Attacks on `repro` restoring a stage from the outs its lock entry records
(engine/runcache.py): a committed gitpipe.lock whose fingerprint is the real
one but whose outs are other paths or kinds restores nothing and writes
nothing outside the declared outs: the stage runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from gitpipe.hashing.digests import hash_file
from tests.conftest import Repo, ran_cmd
from tests.security.conftest import assert_only_changed, snapshot

PRECIOUS = "precious: the user's own bytes\n"
POISON = "poison\n"


def pipeline(repo: Repo) -> str:
    """A one-stage pipeline, run and committed; the digest of bytes an attacker
    put in the cache (any object: the lock names it by its hash)."""
    repo.spec({"make": {"cmd": ran_cmd("make", "echo made > out.txt"), "deps": ["in.txt"],
                        "outs": ["out.txt"]}})
    repo.gen({"in.txt": "in\n"})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("pipeline and lock")
    repo.ran()
    # A fresh clone's view: no run of this machine's stands behind the stage.
    shutil.rmtree(repo.path / ".gitpipe" / "cache" / "runs")
    poison = repo.path / "poison.txt"
    poison.write_text(POISON)
    digest = str(hash_file(poison))
    repo.project().cache.add_file(poison, digest)
    poison.unlink()
    return digest


def forge(repo: Repo, **out: str) -> None:
    data = yaml.safe_load(repo.read("gitpipe.lock"))
    data["stages"]["make"]["outs"][0].update(out)
    repo.gen({"gitpipe.lock": yaml.safe_dump(data, sort_keys=False)}, commit="forged lock")


@pytest.mark.parametrize("path", ["../victim.txt", "other.txt", "out.txt/.."])
def test_a_lock_with_the_real_fingerprint_and_other_outs_restores_nothing(
        repo: Repo, tmp_path: Path, path: str) -> None:
    poison = pipeline(repo)
    victim = tmp_path / "victim.txt"
    victim.write_text(PRECIOUS)
    repo.gen({"other.txt": PRECIOUS})
    forge(repo, path=path, hash=poison)
    (repo.path / "out.txt").unlink()
    before = snapshot(tmp_path)
    done = repo.run("repro")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert repo.ran() == ["make"]
    assert repo.read("out.txt") == "made\n"
    assert_only_changed(before, snapshot(tmp_path),
                        ("repo/.gitpipe", "repo/out.txt", "repo/gitpipe.lock"))


def test_a_lock_naming_a_directory_object_for_a_file_out_restores_nothing(
        repo: Repo, tmp_path: Path) -> None:
    poison = pipeline(repo)
    forge(repo, hash=poison + ".dir")
    (repo.path / "out.txt").unlink()
    done = repo.run("repro")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert repo.ran() == ["make"]
    assert repo.read("out.txt") == "made\n"


def test_a_stage_whose_inputs_changed_is_not_restored_from_its_lock(repo: Repo) -> None:
    poison = pipeline(repo)
    forge(repo, hash=poison)
    repo.gen({"in.txt": "changed\n"})
    done = repo.run("repro")
    assert done.returncode == 0, done.stderr
    assert repo.ran() == ["make"]
    assert repo.read("out.txt") == "made\n"


# -- lock entries of partitions the stage cannot have -----------------------------

def daily_pipeline(repo: Repo) -> str:
    """A daily stage of two days, run and committed; the digest of one of its outs."""
    repo.spec({"day": {"partition": {"by": "date", "start": "2024-01-01", "end": "2024-01-02"},
                       "cmd": "mkdir -p out && echo ${date} > out/${date}.txt",
                       "outs": ["out/${date}.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("pipeline and lock")
    return str(repo.project().lock_entries["day@2024-01-01"].outs[0].digest)


@pytest.mark.parametrize("key", ["garbage", "2024-1-1", "2024-01", "2024-01-01T05"])
def test_a_lock_entry_for_a_partition_key_the_stage_never_names_is_left_and_dropped(
        repo: Repo, tmp_path: Path, key: str) -> None:
    """A key no daily stage makes (not a date, another spelling of one, an hour):
    checkout and pull leave the entry alone as they leave a removed stage's
    (nothing written at the path it names, which the out's ignore rule does
    not cover, so `git add -A` would commit it), and repro drops it. Before,
    an unreadable key failed every checkout and pull for good (exit 2, and
    repro kept the entry), and a readable one was written."""
    digest = daily_pipeline(repo)
    data = yaml.safe_load(repo.read("gitpipe.lock"))
    planted = dict(data["stages"]["day@2024-01-01"])
    planted["outs"] = [{"path": f"out/{key}.txt", "hash": digest, "size": 11}]
    data["stages"][f"day@{key}"] = planted
    repo.gen({"gitpipe.lock": yaml.safe_dump(data, sort_keys=False)}, commit="planted entry")
    before = snapshot(tmp_path)
    done = repo.run("checkout")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert f"'day@{key}', which gitpipe.yaml does not declare" in done.stderr
    assert_only_changed(before, snapshot(tmp_path), ("repo/.gitpipe",))
    done = repo.run("repro")
    assert done.returncode == 0, done.stderr
    assert set(repo.project().lock_entries) == {"day@2024-01-01", "day@2024-01-02"}
    assert not (repo.path / f"out/{key}.txt").exists()


def test_a_stale_stage_without_outs_runs_whatever_its_lock_entry_says(repo: Repo) -> None:
    """A committed lock entry of a stage with no outs, its fingerprint the real
    one and its recorded command another (a hand-merged or forged lock):
    gitpipe finds the stage stale (`cmd changed`), and with no outs there is
    nothing a restore could bring back or check; the lock's word alone never
    stands in for the run."""
    repo.gen({"params.yaml": {"n": 1}})
    repo.spec({"check": {"cmd": ran_cmd("check", "grep n: params.yaml"), "params": ["n"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    assert repo.ran() == ["check"]
    data = yaml.safe_load(repo.read("gitpipe.lock"))
    data["stages"]["check"]["cmd"] = "true"
    repo.gen({"gitpipe.lock": yaml.safe_dump(data, sort_keys=False)}, commit="forged lock")
    assert "cmd changed" in repo.run("status").stdout
    done = repo.run("repro", "--json")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    [task] = json.loads(done.stdout)["tasks"]
    assert task["outcome"] == "ran", task
    assert repo.ran() == ["check"]
