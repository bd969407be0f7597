"""Attacks through records: a committed gitpipe.lock, a manifest or run-cache entry
forged on a shared remote, outs git or the user own. Each builds the attack for
real, runs the CLI, and compares the whole temp tree before and after."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import xxhash
import yaml

from gitpipe.storage.cache import run_relpath
from gitpipe.storage.remote import object_key
from tests.conftest import GIT_ENV, Repo, ran_cmd
from tests.security.conftest import assert_only_changed, snapshot

PRECIOUS = "precious: the user's own bytes\n"
# What gitpipe may change in the repository on every command: its own state.
OWN = ("repo/.gitpipe",)


@pytest.fixture(params=["folder", pytest.param("s3", marks=pytest.mark.s3)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A shared remote: a folder in the temp tree, or a bucket on moto's S3 server."""
    if request.param == "folder":
        return str(tmp_path / "store")
    return str(request.getfixturevalue("s3_bucket"))


def file_pipeline(repo: Repo, remote: str | None = None) -> Repo:
    repo.spec({"make": {"cmd": ran_cmd("make", "echo made > out.txt"), "outs": ["out.txt"]}})
    repo.run("init", check=True)
    if remote is not None:
        add_trusting_remote(repo, remote)
    repo.run("repro", check=True)
    repo.commit("pipeline and lock")
    repo.ran()
    return repo


def dir_pipeline(repo: Repo, remote: str) -> Repo:
    repo.spec({"build": {"cmd": ran_cmd("build", "mkdir -p data && echo f > data/f"),
                         "outs": ["data/"]}})
    repo.run("init", check=True)
    add_trusting_remote(repo, remote)
    repo.run("repro", "--push", check=True)
    repo.commit("pipeline and lock")
    repo.ran()
    return repo


def add_trusting_remote(repo: Repo, remote: str) -> None:
    """The default remote, trusting every well-formed run-cache entry: these
    attacks forge the entries' content, which the record rules must catch
    whoever signed them (unsigned ones: tests/security/test_signed.py)."""
    repo.run("remote", "add", "-d", "store", remote, check=True)
    repo.run("remote", "modify", "store", "trust", "any", check=True)


def forge_lock(repo: Repo, task: str, **out: Any) -> None:
    """Rewrite the first out of a lock entry (path and/or hash), then commit it."""
    data = yaml.safe_load(repo.read("gitpipe.lock"))
    data["stages"][task]["outs"][0].update(out)
    repo.gen({"gitpipe.lock": yaml.safe_dump(data, sort_keys=False)}, commit="forged lock")


def plant(repo: Repo, key: str, data: bytes) -> None:
    """Write `key` on the project's remote, as anyone who can push there could."""
    remote = repo.project().remote()
    remote.fs.makedirs(remote.full(key).rsplit("/", 1)[0], exist_ok=True)
    with remote.fs.open(remote.full(key), "wb") as handle:
        handle.write(data)


def forged_manifest(repo: Repo, rows: list[list[Any]]) -> str:
    """Put a manifest with these rows on the remote; its digest."""
    data = json.dumps(rows, separators=(",", ":")).encode()
    digest = f"xxh3:{xxhash.xxh3_128_hexdigest(data)}.dir"
    plant(repo, object_key(digest), data)
    return digest


def forget_cache(repo: Repo) -> None:
    """A fresh clone's view: nothing cached here, everything comes from the remote."""
    shutil.rmtree(repo.path / ".gitpipe" / "cache")


def forget_lock(repo: Repo) -> None:
    """A run the lock does not record (a stage whose inputs match its lock entry
    is restored from the outs the lock records): only the run-cache restores it."""
    (repo.path / "gitpipe.lock").unlink()


def refused(done: Any, *words: str) -> None:
    assert done.returncode != 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


# -- a committed gitpipe.lock -------------------------------------------------------

