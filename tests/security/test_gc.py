"""Attacks on gc and fsck --repair: a shared remote, another clone's branch, the
corners of git history, a missing manifest, symlinks planted in the cache and in a
folder remote. Each compares the whole temp tree (and an S3 bucket) before and after."""

from __future__ import annotations

import hashlib
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from gitpipe.storage.remote import object_key
from tests.conftest import GIT_ENV, Repo
from tests.security.conftest import Snapshot, assert_only_changed, snapshot

STAGES = {
    "prep": {"cmd": "mkdir -p data && sort raw.txt > data/clean.txt && echo x > data/extra.txt",
             "deps": ["raw.txt"], "outs": ["data/"]},
    "train": {"cmd": "cat data/clean.txt data/clean.txt > model.bin",
              "deps": ["data/"], "outs": ["model.bin"]},
}
# What running gitpipe in a clone may change besides what a test declares: its
# own machine-local state (never the cache or a remote).
LOCAL_STATE = (".gitpipe/tmp", ".gitpipe/state.db", ".gitpipe/project.lock")


class Store:
    """The shared remote of a test: a folder in the temp tree, or an S3 bucket."""

    def __init__(self, url: str, tmp_path: Path) -> None:
        self.url = url
        self.folder = None if url.startswith("s3://") else Path(url)
        self.tmp_path = tmp_path

    def contents(self) -> dict[str, str]:
        """Key → sha256 of every object (an S3 bucket is outside the temp tree)."""
        if self.folder is not None:
            return {}
        import boto3

        bucket, _, prefix = self.url.removeprefix("s3://").partition("/")
        client = boto3.session.Session().client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
        found = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                     Prefix=prefix):
            for item in page.get("Contents", []):
                body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                found[item["Key"].removeprefix(prefix + "/")] = hashlib.sha256(body).hexdigest()
        return found

    def keys_of(self, digests: set[str]) -> set[str]:
        return {object_key(digest) for digest in digests}

    def in_tree(self, keys: set[str]) -> list[str]:
        """The temp-tree paths of these remote keys (a folder remote only)."""
        if self.folder is None:
            return []
        base = os.path.relpath(self.folder, self.tmp_path)
        return [f"{base}/{key}" for key in keys]


