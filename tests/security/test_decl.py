"""Attacks on what a stage declares: a crafted repository's params, `.gitpipeignore`
and lock try to hang gitpipe, read outside the project, or make it skip or run
wrongly. Each runs the CLI on the crafted repository and compares a snapshot of
the whole temp tree before and after."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

# What a status may write: its own bookkeeping under .gitpipe/.
BOOKKEEPING = (".gitpipe",)


def _refused(done: subprocess.CompletedProcess, *phrases: str) -> None:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    for phrase in phrases:
        assert phrase in done.stderr, done.stderr


def _dir_stage(repo: Repo) -> None:
    repo.gen({"data/a.txt": "a\n"})
    repo.spec({"use": {"cmd": "cat data/a.txt > o.txt", "deps": ["data/"], "outs": ["o.txt"]}})


def test_a_gitpipeignore_symlinked_to_a_fifo_does_not_hang(repo: Repo, tmp_path: Path) -> None:
    _dir_stage(repo)
    fifo = tmp_path / "outside.fifo"
    os.mkfifo(fifo)
    os.symlink(fifo, repo.path / "data/.gitpipeignore")
    repo.commit("crafted")
    before = snapshot(tmp_path)
    done = repo.run("status", timeout=60)
    _refused(done, "data/.gitpipeignore", "a symlink")
    assert_only_changed(before, snapshot(tmp_path), [f"repo/{p}" for p in BOOKKEEPING])


def test_a_gitpipeignore_symlinked_outside_is_not_read(repo: Repo, tmp_path: Path) -> None:
    _dir_stage(repo)
    secret = tmp_path / "secret.txt"
    secret.write_text("a.txt\n")  # would hide data/a.txt from the digest if obeyed
    os.symlink(secret, repo.path / ".gitpipeignore")
    repo.commit("crafted")
    before = snapshot(tmp_path)
    done = repo.run("repro", timeout=60)
    _refused(done, ".gitpipeignore", "a symlink")
    assert_only_changed(before, snapshot(tmp_path), [f"repo/{p}" for p in BOOKKEEPING])


def test_a_backtracking_ignore_pattern_cannot_stall_a_status(repo: Repo, tmp_path: Path) -> None:
    _dir_stage(repo)
    repo.gen({"data/.gitpipeignore": "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b\n",
              "data/" + "a" * 200: "x"})
    repo.commit("crafted")
    assert repo.run("repro", timeout=60).returncode == 0
    before = snapshot(tmp_path)
    done = repo.run("status", "--check", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_only_changed(before, snapshot(tmp_path), [f"repo/{p}" for p in BOOKKEEPING])
    repo.gen({"data/.gitpipeignore": "**/**/**/**/**/x\n"})
    done = repo.run("status", timeout=60)
    _refused(done, "data/.gitpipeignore:1", "more than 4 '**'")


def test_an_oversized_gitpipeignore_is_refused(repo: Repo, tmp_path: Path) -> None:
    _dir_stage(repo)
    repo.gen({"data/.gitpipeignore": "x\n" * 600_000})
    repo.commit("crafted")
    before = snapshot(tmp_path)
    _refused(repo.run("status", timeout=60), "data/.gitpipeignore", "larger than 1024 KiB")
    assert_only_changed(before, snapshot(tmp_path), [f"repo/{p}" for p in BOOKKEEPING])


def test_params_that_never_compare_equal_are_refused_not_rerun(repo: Repo,
                                                              tmp_path: Path) -> None:
    repo.gen({"params.yaml": "train:\n  weights: {.nan: 1}\n"})
    repo.spec({"train": {"cmd": "echo x > o.txt", "params": ["train"], "outs": ["o.txt"]}})
    repo.commit("crafted")
    before = snapshot(tmp_path)
    _refused(repo.run("repro", timeout=60), "params.yaml: param 'train'.weights",
             "not a string or number")
    assert_only_changed(before, snapshot(tmp_path), [f"repo/{p}" for p in BOOKKEEPING])


def test_a_forged_metric_flag_in_the_lock_cannot_skip_a_real_change(repo: Repo,
                                                                   tmp_path: Path) -> None:
    # A lock from git flips an out's metric flag (a record-only difference) and
    # forges the env part to match the new env: the declaration-only shortcut
    # must not hide the env change behind a re-record.
    from gitpipe.hashing.fingerprint import part_digest

    repo.spec({"a": {"cmd": "echo $X > o.txt", "env": {"X": "1"}, "outs": ["o.txt"]}})
    repo.commit("pipeline")
    assert repo.run("repro").returncode == 0
    lock = yaml.safe_load(repo.read("gitpipe.lock"))
    lock["stages"]["a"]["outs"][0]["metric"] = True
    lock["stages"]["a"]["env"] = part_digest([("X", "2")])
    (repo.path / "gitpipe.lock").write_text(yaml.safe_dump(lock))
    repo.spec({"a": {"cmd": "echo $X > o.txt", "env": {"X": "2"}, "outs": ["o.txt"]}})
    before = snapshot(tmp_path)
    done = repo.run("repro", timeout=60)
    assert done.returncode == 0, done.stderr
    assert repo.read("o.txt") == "2\n"  # it ran: not re-recorded
    assert_only_changed(before, snapshot(tmp_path),
                        ["repo/.gitpipe", "repo/o.txt", "repo/gitpipe.lock", "repo/.gitignore"])