@pytest.mark.parametrize(("path", "problem"), [
    ("../victim.txt", "is not normalised"),
    ("ABSOLUTE", "is absolute"),
    ("link/victim.txt", "passes through the symlink 'link'"),
    ("other.txt", "is not an out gitpipe.yaml declares"),
])
def test_checkout_refuses_a_lock_out_it_may_not_write(repo: Repo, tmp_path: Path, path: str,
                                                      problem: str) -> None:
    victim = tmp_path / "outside" / "victim.txt"
    victim.parent.mkdir()
    victim.write_text(PRECIOUS)
    file_pipeline(repo)
    repo.gen({"other.txt": PRECIOUS})
    (repo.path / "link").symlink_to("../outside")
    if path == "link/victim.txt":  # declared, so that only the symlink is wrong
        spec = yaml.safe_load(repo.read("gitpipe.yaml"))
        spec["stages"]["make"]["outs"] = [path]
        repo.gen({"gitpipe.yaml": spec})
    path = str(victim) if path == "ABSOLUTE" else path
    forge_lock(repo, "make", path=path)
    before = snapshot(tmp_path)
    done = repo.run("checkout")
    refused(done, "gitpipe.lock: lock entry 'make'", repr(path), problem, "nothing was written")
    assert_only_changed(before, snapshot(tmp_path), OWN)
    assert victim.read_text() == PRECIOUS


