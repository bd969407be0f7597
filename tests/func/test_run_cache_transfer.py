"""`push/fetch/pull --run-cache`: every run-cache entry travels, checked on the
way in; a plain `push` keeps sending the lock's own entries."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Repo, ran_cmd
from tests.security.conftest import assert_only_changed, snapshot

STAGE = {"train": {"cmd": ran_cmd("train", "echo lr=$(cat lr) > model.txt"),
                   "deps": ["lr"], "outs": ["model.txt"]}}


def _two_runs_pushed(repo: Repo, store: Path, *flags: str) -> None:
    """Runs with lr=1 and lr=2 (the lock ends at 2), pushed with `flags`."""
    repo.gen({"lr": "1\n"}).spec(STAGE)
    repo.run("remote", "add", "-d", "store", str(store), check=True)
    # Entries pushed unsigned: these tests are about what travels, not who signed it
    # (tests/security/test_signed.py).
    repo.run("remote", "modify", "store", "trust", "any", check=True)
    repo.run("repro", check=True)
    repo.gen({"lr": "2\n"})
    repo.run("repro", check=True)
    assert repo.ran() == ["train", "train"]
    repo.run("push", *flags, check=True)
    repo.commit("lr 2")


def test_run_cache_travels_with_the_flag(repo: Repo, tmp_path: Path) -> None:
    store = tmp_path / "store"
    _two_runs_pushed(repo, store, "--run-cache")
    assert len(list((store / "runs").rglob("*"))) == 3, "runs/train/ and two entries"
    clone = repo.clone_to(tmp_path / "clone")
    done = clone.run("pull", "--run-cache", check=True)
    assert "fetched 2 run-cache entries" in done.stdout, done.stdout
    clone.gen({"lr": "1\n"})
    repro = clone.run("repro", check=True)
    assert clone.ran() == [] and "restored" in repro.stdout, "lr=1 was computed elsewhere"
    assert clone.read("model.txt") == "lr=1\n"


def test_push_run_cache_says_which_entries_each_line_counts(repo: Repo,
                                                           tmp_path: Path) -> None:
    """After a plain push, `push --run-cache` printed `pushed 0 object(s) and 0
    run-cache entries …` then `pushed 1 run-cache entry with 1 object(s)`:
    two counts of one kind that read as a contradiction. The first line is
    the lock's, the second the other entries'."""
    _two_runs_pushed(repo, tmp_path / "store")
    lines = repo.run("push", "--run-cache", check=True).stdout.splitlines()
    assert lines[0].startswith("pushed 0 object(s) and 0 run-cache entries of gitpipe.lock, "
                               "0 B; 1 already there"), lines
    assert lines[1].startswith("pushed 1 other run-cache entry (--run-cache) with 1 "
                               "object(s), "), lines
    again = repo.run("push", check=True).stdout.splitlines()
    assert again == ["pushed 0 object(s) and 0 run-cache entries, 0 B; 1 already there"]

def test_without_the_flag_only_the_locks_entries_travel(repo: Repo, tmp_path: Path) -> None:
    store = tmp_path / "store"
    _two_runs_pushed(repo, store)
    assert len([p for p in (store / "runs").rglob("*") if p.is_file()]) == 1
    clone = repo.clone_to(tmp_path / "clone")
    clone.run("pull", check=True)
    clone.gen({"lr": "1\n"})
    clone.run("repro", check=True)
    assert clone.ran() == ["train"], "lr=1's entry was never pushed"
    clone.gen({"lr": "2\n"})
    clone.run("repro", "--pull", check=True)
    assert clone.ran() == [], "the lock's own entry is on the remote for `repro --pull`"


def test_a_planted_remote_entry_is_refused_and_writes_nothing(repo: Repo,
                                                               tmp_path: Path) -> None:
    store = tmp_path / "store"
    _two_runs_pushed(repo, store, "--run-cache")
    clone = repo.clone_to(tmp_path / "clone")
    clone.run("pull", check=True)
    entry = next(p for p in (store / "runs/train").iterdir())
    digest = json.loads(json.loads(entry.read_text())["entry"])[0][1]
    planted = {
        "a" * 32: [["../../escaped.txt", digest, 6]],
        "b" * 32: "not a list",
        "c" * 32: [["model.txt", "xxh3:" + "0" * 32, 6], ["model.txt", digest, 6]],
    }
    for name, rows in planted.items():
        (store / "runs/train" / name).write_text(json.dumps(rows))
    (store / "runs/intruder").mkdir()
    (store / "runs/intruder" / ("d" * 32)).write_text(json.dumps([["x", digest, 1]]))
    before = snapshot(tmp_path)
    done = clone.run("fetch", "--run-cache", check=True)
    assert done.stderr.count("it is ignored") == 3, done.stderr
    assert "fetched 2 run-cache entries" in done.stdout
    after = snapshot(tmp_path)
    cache_runs = ".gitpipe/cache/runs/train"
    assert_only_changed(before, after, allowed=["clone/.gitpipe/cache/runs",
                                                "clone/.gitpipe/cache/files",
                                                "clone/.gitpipe/cache/remotes",
                                                "clone/.gitpipe/tmp", "clone/.gitpipe/cache/tmp"])
    assert not any("escaped" in path for path in after)
    kept = {p.name for p in (clone.path / cache_runs).iterdir()}
    assert kept == {p.name for p in (repo.path / cache_runs).iterdir()}


def test_repro_pull_in_a_fresh_clone_restores_what_the_lock_records_without_trust(
        repo: Repo, tmp_path: Path) -> None:
    """The lock is as trusted as the code beside it: its outs come from the remote
    (verified by their names) with no run-cache entry and no `trust:` list."""
    store = tmp_path / "store"
    repo.gen({"lr": "1\n"}).spec({**STAGE, "report": {
        "cmd": ran_cmd("report", "mkdir -p rep && cp model.txt rep/m.txt"),
        "deps": ["model.txt"], "outs": ["rep/"]}})
    repo.run("remote", "add", "-d", "store", str(store), check=True)
    repo.run("repro", check=True)
    repo.run("push", check=True)
    repo.commit("lock")
    repo.ran()
    clone = repo.clone_to(tmp_path / "clone")
    done = clone.run("repro", "--pull")
    assert done.returncode == 0, done.stderr
    assert clone.ran() == [], done.stdout + done.stderr
    assert "restored train: from the cache, as gitpipe.lock records\n" in done.stdout
    assert "not trusted" not in done.stderr
    assert clone.read("model.txt") == "lr=1\n" and clone.read("rep/m.txt") == "lr=1\n"
    # An input that differs from the lock's is computed, never taken from the lock.
    clone.gen({"lr": "3\n"})
    clone.run("repro", "--pull", check=True)
    assert clone.ran() == ["train", "report"]
    assert clone.read("rep/m.txt") == "lr=3\n"