@pytest.fixture(params=["folder", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "folder":
        return Store(str(tmp_path / "store"), tmp_path)
    return Store(str(request.getfixturevalue("s3_bucket")), tmp_path)


def project_with_remote(make_repo, url: str) -> Repo:
    origin = make_repo("origin")
    origin.gen({"raw.txt": "b\na\n"})
    origin.spec(STAGES)
    origin.run("init", check=True)
    origin.run("remote", "add", "--default", "store", url, check=True)
    origin.own_remote()  # gc --yes deletes from a URL of the user's own config
    origin.commit("pipeline")
    origin.run("repro", "--push", check=True)
    origin.commit("results")
    return origin


def objects_of(repo: Repo) -> set[str]:
    """Every object the work tree's lock names (a directory's files included)."""
    project = repo.project()
    return {obj for entry in project.lock_entries.values() for out in entry.outs
            for obj in project.cache.objects_of(out.digest)}


def new_outs(repo: Repo, raw: str) -> set[str]:
    """Run the pipeline on other input and push: objects only this lock names."""
    before = objects_of(repo)
    repo.gen({"raw.txt": raw})
    repo.run("repro", "--push", check=True)
    return objects_of(repo) - before


class Garbage(NamedTuple):
    objects: set[str]  # digests
    runs: set[str]  # remote keys of the run entries naming them


def orphan(repo: Repo) -> Garbage:
    """Objects (and run entries) pushed from a run that no commit, index or work
    tree ever recorded."""
    lock, raw = repo.read("gitpipe.lock"), repo.read("raw.txt")
    runs = set(repo.project().remote().sizes("runs"))
    made = new_outs(repo, "orphan\n")
    repo.gen({"gitpipe.lock": lock, "raw.txt": raw})
    repo.run("checkout", check=True)
    return Garbage(made, set(repo.project().remote().sizes("runs")) - runs)


def remote_keys(repo: Repo) -> set[str]:
    return set(repo.project().remote().sizes("files"))


def allowed(*clones: Repo, fetched: bool = False) -> list[str]:
    """The clones' local state; `fetched`: and the manifests gc brings into their cache."""
    parts = [*LOCAL_STATE, ".gitpipe/cache"] if fetched else LOCAL_STATE
    return [f"{clone.path.name}/{part}" for clone in clones for part in parts]


def refused(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode != 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


def both(tmp_path: Path, store: Store) -> tuple[Snapshot, dict[str, str]]:
    return snapshot(tmp_path), store.contents()


# -- two clones, one remote ------------------------------------------------------------

def two_clones(make_repo, store: Store) -> tuple[Repo, Repo, set[str]]:
    """alice and bob cloned one project; bob pushed a branch's objects to the shared
    remote and the branch to origin. Returns (alice, bob, bob's objects)."""
    origin = project_with_remote(make_repo, store.url)
    alice = origin.clone_to(origin.path.parent / "alice")
    bob = origin.clone_to(origin.path.parent / "bob")
    for clone in (alice, bob):
        clone.run("pull", check=True)
    alice.own_remote()
    bob.git("checkout", "-q", "-b", "feature")
    bobs = new_outs(bob, "z\ny\n")
    bob.commit("feature results")
    bob.git("push", "-q", "origin", "feature")
    return alice, bob, bobs


def test_remote_gc_without_a_scope_is_refused(make_repo, tmp_path: Path, store: Store) -> None:
    alice, _, bobs = two_clones(make_repo, store)
    before, remote_before = both(tmp_path, store)
    done = alice.run("gc", "--remote", "store", "--yes")
    refused(done, "needs a scope", "--all-commits")
    assert done.returncode == 2
    assert_only_changed(before, snapshot(tmp_path), allowed(alice))
    assert store.contents() == remote_before
    assert store.keys_of(bobs) <= remote_keys(alice)


def test_remote_gc_all_commits_after_a_fetch_keeps_another_clones_branch(
        make_repo, tmp_path: Path, store: Store) -> None:
    alice, _, bobs = two_clones(make_repo, store)
    garbage = orphan(alice)
    alice.git("fetch", "-q", "origin")
    before, remote_before = both(tmp_path, store)
    bobs_runs = set(alice.project().remote().sizes("runs")) - garbage.runs
    done = alice.run("gc", "--remote", "store", "--all-commits", "--yes", check=True)
    assert f"removed {len(garbage.objects)} object(s)" in done.stdout, done.stdout
    gone = store.keys_of(garbage.objects) | garbage.runs
    assert_only_changed(before, snapshot(tmp_path),
                        [*allowed(alice, fetched=True), *store.in_tree(gone)])
    assert remote_before.keys() - store.contents().keys() == (gone if store.folder is None
                                                              else set())
    assert store.keys_of(bobs) <= remote_keys(alice)
    assert set(alice.project().remote().sizes("runs")) == bobs_runs
    carol = Repo(tmp_path / "origin", init=False).clone_to(tmp_path / "carol")
    carol.git("checkout", "-q", "feature")
    carol.run("pull", check=True)
    assert carol.read("model.bin") == "y\nz\ny\nz\n"


# -- every corner of history git keeps --------------------------------------------------

def test_all_commits_keeps_stash_worktrees_heads_indexes_locks_and_reflogs(
        make_repo, tmp_path: Path) -> None:
    store = Store(str(tmp_path / "store"), tmp_path)
    origin = project_with_remote(make_repo, store.url)
    kept: dict[str, set[str]] = {}
    kept["reflog"] = new_outs(origin, "r\n")
    origin.commit("soon only in the reflog")
    origin.git("reset", "-q", "--hard", "HEAD~1")
    origin.run("checkout", check=True)
    for entry in ("older stash entry", "stash"):  # the older one: in refs/stash's reflog only
        kept[entry] = new_outs(origin, f"{entry}\n")
        origin.git("stash", "-q")
        origin.run("checkout", check=True)
    linked = Repo(tmp_path / "linked", init=False)
    origin.git("worktree", "add", "-q", "--detach", str(linked.path))
    kept["worktree HEAD"] = new_outs(linked, "h\n")
    linked.commit("a detached HEAD, on no branch")
    kept["worktree index"] = new_outs(linked, "i\n")
    linked.git("add", "gitpipe.lock")
    linked.gen({"gitpipe.lock": origin.read("gitpipe.lock")})  # only git knows h and i now
    other = Repo(tmp_path / "other", init=False)
    origin.git("worktree", "add", "-q", "--detach", str(other.path))
    kept["worktree lock"] = new_outs(other, "w\n")
    garbage = orphan(origin)
    before = snapshot(tmp_path)
    done = origin.run("gc", "--remote", "store", "--all-commits", "--yes", check=True)
    assert f"removed {len(garbage.objects)} object(s)" in done.stdout, done.stdout
    gone = store.keys_of(garbage.objects) | garbage.runs
    assert_only_changed(before, snapshot(tmp_path),
                        [*allowed(origin, fetched=True), *store.in_tree(gone)])
    present = remote_keys(origin)
    lost = [where for where, digests in kept.items() if not store.keys_of(digests) <= present]
    assert not lost, f"gc --all-commits deleted what these name: {lost}"
    local = origin.run("gc", "--all-commits", check=True)
    assert "removed" in local.stdout
    cache = origin.project().cache
    for where in ("reflog", "older stash entry", "stash"):
        assert all(cache.has(digest) for digest in kept[where]), where


# -- look, then ask --------------------------------------------------------------------

def test_dry_run_lists_and_deletes_nothing(make_repo, tmp_path: Path, store: Store) -> None:
    origin = project_with_remote(make_repo, store.url)
    garbage = orphan(origin)
    before, remote_before = both(tmp_path, store)
    for args in (["--remote", "store", "--workspace"], []):
        done = origin.run("gc", *args, "--dry-run", check=True)
        assert f"would remove {len(garbage.objects)} object(s)" in done.stdout, done.stdout
        for digest in garbage.objects:
            assert f"would remove {digest}" in done.stdout
    assert_only_changed(before, snapshot(tmp_path), allowed(origin))
    assert store.contents() == remote_before


def test_remote_gc_without_a_terminal_or_yes_refuses(make_repo, tmp_path: Path) -> None:
    store = Store(str(tmp_path / "store"), tmp_path)
    origin = project_with_remote(make_repo, store.url)
    garbage = orphan(origin)
    before = snapshot(tmp_path)
    done = origin.run("gc", "--remote", "store", "--all-commits", stdin=subprocess.DEVNULL)
    refused(done, f"{len(garbage.objects)} object(s)", "remote 'store'", "--yes", "--dry-run")
    assert_only_changed(before, snapshot(tmp_path), allowed(origin))


def run_on_a_terminal(repo: Repo, answer: str, *args: str) -> tuple[int, str]:
    """gitpipe with a pseudo-terminal for stdin, answering the prompt."""
    controller, terminal = pty.openpty()
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    process = subprocess.Popen([sys.executable, "-m", "gitpipe", *args], cwd=repo.path,
                               env=env, stdin=terminal, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    os.close(terminal)
    os.write(controller, answer.encode() + b"\n")
    out, err = process.communicate(timeout=120)
    os.close(controller)
    return process.returncode, out + err


def test_remote_gc_asks_on_a_terminal_naming_count_and_remote(make_repo, tmp_path: Path) -> None:
    store = Store(str(tmp_path / "store"), tmp_path)
    origin = project_with_remote(make_repo, store.url)
    garbage = orphan(origin)
    before = snapshot(tmp_path)
    code, output = run_on_a_terminal(origin, "n", "gc", "-r", "store", "-A")
    assert code == 1 and f"delete {len(garbage.objects)} object(s)" in output, output
    assert "remote 'store'" in output and "nothing was deleted" in output
    assert_only_changed(before, snapshot(tmp_path), allowed(origin))
    code, output = run_on_a_terminal(origin, "y", "gc", "-r", "store", "-A")
    assert code == 0 and f"removed {len(garbage.objects)} object(s)" in output, output
    assert not store.keys_of(garbage.objects) & remote_keys(origin)


# -- a manifest gc cannot read ----------------------------------------------------------

def unlink_object(root: Path, digest: str) -> None:
    path = root / object_key(digest)
    os.chmod(path.parent, 0o755)
    path.unlink()


@pytest.mark.parametrize("damage", ["missing", "forged"])
def test_a_missing_manifest_makes_gc_refuse(make_repo, tmp_path: Path, store: Store,
                                            damage: str) -> None:
    # As if the push of data/ was cut off after its files, before its manifest.
    origin = project_with_remote(make_repo, store.url)
    manifest = origin.project().lock_entries["prep"].outs[0].digest
    cache = origin.path / ".gitpipe/cache"
    unlink_object(cache, manifest)
    if damage == "forged":  # a manifest that names nothing, under the real name
        (cache / object_key(manifest)).write_text("[]")
    remote = origin.project().remote()
    remote.fs.rm_file(remote.full(object_key(manifest)))
    before, remote_before = both(tmp_path, store)
    for args in (["--remote", "store", "--all-commits", "--yes"], ["--all-commits"], []):
        done = origin.run("gc", *args)
        refused(done, "data", "'prep'", manifest, "removes nothing")
    assert_only_changed(before, snapshot(tmp_path), allowed(origin))
    assert store.contents() == remote_before


# -- symlinks planted in the cache or a folder remote -----------------------------------

NOTES = "docs/guide/notes.txt"


def victim(tmp_path: Path) -> Path:
    """A folder outside every repository, shaped like a cache (three levels deep)."""
    folder = tmp_path / "victim"
    for rel in ("xxh3/ab/cdef", "src/pkg/module.py", NOTES):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(f"precious {rel}\n")
    return folder


def plant(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.parent.stat().st_mode & 0o200 == 0:
        os.chmod(link.parent, 0o755)
    link.symlink_to(target)


def absent_shard(files: Path) -> str:
    """`xxh3/<two hex digits>` that holds no object yet."""
    return next(f"xxh3/{n:02x}" for n in range(256) if not (files / f"xxh3/{n:02x}").exists())


def present_shard(files: Path) -> str:
    return next(f"xxh3/{d.name}" for d in sorted((files / "xxh3").iterdir()))


@pytest.mark.parametrize("where", ["files", "shard", "object", "runs", "runs/prep"])
def test_a_symlink_in_the_cache_never_leads_gc_or_fsck_outside(
        make_repo, tmp_path: Path, where: str) -> None:
    origin = project_with_remote(make_repo, str(tmp_path / "store"))
    target = victim(tmp_path)
    cache = origin.path / ".gitpipe/cache"
    if where == "shard":
        plant(cache / "files" / absent_shard(cache / "files"), target)
    elif where == "object":
        plant(cache / "files" / present_shard(cache / "files") / "0123", target / NOTES)
    else:
        os.rename(cache / where, cache / f"{where}.moved")
        plant(cache / where, target)
    before = snapshot(tmp_path)
    runs = [origin.run(*args) for args in (["gc", "--all-commits"], ["gc"], ["fsck", "--repair"])]
    assert_only_changed(before, snapshot(tmp_path), [*allowed(origin), "origin/.gitpipe/cache"])
    for done in runs:
        assert "Traceback" not in done.stderr, done.stderr
    if where in ("files", "runs"):  # gc refuses to clean a folder reached through a link
        for done in runs[:2]:
            refused(done, f"cache/{where}", "symlink")


def test_a_symlink_in_a_folder_remote_never_leads_gc_or_fsck_outside(
        make_repo, tmp_path: Path) -> None:
    origin = project_with_remote(make_repo, str(tmp_path / "store"))
    target = victim(tmp_path)
    files = tmp_path / "store/files"
    plant(files / absent_shard(files), target)
    plant(files / present_shard(files) / "0123", target / NOTES)
    before = snapshot(tmp_path)
    for args in (["gc", "-r", "store", "-A", "--yes"], ["fsck", "--remote", "store", "--repair"]):
        done = origin.run(*args)
        assert "Traceback" not in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), allowed(origin))



def test_remote_fsck_repair_deletes_only_what_names_an_object(
        make_repo, tmp_path: Path) -> None:
    """fsck --repair on a committed folder remote that holds the user's own
    files: they are neither read as objects nor deleted; a corrupt object is."""
    origin = project_with_remote(make_repo, str(tmp_path / "store"))
    files = tmp_path / "store/files"
    foreign = [files / "photos/2024/cat.jpg", files / "xxh3/ab/notes.txt",
               files / "xxh3/AB/" / ("C" * 30), files / "xxh3/0f/e996",
               files / "xxh3/0f/" / ("e" * 31)]
    plant_own_files(foreign)
    corrupt = files / "xxh3/0f" / ("e" * 30)
    corrupt.write_text("not the bytes this name hashes\n")
    before = snapshot(tmp_path)
    done = origin.run("fsck", "--remote", "store", "--repair")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert "error" not in done.stderr, done.stderr
    assert "removed: xxh3:0f" + "e" * 30 in done.stdout, done.stdout
    assert "photos" not in done.stdout + done.stderr
    assert all(path.read_text() == "the user's own file\n" for path in foreign)
    assert_only_changed(before, snapshot(tmp_path),
                        [*allowed(origin), "store/files/xxh3/0f/" + "e" * 30])

# -- logs --------------------------------------------------------------------------------

def test_gc_keeps_the_newest_logs_of_each_task(make_repo, tmp_path: Path) -> None:
    origin = project_with_remote(make_repo, str(tmp_path / "store"))
    origin.gen({".gitpipe/config.local.yaml": {"core": {"log_retention": 2}}})
    logs = origin.path / ".gitpipe/logs"
    logs.mkdir(exist_ok=True)  # its stages print nothing: no run made a log
    for stamp in ("20240101T000000", "20240102T000000", "20240103T000000"):
        for task in ("prep", "train@2024-01-01"):
            (logs / f"{task}-{stamp}-1.log").write_text(stamp)
    (logs / "notes.txt").write_text("not a log gitpipe wrote")
    dry = origin.run("gc", "--dry-run", check=True)
    assert "would remove log prep-20240101T000000-1.log" in dry.stdout
    origin.run("gc", "-w", check=True)
    left = sorted(p.name for p in logs.iterdir())
    assert "prep-20240101T000000-1.log" not in left
    assert "train@2024-01-01-20240101T000000-1.log" not in left
    assert {"prep-20240103T000000-1.log", "train@2024-01-01-20240102T000000-1.log",
            "notes.txt"} <= set(left)


@pytest.mark.parametrize("scope", [["--all-branches"], ["--rev", "origin/feature"]])
def test_branch_and_rev_scopes_keep_what_they_name(make_repo, tmp_path: Path,
                                                   scope: list[str]) -> None:
    store = Store(str(tmp_path / "store"), tmp_path)
    alice, _, bobs = two_clones(make_repo, store)
    alice.git("fetch", "-q", "origin")
    garbage = orphan(alice)
    done = alice.run("gc", "-r", "store", *scope, "--yes", check=True)
    assert f"removed {len(garbage.objects)} object(s)" in done.stdout, done.stdout
    assert store.keys_of(bobs) <= remote_keys(alice)
    before = snapshot(tmp_path)
    refused(alice.run("gc", "-r", "store", "--rev", "no-such-branch", "--yes"),
            "unknown revision 'no-such-branch'")
    assert_only_changed(before, snapshot(tmp_path), allowed(alice))


def test_remote_gc_deletes_only_what_names_an_object(make_repo, tmp_path: Path) -> None:
    """A committed folder remote may be a folder of the user's that holds other
    files in `files/`: gc deletes only names gitpipe gives objects."""
    origin = project_with_remote(make_repo, str(tmp_path / "store"))
    files = tmp_path / "store/files"
    foreign = [files / "photos/2024/cat.jpg", files / "xxh3/ab/notes.txt",
               files / "xxh3/AB/" / ("C" * 30), files / "xxh3/0f/e996.tmp"]
    plant_own_files(foreign)
    unused = files / "xxh3/0f" / ("e" * 30)
    unused.write_text("an object no lock names\n")
    before = snapshot(tmp_path)
    done = origin.run("gc", "-r", "store", "-A", "--yes")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert all(path.read_text() == "the user's own file\n" for path in foreign)
    assert not unused.exists()
    assert_only_changed(before, snapshot(tmp_path),
                        [*allowed(origin, fetched=True), "store/files/xxh3/0f/" + "e" * 30])


def plant_own_files(paths: list[Path]) -> None:
    """The user's own files in a folder remote's `files/`, none an object."""
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("the user's own file\n")
