"""The local cache and run-cache on real repositories: branch switches, reverts, gc."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from gitpipe.engine.scheduler import Outcome
from tests.conftest import Repo, ran_cmd


def pipeline(repo: Repo) -> Repo:
    repo.gen({"raw.txt": "b\na\n", "params.yaml": {"n": 1}})
    repo.spec({
        "build": {"cmd": ran_cmd("build", "mkdir -p out && sort raw.txt > out/sorted.txt && "
                                          "grep n: params.yaml > out/n.txt"),
                  "deps": ["raw.txt"], "params": ["n"], "outs": ["out/"]},
    })
    repo.run("init", check=True)
    repo.commit("pipeline")
    return repo


def test_objects_are_read_only_and_named_by_content(repo: Repo) -> None:
    pipeline(repo)
    repo.project().repro()
    digest = repo.project().lock_entries["build"].outs[0].digest
    assert digest.endswith(".dir")
    cache = repo.project().cache
    for obj in cache.objects_of(digest):
        mode = cache.path(obj).stat().st_mode
        assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    import xxhash

    for entry in cache.manifest(digest):
        assert f"xxh3:{xxhash.xxh3_128_hexdigest(cache.path(entry.digest).read_bytes())}" \
            == entry.digest


def test_param_revert_restores_from_run_cache(repo: Repo) -> None:
    pipeline(repo)
    repo.project().repro()
    repo.gen({"params.yaml": {"n": 2}})
    repo.project().repro()
    assert repo.ran() == ["build", "build"]
    repo.gen({"params.yaml": {"n": 1}})
    done = repo.run("repro", check=True)
    assert "restored build: from run-cache\n" in done.stdout  # "restored" said once
    assert repo.ran() == []
    assert repo.read("out/n.txt") == "n: 1\n"
    assert repo.run("status", "--check").returncode == 0
    repo.gen({"params.yaml": {"n": 2}})
    [task] = json.loads(repo.run("repro", "--json", check=True).stdout)["tasks"]
    assert task["message"] == "restored from run-cache"  # read alone: the whole sentence


def test_a_stage_without_outs_has_no_run_cache_entry_and_reruns_on_a_revert(
        repo: Repo) -> None:
    """Nothing to restore, so nothing recorded: a check stage (no outs) runs
    whenever its inputs change, a revert to inputs seen before included, and
    its lock entry is still recorded each time."""
    repo.gen({"params.yaml": {"n": 1}})
    repo.spec({"check": {"cmd": ran_cmd("check", "grep n: params.yaml"), "params": ["n"]}})
    repo.run("init", check=True)
    repo.commit("pipeline")
    repo.run("repro", check=True)
    first = repo.project().lock_entries["check"].fingerprint
    assert not (repo.path / ".gitpipe/cache/runs/check").exists()
    repo.gen({"params.yaml": {"n": 2}})
    repo.run("repro", check=True)
    assert repo.project().lock_entries["check"].fingerprint != first
    repo.gen({"params.yaml": {"n": 1}})
    [task] = json.loads(repo.run("repro", "--json", check=True).stdout)["tasks"]
    assert task["outcome"] == "ran"
    assert repo.ran() == ["check", "check", "check"]
    assert repo.project().lock_entries["check"].fingerprint == first
    assert not (repo.path / ".gitpipe/cache/runs").exists()
    assert repo.run("status", "--check").returncode == 0


def test_checkout_after_branch_switch(repo: Repo) -> None:
    pipeline(repo)
    repo.project().repro()
    repo.commit("v1")
    repo.git("checkout", "-q", "-b", "other")
    repo.gen({"raw.txt": "z\ny\n"})
    repo.project().repro()
    repo.commit("v2")
    assert repo.read("out/sorted.txt") == "y\nz\n"
    repo.git("checkout", "-q", "main")
    assert "out/ modified" in repo.run("status").stdout
    done = repo.run("checkout", check=True)
    assert "checked out 1 out(s)" in done.stdout
    assert repo.read("out/sorted.txt") == "a\nb\n"
    assert repo.run("status", "--check").returncode == 0
    repo.ran()
    repo.git("checkout", "-q", "other")
    repo.run("checkout", check=True)
    assert repo.read("out/sorted.txt") == "y\nz\n"
    assert repo.ran() == []


def test_checkout_of_missing_object_is_a_clear_error(repo: Repo) -> None:
    pipeline(repo)
    repo.project().repro()
    import shutil

    shutil.rmtree(repo.path / ".gitpipe/cache", onerror=lambda f, p, e: (os.chmod(p, 0o700),
                                                                        f(p)))
    shutil.rmtree(repo.path / "out")
    done = repo.run("checkout")
    assert done.returncode == 1
    assert "out (stage 'build'" in done.stderr and "Traceback" not in done.stderr
    assert "hint: run 'gitpipe pull'" in done.stderr


def test_checkout_refuses_a_corrupt_cache_object(repo: Repo) -> None:
    # Cache objects are not fsynced (a power loss could truncate one), so every
    # copy out of the cache is hashed: bad bytes must never reach the workspace.
    pipeline(repo)
    repo.project().repro()
    cache = repo.project().cache
    entry = cache.manifest(repo.project().lock_entries["build"].outs[0].digest)[1]
    obj = cache.path(entry.digest)
    os.chmod(obj, 0o644)
    obj.write_text("truncated")
    (repo.path / "out/sorted.txt").unlink()
    done = repo.run("checkout")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"cache object {obj} is corrupt" in done.stderr and "fsck --repair" in done.stderr
    assert not (repo.path / "out/sorted.txt").exists()
    repaired = repo.run("fsck", "--repair")
    assert entry.digest in repaired.stdout + repaired.stderr
    repo.run("repro", check=True)
    assert repo.read("out/sorted.txt") == "a\nb\n"


def test_gc_sweeps_old_temp_files_and_never_counts_them(repo: Repo) -> None:
    pipeline(repo)
    repo.project().repro()
    cache = repo.project().cache
    shard = next(cache.path(o).parent for o in cache.objects_of(
        repo.project().lock_entries["build"].outs[0].digest))
    old, fresh = shard / ".tmp-interrupted", shard / ".tmp-in-flight"
    old.write_text("half an object")
    fresh.write_text("being written")
    os.utime(old, (1, 1))
    assert old not in set(cache.all_objects())
    done = repo.run("gc", check=True)
    assert "removed 0 object(s)" in done.stdout
    assert not old.exists() and fresh.exists()


def test_gc_keeps_current_and_with_all_commits_history(repo: Repo) -> None:
    pipeline(repo)
    repo.project().repro()
    repo.commit("v1")
    repo.gen({"raw.txt": "d\nc\n"})
    repo.project().repro()
    repo.commit("v2")
    dry = repo.run("gc", "--all-commits", "--dry-run", check=True)
    assert "would remove 0 object(s)" in dry.stdout
    asked = repo.run("gc", stdin=subprocess.DEVNULL)  # no scope and no terminal: refused
    assert asked.returncode == 2 and "Traceback" not in asked.stderr, asked.stderr
    assert "gc would delete 2 object(s)" in asked.stderr and "nothing was deleted" in asked.stderr
    assert "-a" in asked.stderr and "removed" not in asked.stdout
    assert repo.run("gc", "--all-commits", "--dry-run", check=True).stdout.count(
        "would remove 0 object(s)") == 1  # nothing went
    done = repo.run("gc", "-w", check=True)
    assert "removed 2 object(s)" in done.stdout  # v1's sorted.txt and its manifest
    repo.git("checkout", "-q", "HEAD~1")
    failed = repo.run("checkout")
    assert failed.returncode == 1 and "not in the local cache" in failed.stderr
    repo.git("checkout", "-q", "main")
    assert repo.run("checkout", check=True).returncode == 0


@pytest.mark.parametrize("damage", ["truncated", "missing"])
def test_gc_refuses_a_lock_it_cannot_read_and_removes_nothing(repo: Repo, damage: str) -> None:
    # gc deletes what the lock does not name: a damaged lock named nothing, so
    # gc emptied the cache (and, with --remote, the shared remote).
    pipeline(repo)
    repo.project().repro()
    repo.commit("v1")
    before = set(repo.project().cache.all_objects())
    lock = repo.path / "gitpipe.lock"
    if damage == "truncated":
        lock.write_text("stages: [\n")
    else:
        lock.unlink()
    for args in (["gc"], ["gc", "--dry-run"]):
        done = repo.run(*args)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "gitpipe.lock" in done.stderr and "Traceback" not in done.stderr
    assert set(repo.project().cache.all_objects()) == before
    if damage == "missing":  # what any commit names is a lock to keep by
        kept = repo.run("gc", "--all-commits", check=True)
        assert "removed 0 object(s)" in kept.stdout


@pytest.mark.parametrize("link_type", ["copy", "hardlink", "symlink"])
def test_link_types(repo: Repo, link_type: str) -> None:
    pipeline(repo)
    repo.gen({".gitpipe/config.yaml": {"cache": {"type": link_type}}})
    repo.project().repro()
    (repo.path / "out/sorted.txt").unlink()
    repo.run("checkout", check=True)
    target = repo.path / "out/sorted.txt"
    assert target.read_text() == "a\nb\n"
    assert target.is_symlink() == (link_type == "symlink")
    obj = repo.project().cache.path(repo.project().cache.manifest(
        repo.project().lock_entries["build"].outs[0].digest)[1].digest)
    assert (os.stat(target).st_ino == obj.stat().st_ino) == (link_type != "copy")


def test_file_outs_checked_out_as_symlinks_are_no_way_out(repo: Repo) -> None:
    # A symlink checkout makes a file out (and the next stage's dep) a link
    # into .gitpipe/cache: the check that refuses paths leading into
    # .gitpipe or out of the project knows the cache's own objects.
    repo.gen({"a.txt": "a\n", ".gitpipe/config.yaml": {"cache": {"type": "symlink"}}})
    repo.spec({"s": {"cmd": "cp a.txt o.txt", "deps": ["a.txt"], "outs": ["o.txt"]},
               "t": {"cmd": "cp o.txt t.txt", "deps": ["o.txt"], "outs": ["t.txt"]}})
    repo.run("repro", check=True)
    for out in ("o.txt", "t.txt"):
        (repo.path / out).unlink()
    repo.run("checkout", check=True)
    assert (repo.path / "o.txt").is_symlink()
    for args in (["validate"], ["status", "--check"], ["repro", "--dry-run"]):
        done = repo.run(*args)
        assert done.returncode == 0, (args, done.stdout + done.stderr)
    repo.gen({"a.txt": "b\n"})
    done = repo.run("repro")
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.read("t.txt") == "b\n"


@pytest.mark.parametrize("link_type", ["hardlink", "symlink"])
def test_an_edit_in_place_through_a_link_never_comes_back_as_the_out(repo: Repo,
                                                                     link_type: str) -> None:
    # With hardlink or symlink checkouts the work-tree file is the cache object:
    # a write in place (root, or after chmod u+w) changes the object too.
    # status must say so, and no checkout may hand the changed bytes out again
    # under the object's name.
    pipeline(repo)
    repo.gen({".gitpipe/config.yaml": {"cache": {"type": link_type}}})
    repo.project().repro()
    target = repo.path / "out/sorted.txt"
    target.unlink()
    repo.run("checkout", check=True)
    assert os.stat(target).st_nlink == 2 or target.is_symlink()
    os.chmod(target, 0o644)
    with open(target, "r+") as handle:  # in place: the same inode
        handle.write("z")
    assert "outs: out/ modified" in repo.run("status", check=True).stdout
    kept = repo.run("checkout")
    assert kept.returncode == 1 and "Traceback" not in kept.stderr
    if link_type == "hardlink":  # what the user wrote is not in the cache: kept
        assert "was modified and its content is not in the cache" in kept.stderr
        assert target.read_text() == "z\nb\n"
    else:  # the out holds a link into the cache: the object it names is refused
        assert "is corrupt" in kept.stderr
    forced = repo.run("checkout", "--force")
    assert forced.returncode == 1 and "Traceback" not in forced.stderr
    assert "is corrupt" in forced.stderr and "fsck --repair" in forced.stderr
    assert not target.exists()
    repo.run("fsck", "--repair", check=True)
    repo.run("repro", check=True)
    assert target.read_text() == "a\nb\n"


def test_unknown_link_type_is_bad_input(repo: Repo) -> None:
    pipeline(repo)
    repo.gen({".gitpipe/config.yaml": {"cache": {"type": "teleport"}}})
    done = repo.run("repro")
    assert done.returncode == 2 and "cache.type must be one of" in done.stderr \
        and "'teleport'" in done.stderr


def test_remote_commands(repo: Repo, tmp_path) -> None:
    pipeline(repo)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "r"), check=True)
    repo.run("remote", "add", "s3", "s3://bucket/prefix", check=True)
    repo.run("remote", "modify", "s3", "endpoint_url", "http://127.0.0.1:9", check=True)
    listed = repo.run("remote", "list", check=True).stdout.splitlines()
    assert listed == ["s3\ts3://bucket/prefix\tendpoint_url=http://127.0.0.1:9",
                      f"store\t{tmp_path / 'r'} (default)"]
    dup = repo.run("remote", "add", "store", "x")
    assert dup.returncode == 2 and "remote 'store' exists" in dup.stderr
    repo.run("remote", "remove", "store", check=True)
    assert "store" not in repo.run("remote", "list").stdout
    push = repo.run("push", "-r", "nope")
    assert push.returncode == 2 and "unknown remote 'nope'" in push.stderr


def test_no_remote_is_a_clear_error(repo: Repo) -> None:
    pipeline(repo)
    done = repo.run("push")
    assert done.returncode == 2 and "no remote is configured" in done.stderr


def test_missing_filesystem_names_the_extra(repo: Repo) -> None:
    pipeline(repo)
    repo.run("remote", "add", "-d", "gcs", "gs://bucket/x", check=True)
    repo.project().repro()
    done = repo.run("push")
    assert done.returncode == 2
    assert "needs the 'gs' filesystem" in done.stderr and "gcsfs" in done.stderr


def test_restored_outcome_in_report(repo: Repo) -> None:
    pipeline(repo)
    repo.project().repro()
    (repo.path / "out/sorted.txt").unlink()
    report = repo.project().repro()
    assert report.results[0].outcome is Outcome.RESTORED
    assert repo.read("out/sorted.txt") == "a\nb\n"


def test_pull_writes_workspace_files_from_the_download_itself(repo: Repo, tmp_path,
                                                              monkeypatch) -> None:
    # A pull into a fresh clone must not copy anything out of the cache a second
    # time: each file of a directory out comes from the one verified download.
    from gitpipe.storage.cache import Cache
    from gitpipe.usecases import transfer

    pipeline(repo)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    repo.run("repro", check=True)
    repo.run("push", check=True)
    repo.commit("results")
    laptop = repo.clone_to(tmp_path / "laptop")
    copied: list[Path] = []
    real = Cache._copy_verified
    monkeypatch.setattr(Cache, "_copy_verified",
                        lambda self, obj, dest: copied.append(dest) or real(self, obj, dest))
    project = laptop.project()
    summary, report = transfer.pull(project, project.remote())
    assert report.restored == ["out"] and summary.files == 3  # 2 files and the manifest
    assert copied == []
    assert laptop.read("out/sorted.txt") == "a\nb\n"
    assert laptop.run("status", "--check").returncode == 0


def test_fsck_names_the_out_a_bad_object_is_and_how_to_get_it_back(repo: Repo) -> None:
    """`bad: xxh3:…` alone left the user to find which out it was; and once
    `--repair` removed it, the out the lock names was missing with no word of
    how to have it again."""
    repo.gen({"raw.txt": "a\n"})
    repo.spec({"train": {"cmd": "cp raw.txt model.bin", "deps": ["raw.txt"],
                         "outs": ["model.bin"]}}, commit="spec")
    repo.run("repro", check=True)
    digest = repo.project().lock_entries["train"].outs[0].digest
    obj = repo.project().cache.path(digest)
    os.chmod(obj, 0o644)
    obj.write_text("flipped")
    found = repo.run("fsck")
    assert found.returncode == 1
    assert found.stdout.splitlines()[0] == f"bad: {digest} (model.bin, stage 'train')", \
        found.stdout
    repaired = repo.run("fsck", "--repair")
    assert repaired.returncode == 0, repaired.stderr
    assert f"removed: {digest} (model.bin, stage 'train')" in repaired.stdout.splitlines()
    assert repaired.stdout.splitlines()[-1] == (
        "hint: 'gitpipe fetch' brings the missing outs back from a remote that has them; "
        "'gitpipe repro -f STAGE' computes them again"), repaired.stdout
