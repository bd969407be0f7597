"""Files of the work tree gitpipe reads that a clone chose: a committed
symlink (to `/dev/zero`, which never ends) or a file far larger than any
such file is, in place of gitpipe's own files or git's rules. Each is read
as the commands that read them already are: no link followed, no more than
the bound read; each command runs under an address space of 1 GiB."""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from pathlib import Path

import pytest
import xxhash

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

MEMORY = 1 << 30
LOCAL_STATE = (".gitpipe/tmp", ".gitpipe/state.db", ".gitpipe/project.lock")


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def _ran(repo: Repo) -> None:
    repo.gen({"d.txt": "data\n"})
    repo.spec({"a": {"cmd": "cat d.txt > a.txt", "deps": ["d.txt"], "outs": ["a.txt"]}})
    repo.run("repro", check=True)
    repo.commit("ran")


def test_gc_never_reads_a_lock_linked_to_dev_zero(repo: Repo, tmp_path: Path) -> None:
    """gc read the work tree's lock with its own whole read, which follows a
    link: a clone's committed `gitpipe.lock -> /dev/zero` made `gc` read until
    memory ran out (`unexpected MemoryError`), where every other command
    refuses the link."""
    _ran(repo)
    (repo.path / "gitpipe.lock").unlink()
    os.symlink("/dev/zero", repo.path / "gitpipe.lock")
    repo.commit("the lock is a link")
    clone = repo.clone_to(tmp_path / "clone")
    before = snapshot(tmp_path)
    done = clone.run("gc", "-w", "--dry-run", preexec_fn=_limited, timeout=120)
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    assert "gitpipe.lock" in done.stderr and "symlink" in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["clone/.gitpipe"])


@pytest.mark.parametrize("planted", [".git/HEAD", ".env"])
def test_a_push_copies_no_file_the_spec_does_not_declare(make_repo: Callable[[str], Repo],
                                                        tmp_path: Path, planted: str) -> None:
    """A push caches an out its cache lacks from the work tree when the file
    there holds the lock's bytes. The lock comes from git: an out it adds
    for a stage (a file in `.git`, the clone's `.env`) with the digest of
    the bytes guessed for it made the push copy that file into the cache
    and up to the remote, where the lock's writer could see whether the
    guess was right."""
    origin = make_repo("origin")
    _ran(origin)
    store = tmp_path / "store"
    origin.run("remote", "add", "-d", "store", str(store), check=True)
    origin.run("push", check=True)
    secret = (origin.path / ".git" / "HEAD").read_bytes() if planted == ".git/HEAD" \
        else b"TOKEN=hunter2\n"
    lock = origin.read("gitpipe.lock")
    row = (f"    - {{path: {planted}, hash: 'xxh3:{xxhash.xxh3_128_hexdigest(secret)}', "
           f"size: {len(secret)}}}\n")
    origin.gen({"gitpipe.lock": lock.replace("    outs:\n", "    outs:\n" + row)}, commit="lock")
    clone = origin.clone_to(tmp_path / "clone")
    clone.run("fetch")  # a.txt's object: the planted out is the one the cache lacks
    if planted == ".env":
        (clone.path / ".env").write_bytes(secret)
    before = snapshot(tmp_path)
    done = clone.run("push")
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1 and planted in done.stderr, done.stderr
    assert f"gitpipe.yaml does not declare {planted} for its stage" in done.stderr, done.stderr
    assert secret not in {p.read_bytes() for p in store.rglob("*") if p.is_file()}
    assert_only_changed(before, snapshot(tmp_path), [f"clone/{p}" for p in LOCAL_STATE])


def _sparse(path: Path, size: int = 3 << 29) -> None:
    """A file of `size` bytes, all NULs, taking no disk: as a clone's checkout
    of a blob that compresses a thousand to one would write it."""
    with open(path, "wb") as handle:
        handle.truncate(size)


def test_a_params_yml_past_the_bound_gives_no_hint(repo: Repo, tmp_path: Path) -> None:
    """The hint for a missing params.yaml asks whether params.yml is there
    by reading it: a params.yml of gigabytes (a file no stage names) was
    read whole, and `status` died of MemoryError."""
    repo.spec({"a": {"cmd": "echo x > a.txt", "params": ["lr"], "outs": ["a.txt"]}})
    _sparse(repo.path / "params.yml")
    before = snapshot(tmp_path)
    done = repo.run("status", preexec_fn=_limited, timeout=120)
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    assert "params.yaml: stage 'a': params file does not exist\n" in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


def test_a_spec_past_the_bound_is_refused_before_it_is_read(repo: Repo,
                                                            tmp_path: Path) -> None:
    """gitpipe's own files in the work tree are read to the size a commit's are
    (16 MiB), then refused, not read whole first."""
    _sparse(repo.path / "gitpipe.yaml")
    before = snapshot(tmp_path)
    done = repo.run("status", preexec_fn=_limited, timeout=120)
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2 and "gitpipe.yaml: file is larger than 16 MiB" in done.stderr, \
        done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


def _two_commits(repo: Repo) -> None:
    _ran(repo)
    repo.gen({"d.txt": "more data\n"})
    repo.run("repro", check=True)
    repo.commit("ran again")


def test_the_work_trees_huge_rules_are_refused_by_their_size(repo: Repo,
                                                             tmp_path: Path) -> None:
    """`status --rev` compares the work tree's `.gitattributes` with the
    commit's: the commit's was read to git's bound (100 MiB), the work
    tree's whole, before it."""
    _two_commits(repo)
    _sparse(repo.path / ".gitattributes")
    before = snapshot(tmp_path)
    done = repo.run("status", "--rev", "HEAD~1", preexec_fn=_limited, timeout=120)
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    assert ".gitattributes: file is larger than 100 MiB (1610612736 bytes)" in done.stderr, \
        done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


def test_a_fifo_in_place_of_params_is_refused_not_waited_on(repo: Repo, tmp_path: Path) -> None:
    """gitpipe's own files were opened as `open` does, which waits for a
    fifo's writer for ever: `status` hung on a fifo named params.yaml."""
    repo.spec({"a": {"cmd": "echo x > a.txt", "params": ["lr"], "outs": ["a.txt"]}})
    os.mkfifo(repo.path / "params.yaml")
    before = snapshot(tmp_path)
    done = repo.run("status", timeout=60)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    assert "params.yaml: cannot read" in done.stderr and "not a regular file" in done.stderr, \
        done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


def test_gc_reads_another_worktrees_lock_to_its_bound(repo: Repo, tmp_path: Path) -> None:
    """gc over every commit reads the lock in each other worktree of the
    repository: one of gigabytes (a checkout of a clone's branch) was read
    whole, and `gc --all-commits` died of MemoryError. Past 16 MiB it names
    nothing, as such a lock in history does."""
    _ran(repo)
    repo.git("worktree", "add", "-q", str(tmp_path / "other"))
    (tmp_path / "other" / "gitpipe.lock").unlink()
    _sparse(tmp_path / "other" / "gitpipe.lock")
    before = snapshot(tmp_path)
    done = repo.run("gc", "--all-commits", "--dry-run", preexec_fn=_limited, timeout=120)
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    assert "would remove 0 object(s)" in done.stdout, done.stdout
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])
