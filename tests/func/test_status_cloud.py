"""`gitpipe status -c` (`--cloud`, or `-r REMOTE`), as `dvc status -c`: the
lock's outs compared between the local cache and the remote, each said with
what settles it; `--check` exits 1 unless both hold every out."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import Repo

SPEC = """\
stages:
  prepare:
    cmd: mkdir -p data/prepared && echo a > data/prepared/a.txt && echo b > data/prepared/b.txt
    outs: [data/prepared/]
  train:
    cmd: cat data/prepared/a.txt > model.txt
    deps: [data/prepared/]
    outs: [model.txt]
"""


def test_status_cloud_says_what_push_and_pull_would_move(repo: Repo, tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    repo.gen({"gitpipe.yaml": SPEC})
    repo.run("init", check=True)
    repo.run("remote", "add", "-d", "store", str(store), check=True)
    repo.run("repro", check=True)
    before = repo.run("status", "-c", "--check")
    assert before.returncode == 1, before.stderr
    assert before.stdout.splitlines() == [
        "new: in the local cache, not on remote 'store' ('gitpipe push' uploads them):",
        "    data/prepared/ (prepare)", "    model.txt (train)"], before.stdout
    repo.run("push", "train", check=True)
    assert repo.run("status", "--cloud").stdout.splitlines()[1:] == [
        "    data/prepared/ (prepare)"]
    repo.run("push", check=True)
    synced = repo.run("status", "-r", "store", "--check", check=True)
    assert synced.stdout == ("the local cache and remote 'store' hold all 2 out(s) "
                             "gitpipe.lock records\n")
    repo.commit("pushed")
    clone = repo.clone_to(tmp_path / "clone")
    assert clone.run("status", "-c").stdout.splitlines() == [
        "deleted: on remote 'store', not in the local cache ('gitpipe pull' fetches them):",
        "    data/prepared/ (prepare)", "    model.txt (train)"]
    shutil.rmtree(store)
    store.mkdir()
    assert clone.run("status", "-c", "model.txt").stdout.splitlines() == [
        "missing: neither in the local cache nor on remote 'store' ('gitpipe repro' "
        "computes them):", "    model.txt (train)"]


def test_status_cloud_without_a_remote_or_with_rev_is_refused(repo: Repo) -> None:
    repo.gen({"gitpipe.yaml": SPEC})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    done = repo.run("status", "-c")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.splitlines()[0] == "error: no remote is configured", done.stderr
    mixed = repo.run("status", "-c", "--rev", "HEAD")
    assert mixed.returncode == 2 and "not with --rev" in mixed.stderr, mixed.stderr


def test_status_cloud_json_gives_each_list_and_exits_as_the_text(repo: Repo,
                                                                  tmp_path: Path) -> None:
    from tests.func.test_json import document

    repo.gen({"gitpipe.yaml": SPEC})
    repo.run("init", check=True)
    refused = repo.run("status", "-c", "--json")
    assert refused.returncode == 2
    assert document(refused, "cloud_status")["error"]["message"] == "no remote is configured"
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    never = repo.run("status", "-c", check=True)  # not "hold all 0 out(s)"
    assert never.stdout == ("gitpipe.lock records no outs yet: nothing to compare with "
                            "remote 'store' ('gitpipe repro' computes them)\n"), never.stdout
    repo.run("repro", check=True)
    repo.run("push", "train", check=True)
    done = repo.run("status", "-c", "--json", "--check")
    assert done.returncode == 1, done.stderr
    doc = document(done, "cloud_status")
    assert (doc["in_sync"], doc["total"], doc["deleted"], doc["missing"]) == (False, 2, [], [])
    assert doc["remote"] == {"name": "store", "url": str(tmp_path / "store")}
    (prepared,) = doc["new"]
    assert (prepared["path"], prepared["task"]) == ("data/prepared", "prepare")
    assert prepared["digest"].endswith(".dir")
    target = document(repo.run("status", "-c", "--json", "model.txt", check=True), "cloud_status")
    assert (target["in_sync"], target["total"], target["new"]) == (True, 1, [])
    said = repo.run("status", "-c", "model.txt", check=True).stdout
    assert said == "the local cache and remote 'store' hold the 1 out(s) of the targets\n"


def test_status_cloud_cuts_a_long_list_and_all_lifts_the_cut(repo: Repo, tmp_path: Path) -> None:
    repo.gen({"gitpipe.yaml": "stages:\n  daily:\n"
              "    partition: {by: date, start: 2024-01-01, end: 2024-01-12}\n"
              "    cmd: mkdir -p days && echo ${date} > days/${date}.txt\n"
              "    outs: [\"days/${date}.txt\"]\n"})
    repo.run("init", check=True)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    repo.run("repro", check=True)
    cut = repo.run("status", "-c", check=True).stdout.splitlines()
    assert len(cut) == 12 and cut[-1] == "    … and 2 more (--all lists them)", cut
    every = repo.run("status", "-c", "--all", check=True).stdout.splitlines()
    assert len(every) == 13 and every[-1] == "    days/2024-01-12.txt (daily@2024-01-12)", every
