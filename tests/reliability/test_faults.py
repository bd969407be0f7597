"""Faults tried for real: corrupt objects, a full disk, a read-only cache, hostile specs,
a second Ctrl-C, two processes at once."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GIT_ENV, Repo, ran_cmd
from tests.reliability.test_processes import alive, read_pid, wait_for


def simple(repo: Repo, size: int = 4) -> Repo:
    repo.spec({"make": {"cmd": ran_cmd("make", f"head -c {size} /dev/urandom > blob.bin"),
                        "outs": ["blob.bin"], "always_changed": True}})
    repo.run("init", check=True)
    repo.commit("spec")
    return repo


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[None]:
    """A size-limited file system at `path` (root only; skipped where mount is refused)."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_fsck_finds_and_repairs_corrupt_objects(repo: Repo) -> None:
    simple(repo)
    repo.run("repro", check=True)
    assert "0 bad" in repo.run("fsck", check=True).stdout
    digest = repo.project().lock_entries["make"].outs[0].digest
    obj = repo.project().cache.path(digest)
    obj.chmod(0o644)
    obj.write_bytes(b"bit rot")
    found = repo.run("fsck")
    assert found.returncode == 1 and f"bad: {digest}" in found.stdout
    fixed = repo.run("fsck", "--repair", check=True)
    assert f"removed: {digest}" in fixed.stdout and "1 lock out(s) missing" in fixed.stdout
    assert not obj.exists()
    assert "0 bad" in repo.run("fsck", check=True).stdout


def test_disk_full_while_caching_keeps_lock_and_workspace(repo: Repo) -> None:
    simple(repo, size=4)
    repo.run("repro", check=True)
    lock_before = repo.read("gitpipe.lock")
    spec = repo.read("gitpipe.yaml").replace("head -c 4", "head -c 300000")
    repo.gen({"gitpipe.yaml": spec})
    with tmpfs(repo.path / ".gitpipe/cache", "64k"):
        done = repo.run("repro")
        assert done.returncode == 1
        assert "cannot store its outs in the cache" in done.stderr
        assert "No space left on device" in done.stderr and "Traceback" not in done.stderr
        assert repo.read("gitpipe.lock") == lock_before
        assert (repo.path / "blob.bin").stat().st_size == 300000
        assert not list((repo.path / ".gitpipe/cache/tmp").glob("*"))


def test_read_only_cache_is_a_clear_error(repo: Repo) -> None:
    simple(repo)
    cache = repo.path / ".gitpipe/cache"
    with tmpfs(cache, "1m"):
        subprocess.run(["mount", "-o", "remount,ro", str(cache)], check=True)
        done = repo.run("repro")
        assert done.returncode == 1
        assert "cannot store its outs in the cache" in done.stderr
        assert "Read-only file system" in done.stderr
        assert "make" not in repo.project().lock_entries


def test_symlink_swapped_in_after_validation_is_refused(repo: Repo, tmp_path: Path) -> None:
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("do not delete\n")
    repo.spec({
        "first": {"cmd": "sleep 0.5 && ln -s " + str(outside) + " victim && echo > a",
                  "outs": ["a"]},
        "second": {"cmd": "echo x > victim/out", "deps": ["a"], "outs": ["victim/out"]},
    }, commit="spec")
    done = repo.run("repro")
    assert done.returncode == 1
    assert "resolves outside the repository" in done.stderr
    assert (outside / "keep.txt").read_text() == "do not delete\n"
    assert not (outside / "out").exists()


def test_directory_out_with_symlink_outside_is_refused(repo: Repo, tmp_path: Path) -> None:
    # A manifest's symlink may point only inside its directory: a checkout
    # refuses any other (trust/checks.py), so recording one would store an out that
    # nobody could check out again.
    secret = tmp_path / "secret.txt"
    secret.write_text("secret\n")
    repo.spec({"d": {"cmd": f"mkdir -p d && echo a > d/a && ln -s {secret} d/leak",
                     "outs": ["d/"]}}, commit="spec")
    done = repo.run("repro")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "symlink entry 'leak' points outside the directory" in done.stderr
    stored = [p.read_bytes() for p in repo.project().cache.all_objects()]
    assert b"secret\n" not in stored


@pytest.mark.parametrize("text", [
    "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)) + "stages: {s: {cmd: '*i'}}\n",
    "stages:\n" + "  " * 0 + "[" * 5000 + "]" * 5000 + "\n",
])
def test_yaml_bombs_and_deep_nesting_are_clear_errors(repo: Repo, text: str) -> None:
    repo.gen({"gitpipe.yaml": "stages: {s: {cmd: x}}\n"})
    repo.run("init", check=True)  # with the parse cache on, which would expand a bomb
    repo.gen({"gitpipe.yaml": text, "gitpipe.lock": text})
    started = time.monotonic()
    for command in ("validate", "status"):
        done = repo.run(command, timeout=60)
        assert done.returncode == 2
        assert "gitpipe.yaml" in done.stderr and "Traceback" not in done.stderr
    repo.spec({"s": {"cmd": "x", "outs": ["o"]}})
    done = repo.run("status", timeout=60)
    assert done.returncode == 2 and "gitpipe.lock" in done.stderr, done.stderr
    assert time.monotonic() - started < 60


def test_second_ctrl_c_exits_at_once(repo: Repo) -> None:
    # The stage survives SIGTERM and says it got one: the first Ctrl-C has been
    # handled (and its grace begun) once `term.seen` exists.
    repo.spec({"stubborn": {"cmd": "trap 'touch term.seen' TERM; echo $$ > shell.pid; "
                                   "while :; do sleep 0.1; done",
                            "outs": ["o"]}}, commit="spec")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gitpipe", "repro"], cwd=repo.path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    shell = read_pid(repo.path / "shell.pid")
    proc.send_signal(signal.SIGINT)
    wait_for(repo.path / "term.seen")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130
    # The first Ctrl-C alone waits out the grace and then prints how each task
    # ended; the second leaves at once, before any table.
    assert "interrupted" not in out
    deadline = time.monotonic() + 3
    while alive(shell) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(shell)


def test_push_during_repro_and_two_clones_pushing(make_repo, tmp_path: Path) -> None:
    store = tmp_path / "store"
    one = make_repo("one")
    one.spec({"s": {"cmd": "sleep 1 && seq 1 50000 > big.txt", "outs": ["big.txt"]},
              "t": {"cmd": "head -c 1000 /dev/zero > t.bin", "outs": ["t.bin"]}})
    one.run("init", check=True)
    one.run("remote", "add", "-d", "store", str(store), check=True)
    one.commit("spec")
    two = one.clone_to(tmp_path / "two")
    env = {**os.environ, **GIT_ENV}
    runs = [subprocess.Popen([sys.executable, "-m", "gitpipe", "repro", "--push"], cwd=r.path,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for r in (one, two)]
    time.sleep(0.5)
    during = one.run("push")  # the lock has no entries yet or only t's: either is fine
    assert during.returncode in (0, 1) and "Traceback" not in during.stderr
    for proc in runs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    for repo in (one, two):
        assert "0 bad" in repo.run("fsck", check=True).stdout
    assert not list(store.rglob("*.tmp-*"))
    three = one.clone_to(tmp_path / "three")
    (three.path / ".gitpipe").mkdir(exist_ok=True)
    one.commit("results")
    three.git("pull", "-q")
    assert three.run("pull", check=True).returncode == 0
    assert three.read("big.txt").splitlines()[-1] == "50000"