@pytest.mark.parametrize("path", ["../victim.txt", "link/victim.txt"])
def test_pull_refuses_a_lock_out_outside(make_repo, tmp_path: Path, store_url: str,
                                         path: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text(PRECIOUS)
    repo = file_pipeline(make_repo("repo"), store_url)
    repo.run("push", check=True)
    (repo.path / "link").symlink_to("..")
    spec = yaml.safe_load(repo.read("gitpipe.yaml"))
    spec["stages"]["make"]["outs"] = [path] if path.startswith("link") else ["out.txt"]
    repo.gen({"gitpipe.yaml": spec})
    forge_lock(repo, "make", path=path)
    forget_cache(repo)
    before = snapshot(tmp_path)
    done = repo.run("pull")
    refused(done, "gitpipe.lock: lock entry 'make'", repr(path))
    assert_only_changed(before, snapshot(tmp_path), OWN)
    assert victim.read_text() == PRECIOUS


def test_a_lock_digest_that_is_no_object_name_is_refused(repo: Repo, tmp_path: Path) -> None:
    file_pipeline(repo)
    forge_lock(repo, "make", hash="xxh3:../../../../victim")
    (repo.path / "out.txt").unlink()
    before = snapshot(tmp_path)
    done = repo.run("checkout")
    refused(done, "lock entry 'make'", "is not an object digest")
    assert_only_changed(before, snapshot(tmp_path), OWN)


# -- a directory manifest forged on the remote ----------------------------------------

FORGED_MANIFESTS = {
    "climbs out": [["../../x", "FILE", 2]],
    "absolute": [["/abs", "FILE", 2]],
    "duplicate": [["a", "FILE", 2], ["a", "FILE", 2]],
    "under a symlink": [["sub", "link:.", 0], ["sub/file", "FILE", 2]],
    "symlink escaping": [["sub", "link:../../..", 0]],
    "symlink to /etc": [["etc", "link:/etc", 0]],
}


@pytest.mark.parametrize("case", sorted(FORGED_MANIFESTS))
def test_pull_refuses_a_forged_manifest(make_repo, tmp_path: Path, store_url: str,
                                        case: str) -> None:
    repo = dir_pipeline(make_repo("repo"), store_url)
    honest = repo.project().lock_entries["build"].outs[0].digest
    file_digest = repo.project().cache.manifest(honest)[0].digest
    rows = [[name, digest.replace("FILE", file_digest), size]
            for name, digest, size in FORGED_MANIFESTS[case]]
    forge_lock(repo, "build", hash=forged_manifest(repo, rows))
    forget_cache(repo)
    shutil.rmtree(repo.path / "data")  # as in a fresh clone
    before = snapshot(tmp_path)
    done = repo.run("pull")
    refused(done, "remote 'store': directory manifest xxh3:", "lock entry 'build'")
    assert_only_changed(before, snapshot(tmp_path), OWN)


@pytest.mark.parametrize("case", ["climbs out", "under a symlink", "symlink to /etc"])
def test_repro_pull_ignores_a_forged_manifest_and_runs(make_repo, tmp_path: Path,
                                                       store_url: str, case: str) -> None:
    repo = dir_pipeline(make_repo("repo"), store_url)
    entry = repo.project().lock_entries["build"]
    file_digest = repo.project().cache.manifest(entry.outs[0].digest)[0].digest
    rows = [[name, digest.replace("FILE", file_digest), size]
            for name, digest, size in FORGED_MANIFESTS[case]]
    forged = forged_manifest(repo, rows)
    forge_lock(repo, "build", hash=forged)
    run_entry = json.dumps([["data", forged, 0]]).encode()
    plant(repo, run_relpath("build", entry.fingerprint), run_entry)
    forget_cache(repo)
    shutil.rmtree(repo.path / "data")
    before = snapshot(tmp_path)
    done = repo.run("repro", "--pull")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert f"remote 'store': directory manifest {forged}" in done.stderr
    assert "the stage runs instead" in done.stderr
    assert repo.ran() == ["build"]
    assert_only_changed(before, snapshot(tmp_path),
                        (*OWN, "repo/data", "repo/gitpipe.lock", "repo/runs.log"))


# -- run-cache entries forged on the remote -------------------------------------------

@pytest.mark.parametrize(("paths", "problem"), [
    (["../escape.txt"], "is not normalised"),
    (["other.txt"], "not the declared ['out.txt']"),
    (["out.txt", "other.txt"], "not the declared ['out.txt']"),
])
def test_repro_pull_ignores_a_forged_run_entry(make_repo, tmp_path: Path, store_url: str,
                                               paths: list[str], problem: str) -> None:
    repo = file_pipeline(make_repo("repo"), store_url)
    repo.run("push", check=True)
    entry = repo.project().lock_entries["make"]
    digest = entry.outs[0].digest
    plant(repo, run_relpath("make", entry.fingerprint),
          json.dumps([[path, digest, 5] for path in paths]).encode())
    forget_cache(repo)
    forget_lock(repo)
    (repo.path / "out.txt").unlink()
    before = snapshot(tmp_path)
    done = repo.run("repro", "--pull")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "remote 'store': run-cache entry runs/make/" in done.stderr
    assert problem in done.stderr and "the stage runs instead" in done.stderr
    assert repo.ran() == ["make"]
    assert not (tmp_path / "escape.txt").exists()
    assert_only_changed(before, snapshot(tmp_path),
                        (*OWN, "repo/out.txt", "repo/runs.log", "repo/gitpipe.lock"))


@pytest.mark.parametrize("body", [b'{"out.txt": "x"}', b'[["out.txt"]]', b"not json",
                                  b'[["out.txt", "xxh3:00", "big"]]'])
def test_a_malformed_run_entry_warns_runs_the_stage_and_fsck_reports_it(
        make_repo, tmp_path: Path, store_url: str, body: bytes) -> None:
    repo = file_pipeline(make_repo("repo"), store_url)
    repo.run("push", check=True)
    fingerprint = repo.project().lock_entries["make"].fingerprint
    key = run_relpath("make", fingerprint)
    plant(repo, key, body)
    forget_cache(repo)
    forget_lock(repo)
    (repo.path / "out.txt").unlink()
    done = repo.run("repro", "--pull")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert f"remote 'store': run-cache entry {key}" in done.stderr
    assert repo.ran() == ["make"]
    checked = repo.run("fsck", "--remote", "store")
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    assert f"malformed: {key}: " in checked.stdout
    # One pushed under a scope (push --scope) is checked the same way.
    plant(repo, f"scopes/pr-1/{key}", body)
    checked = repo.run("fsck", "--remote", "store")
    assert checked.returncode == 1 and f"malformed: scopes/pr-1/{key}: " in checked.stdout
    # A local one too: fsck of the cache names it.
    (repo.path / ".gitpipe/cache/runs/make/0badc0de").write_bytes(body)
    checked = repo.run("fsck")
    assert checked.returncode == 1 and "malformed: runs/make/0badc0de: " in checked.stdout


# -- outs git or the user own -----------------------------------------------------------

@pytest.mark.parametrize("out", ["out.txt", "data/"])
def test_repro_refuses_an_out_git_tracks(repo: Repo, tmp_path: Path, out: str) -> None:
    repo.spec({"make": {"cmd": ran_cmd("make", "mkdir -p data && echo new > data/f && "
                                               "echo new > out.txt"), "outs": [out]}})
    repo.gen({"out.txt": PRECIOUS, "data/f": PRECIOUS}, commit="outs committed by mistake")
    before = snapshot(tmp_path)
    tracked = "out.txt' is tracked by git" if out == "out.txt" else \
        "out 'data' holds 'data/f', which git tracks"
    # validate says it too, rather than "valid" for a repro that is refused.
    refused(repo.run("validate"), "stage 'make'", tracked)
    done = repo.run("repro")
    refused(done, "stage 'make'", tracked, "nothing was run or written")
    assert repo.ran() == []
    assert_only_changed(before, snapshot(tmp_path), OWN)


def test_checkout_refuses_an_out_git_tracks(repo: Repo, tmp_path: Path) -> None:
    file_pipeline(repo)
    repo.git("add", "-f", "out.txt")
    repo.gen({"out.txt": PRECIOUS}, commit="the out committed by mistake")
    before = snapshot(tmp_path)
    refused(repo.run("checkout", "--force"), "stage 'make': out 'out.txt' is tracked by git")
    assert_only_changed(before, snapshot(tmp_path), OWN)


def test_a_first_run_keeps_files_already_in_its_directory_out(repo: Repo,
                                                              tmp_path: Path) -> None:
    repo.spec({"build": {"cmd": ran_cmd("build", "mkdir -p data && echo f > data/f"),
                         "outs": ["data/"]}})
    repo.run("init", check=True)
    repo.commit("pipeline")
    repo.gen({"data/precious.txt": PRECIOUS})
    before = snapshot(tmp_path)
    done = repo.run("repro")
    refused(done, "out 'data' already holds files gitpipe did not write", "--force")
    assert repo.ran() == []
    assert_only_changed(before, snapshot(tmp_path), OWN)
    done = repo.run("repro", "--force")
    assert done.returncode == 0, done.stderr
    assert not (repo.path / "data/precious.txt").exists()
    assert repo.read("data/f") == "f\n"


def test_checkout_leaves_a_hand_modified_out_unless_forced(repo: Repo, tmp_path: Path) -> None:
    file_pipeline(repo)
    repo.spec({"make": {"cmd": ran_cmd("make", "echo made > out.txt"), "outs": ["out.txt"]},
               "copy": {"cmd": "cp out.txt copy.txt", "deps": ["out.txt"],
                        "outs": ["copy.txt"]}})
    repo.run("repro", check=True)
    repo.commit("two stages")
    repo.gen({"out.txt": PRECIOUS})
    (repo.path / "copy.txt").unlink()
    before = snapshot(tmp_path)
    done = repo.run("checkout")
    refused(done, "out.txt (stage 'make') was modified", "left as it is", "--force")
    assert "checked out 1 out(s)" in done.stdout  # the others are carried on with
    assert_only_changed(before, snapshot(tmp_path), (*OWN, "repo/copy.txt"))
    assert repo.read("out.txt") == PRECIOUS
    assert repo.run("checkout", "--force").returncode == 0
    assert repo.read("out.txt") == "made\n"


def test_pull_leaves_a_hand_modified_out_unless_forced(make_repo, tmp_path: Path,
                                                       store_url: str) -> None:
    repo = file_pipeline(make_repo("repo"), store_url)
    repo.run("push", check=True)
    forget_cache(repo)
    repo.gen({"out.txt": PRECIOUS})
    before = snapshot(tmp_path)
    refused(repo.run("pull"), "out.txt (stage 'make') was modified", "left as it is")
    assert_only_changed(before, snapshot(tmp_path), OWN)
    assert repo.read("out.txt") == PRECIOUS
    assert repo.run("pull", "--force").returncode == 0
    assert repo.read("out.txt") == "made\n"


def test_post_checkout_hook_leaves_a_hand_modified_out(repo: Repo, tmp_path: Path) -> None:
    file_pipeline(repo)
    repo.run("hooks", "install", check=True)
    repo.git("checkout", "-q", "-b", "other")
    repo.gen({"out.txt": PRECIOUS})
    before = snapshot(tmp_path)
    switched = subprocess.run(["git", "checkout", "main"], cwd=repo.path, capture_output=True,
                              text=True, env={**os.environ, **GIT_ENV}, check=True)
    assert "out.txt (stage 'make') was modified" in switched.stderr
    assert_only_changed(before, snapshot(tmp_path), OWN)
    assert repo.read("out.txt") == PRECIOUS


def test_a_lock_entry_for_a_stage_the_spec_lacks_is_left_alone(repo: Repo,
                                                             tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text(PRECIOUS)
    file_pipeline(repo)
    data = yaml.safe_load(repo.read("gitpipe.lock"))
    planted = dict(data["stages"]["make"])
    planted["outs"] = [{**planted["outs"][0], "path": "../victim.txt"}]
    data["stages"]["ghost"] = planted
    repo.gen({"gitpipe.lock": yaml.safe_dump(data, sort_keys=False)}, commit="planted entry")
    (repo.path / "out.txt").unlink()
    before = snapshot(tmp_path)
    done = repo.run("checkout")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "entry for 'ghost', which gitpipe.yaml does not declare" in done.stderr
    assert_only_changed(before, snapshot(tmp_path), (*OWN, "repo/out.txt"))
    assert victim.read_text() == PRECIOUS


@pytest.mark.parametrize("field,value", [
    ("fingerprint", "xxh3:../../home/.bashrc"),
    ("fingerprint", "xxh3:../../../../tmp/secret"),
    ("name", ".."),
    ("name", "make/../../../home"),
])
def test_push_never_reads_or_writes_a_key_a_forged_lock_entry_names(
        repo: Repo, tmp_path: Path, store_url: str, field: str, value: str) -> None:
    """A lock entry's name and fingerprint become the run-cache key that push reads
    from the cache and writes to the remote; forged, they would name any file."""
    file_pipeline(repo, store_url)
    repo.run("push", check=True)
    secret = tmp_path / "home" / ".bashrc"
    secret.parent.mkdir()
    secret.write_text("the user's own shell setup\n")
    data = yaml.safe_load(repo.read("gitpipe.lock"))
    entry = dict(data["stages"]["make"])
    if field == "fingerprint":
        entry["fingerprint"] = value
        data["stages"]["make"] = entry
    else:
        data["stages"][value] = entry
    repo.gen({"gitpipe.lock": yaml.safe_dump(data, sort_keys=False)}, commit="forged lock")
    repo.run("hooks", "install", check=True)
    keys_before = remote_keys(repo)
    before = snapshot(tmp_path)
    done = repo.run("push")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "gitpipe.lock: stage" in done.stderr and "nothing" not in done.stdout, done.stderr
    # The pre-push hook pushes the same way: it refuses too, so git's push fails.
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    hook = subprocess.run(["git", "push", "-q", str(bare), "HEAD:main"], cwd=repo.path,
                          env={**os.environ, **GIT_ENV}, capture_output=True, text=True)
    assert hook.returncode != 0 and "gitpipe.lock: stage" in hook.stderr, hook.stderr
    assert secret.read_text() == "the user's own shell setup\n"
    assert_only_changed(before, snapshot(tmp_path), [*OWN, "origin.git"])
    assert remote_keys(repo) == keys_before


def remote_keys(repo: Repo) -> set[str]:
    """Every key on the project's remote, whatever its kind (a bucket is not in
    the temp tree's snapshot)."""
    remote = repo.project().remote()
    remote.fs.invalidate_cache()
    return {path.removeprefix(remote.base.rstrip("/") + "/")
            for path in remote.fs.find(remote.base)}


def test_the_index_is_read_as_bytes_to_rule_out_tracked_outs(repo: Repo) -> None:
    """`may_track` answers False only where the index certainly names none of the
    paths (repro then asks git nothing); every other case goes to git."""
    from gitpipe.trust.dotdir import may_track

    repo.gen({"src/a.py": "a\n", "data/raw/x.csv": "x\n", "sub/proj/in.txt": "i\n"},
             commit="tracked files")
    root = str(repo.path)
    assert may_track(root, ["src/a.py"])          # a tracked file
    assert may_track(root, ["data/raw"])          # a directory holding tracked files
    assert may_track(root, ["data/raw/"])
    assert not may_track(root, ["out.txt", "data/clean", "model/"])
    assert may_track(str(repo.path / "sub/proj"), ["in.txt"])   # a project in a subfolder
    assert not may_track(str(repo.path / "sub/proj"), ["out.txt"])
    repo.git("update-index", "--index-version", "4")   # compressed names: git must say
    assert (repo.path / ".git/index").read_bytes()[:8] == b"DIRC\0\0\0\4"
    assert may_track(root, ["out.txt"])
    repo.git("update-index", "--index-version", "2")
    assert not may_track(root, ["out.txt"])
    repo.gen({"zz/last.txt": "z\n"}, commit="an entry after the extended one")
    (repo.path / "new.txt").write_text("n\n")
    repo.git("add", "--intent-to-add", "new.txt")
    assert (repo.path / ".git/index").read_bytes()[:8] == b"DIRC\0\0\0\3"   # extended flags
    assert may_track(root, ["new.txt"]) and may_track(root, ["zz/last.txt"])
    assert may_track(root, ["zz"]) and not may_track(root, ["zz/l", "out.txt", "z"])
    repo.git("update-index", "--split-index")
    assert list(repo.path.joinpath(".git").glob("sharedindex.*")), "the index is not split"
    assert may_track(root, ["out.txt"])


def test_a_sparse_index_goes_to_git(repo: Repo) -> None:
    """A sparse index holds a folder outside the sparse cone as one entry, so
    the bytes name none of the files in it: git must say what it tracks."""
    from gitpipe.trust.dotdir import may_track, tracked_parts

    repo.gen({"src/a.py": "a\n", "models/m.bin": "m\n", ".gitpipe/cache/ab/cd": "c\n"},
             commit="tracked files")
    repo.git("sparse-checkout", "init", "--cone")
    repo.git("config", "index.sparse", "true")
    repo.git("sparse-checkout", "set", "src")
    assert b"models/\0" in (repo.path / ".git/index").read_bytes(), "the index is not sparse"
    root = str(repo.path)
    assert may_track(root, ["models/m.bin"])
    assert may_track(root, ["models"])
    assert ".gitpipe/cache" in "".join(tracked_parts(root).values())


def test_a_committed_symlink_loop_as_a_dep_is_refused_naming_it(
        repo: Repo, tmp_path: Path) -> None:
    # git keeps a symlink to itself; following it fails with ELOOP, which is
    # no "missing" ("unexpected OSError" before).
    repo.spec({"s": {"cmd": "cat a.txt > o.txt", "deps": ["a.txt"], "outs": ["o.txt"]}})
    (repo.path / "a.txt").symlink_to("a.txt")
    repo.run("init", check=True)
    repo.commit("a loop")
    before = snapshot(tmp_path)
    for command in (("status",), ("repro",)):
        done = repo.run(*command)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "unexpected" not in done.stderr and "Traceback" not in done.stderr
        assert "a.txt: cannot be read (too many levels of symbolic links)" in done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])
