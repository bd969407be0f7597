"""A pull from a folder remote (copied by the kernel where it can, through a
buffer where it cannot): the cache and the work tree each get their own copy,
so an edit in place in the work tree never reaches the cache."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Repo

BIG = 3 * 1024 * 1024 + 17  # more than one read of the hash's buffer, not a multiple of it


@pytest.fixture(params=["same file system", "another file system"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """The remote's folder: beside the project, or on tmpfs (/dev/shm), where
    the kernel refuses to copy into the project's file system (EXDEV)."""
    if request.param == "same file system":
        yield tmp_path / "store"
        return
    if not os.access("/dev/shm", os.W_OK):
        pytest.skip("no writable /dev/shm for a second file system")
    base = Path(tempfile.mkdtemp(dir="/dev/shm", prefix="gitpipe-test-"))
    try:
        yield base / "store"
    finally:
        shutil.rmtree(base, ignore_errors=True)


def pulled(make_repo, store: Path, tmp_path: Path) -> tuple[Repo, Repo]:
    origin = make_repo("origin")
    origin.gen({"gen.py": "import os, sys\nos.makedirs('data', exist_ok=True)\n"
                          f"open('data/big.bin', 'wb').write(os.urandom({BIG}))\n"
                          "open('data/small.txt', 'w').write('small\\n')\n"
                          "open('model.bin', 'wb').write(os.urandom(70000))\n"})
    origin.spec({"make": {"cmd": "python3 gen.py", "deps": ["gen.py"],
                          "outs": ["data/", "model.bin"]}})
    origin.run("init", check=True)
    origin.commit("pipeline")
    laptop = origin.pushed_clone(tmp_path / "laptop", store)
    done = laptop.run("pull", check=True)
    # counted in the words push, gc and fsck use for the same cache objects
    assert "fetched 4 object(s)" in done.stdout and "checked out 2 out(s)" in done.stdout
    return origin, laptop


def test_a_pull_writes_the_cache_and_the_work_tree_apart(make_repo, store: Path,
                                                         tmp_path: Path) -> None:
    origin, laptop = pulled(make_repo, store, tmp_path)
    cache = laptop.project().cache
    for rel in ("data/big.bin", "data/small.txt", "model.bin"):
        work = laptop.path / rel
        assert work.read_bytes() == (origin.path / rel).read_bytes()
        assert os.stat(work).st_mode & stat.S_IWUSR and os.stat(work).st_nlink == 1
    for obj in cache.all_objects():
        assert not obj.stat().st_mode & 0o222
    # An edit in place in the work tree (the same inode) leaves the cache whole.
    before = (laptop.path / "data/big.bin").read_bytes()
    with open(laptop.path / "data/big.bin", "r+b") as handle:
        handle.write(b"edited")
    assert laptop.run("fsck", check=True).returncode == 0
    assert "outs: data/ modified" in laptop.run("status", check=True).stdout
    laptop.run("checkout", "--force", check=True)
    assert (laptop.path / "data/big.bin").read_bytes() == before


def _big_model_pushed(make_repo, store: Path, tmp_path: Path) -> tuple[Repo, Repo]:
    """A project whose one out is a large loose object, pushed to `store`,
    and a clone of it."""
    origin = make_repo("origin")
    origin.gen({"gen.py": f"import os\nopen('model.bin', 'wb').write(os.urandom({BIG}))\n"})
    origin.spec({"make": {"cmd": "python3 gen.py", "deps": ["gen.py"], "outs": ["model.bin"]}})
    origin.run("init", check=True)
    origin.commit("pipeline")
    return origin, origin.pushed_clone(tmp_path / "laptop", store)


def _corrupt_on(store: Path, origin: Repo) -> None:
    """The remote's copy of the out: the same size, other bytes."""
    digest = origin.project().lock_entries["make"].outs[0].digest
    obj = store / origin.project().cache.path(digest).relative_to(origin.project().cache.root)
    os.chmod(obj, 0o644)
    obj.write_bytes(b"x" * BIG)


def test_a_pull_refuses_a_corrupt_object_on_the_folder_remote(make_repo, store: Path,
                                                             tmp_path: Path) -> None:
    origin, laptop = _big_model_pushed(make_repo, store, tmp_path)
    _corrupt_on(store, origin)
    done = laptop.run("pull")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "is corrupt" in done.stderr and "it was not used" in done.stderr
    assert not (laptop.path / "model.bin").exists()
    assert list(laptop.project().cache.all_objects()) == []


def test_a_pull_fills_an_empty_cache_where_the_work_tree_matches_already(
        make_repo, tmp_path: Path) -> None:
    """`pull` is `fetch` then `checkout` (as `dvc pull`): with the outs in the
    work tree as the lock says but the cache emptied (a new cache folder, a
    gc), it still downloads them, so a push elsewhere, a checkout or a gc
    finds them; then a second pull moves nothing."""
    _, laptop = pulled(make_repo, tmp_path / "store", tmp_path)
    shutil.rmtree(laptop.path / ".gitpipe" / "cache")
    done = laptop.run("pull", check=True)
    assert "fetched 4 object(s)" in done.stdout and "0 out(s), 2 unchanged" in done.stdout, \
        done.stdout
    laptop.run("remote", "add", "elsewhere", str(tmp_path / "elsewhere"), check=True)
    pushed = laptop.run("push", "-r", "elsewhere")
    assert pushed.returncode == 0, pushed.stderr
    again = laptop.run("pull", check=True)
    assert "fetched 0 object(s)" in again.stdout, again.stdout


def test_a_corrupt_object_the_work_tree_holds_already_fails_no_pull(make_repo, store: Path,
                                                                   tmp_path: Path) -> None:
    """The work tree holds the out as the lock says; the cache does not, and the
    remote's copy is corrupt: filling the cache refuses it with a warning, and
    the pull, whose checkout had nothing to do, succeeds."""
    origin, laptop = _big_model_pushed(make_repo, store, tmp_path)
    laptop.run("pull", check=True)
    model = (laptop.path / "model.bin").read_bytes()
    shutil.rmtree(laptop.path / ".gitpipe" / "cache")
    _corrupt_on(store, origin)
    done = laptop.run("pull")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "warning: " in done.stderr and "is corrupt" in done.stderr, done.stderr
    assert (laptop.path / "model.bin").read_bytes() == model
    assert list(laptop.project().cache.all_objects()) == []
