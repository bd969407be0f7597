"""Attacks on `gitpipe remove --outs`, which deletes a stage's outs: a cloned
repository declares an out reached through a committed symlinked folder
(`up -> ..`, so `up/secret` is the user's file beside the clone), or commits
the out itself as a link to that file, or a lock naming another path for
the stage (the user's untracked `.env`). Nothing outside the clone is
deleted, nor a path only the lock names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

SECRET = "the user's private key\n"
KEEP = "stages:\n  keep:\n    cmd: echo k > k.txt\n    outs: [k.txt]\n"


@pytest.mark.parametrize("attack", ["symlinked folder", "symlinked out", "lock names another"])
def test_remove_outs_deletes_nothing_outside_what_gitpipe_yaml_declares(
        repo: Repo, tmp_path: Path, attack: str) -> None:
    (tmp_path / "secret").write_text(SECRET)
    if attack == "symlinked folder":
        repo.gen({"gitpipe.yaml": KEEP + "  a:\n    cmd: 'true'\n    outs: [up/secret]\n"})
        os.symlink("..", repo.path / "up")
    elif attack == "symlinked out":
        repo.gen({"gitpipe.yaml": KEEP + "  a:\n    cmd: 'true'\n    outs: [out.txt]\n"})
        os.symlink("../secret", repo.path / "out.txt")
    else:
        repo.gen({"gitpipe.yaml": KEEP + "  a:\n    cmd: 'true'\n    outs: [out.txt]\n",
                  "gitpipe.lock": "schema: 1\nstages:\n  a:\n    cmd: 'true'\n"
                  "    fingerprint: xxh3:00000000000000000000000000000000\n"
                  "    outs:\n    - {path: .env, hash: "
                  "'xxh3:00000000000000000000000000000000', size: 1}\n"})
    repo.commit("a hostile clone")
    clone = repo.clone_to(tmp_path / "clone")
    clone.gen({".env": "API_KEY=the user's, untracked\n"})
    before = snapshot(tmp_path)
    done = clone.run("remove", "a", "--outs")
    assert "Traceback" not in done.stderr, done.stderr
    assert (tmp_path / "secret").read_text() == SECRET
    assert (clone.path / ".env").exists(), "a path only the clone's lock names"
    allowed = ["clone/gitpipe.yaml", "clone/gitpipe.lock", "clone/.gitignore", "clone/.gitpipe"]
    if attack == "symlinked out" and done.returncode == 0:
        allowed.append("clone/out.txt")  # the link itself, never what it points at
    assert_only_changed(before, snapshot(tmp_path), allowed)


@pytest.mark.parametrize("attack", ["folder out holds it", "linked folder reaches it"])
def test_remove_outs_never_deletes_a_file_git_tracks_by_another_path(
        repo: Repo, tmp_path: Path, attack: str) -> None:
    """A clone commits `src/x.py` and declares an out that holds it (the folder
    `src`) or reaches it (`d/x.py`, through its committed link `d -> src`): the
    file git tracks, with the user's edit not yet committed, stays."""
    out = "src" if attack == "folder out holds it" else "d/x.py"
    repo.gen({"gitpipe.yaml": KEEP + f"  a:\n    cmd: 'true'\n    outs: [{out}]\n",
              "src/x.py": "committed\n"})
    os.symlink("src", repo.path / "d")
    repo.commit("a hostile clone")
    clone = repo.clone_to(tmp_path / "clone")
    (clone.path / "src" / "x.py").write_text("committed\nthe user's edit, not committed\n")
    before = snapshot(tmp_path)
    done = clone.run("remove", "a", "--outs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (clone.path / "src" / "x.py").read_text().endswith("not committed\n")
    assert "git tracks" in done.stdout + done.stderr
    assert_only_changed(before, snapshot(tmp_path),
                        ["clone/gitpipe.yaml", "clone/.gitignore", "clone/.gitpipe"])


@pytest.mark.parametrize("out", ["gitpipe.lock", ".gitignore", "d/gitpipe.lock"])
def test_remove_outs_never_deletes_the_files_remove_itself_keeps(
        repo: Repo, tmp_path: Path, out: str) -> None:
    """A clone declares gitpipe.lock or .gitignore (neither committed; `d -> .`
    reaches the lock too) as an out of the stage it asks to remove: the
    lock with every other stage's entry, and the .gitignore with the user's
    own line, stay, edited only as `remove` edits them."""
    repo.gen({"gitpipe.yaml": KEEP + f"  a:\n    cmd: 'true'\n    outs: [{out}]\n"})
    os.symlink(".", repo.path / "d")
    repo.commit("a hostile clone")
    clone = repo.clone_to(tmp_path / "clone")
    clone.run("init", check=True)
    clone.run("repro", "keep", check=True)
    with open(clone.path / ".gitignore", "a") as handle:
        handle.write("/secrets.env\n")
    done = clone.run("remove", "a", "--outs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "keep:" in (clone.path / "gitpipe.lock").read_text()
    assert "/secrets.env" in (clone.path / ".gitignore").read_text().splitlines()
    assert "a:" not in (clone.path / "gitpipe.yaml").read_text()
    assert f"note: {out} kept: gitpipe's own" in done.stderr


@pytest.mark.parametrize("attack", ["a folder of the user's", "a file of the user's",
                                    "a file added to a made folder"])
def test_remove_outs_keeps_bytes_no_run_of_gitpipe_made(
        repo: Repo, tmp_path: Path, attack: str) -> None:
    """A clone declares as an out of `a` what the user keeps there of their
    own, untracked: a folder (`notes/`), a file (`.env`), or a file added to
    a folder a run made. `remove a --outs` deleted them, bytes the cache
    never held (a first repro keeps such a folder too); they stay, said."""
    out = {"a folder of the user's": "notes", "a file of the user's": ".env",
           "a file added to a made folder": "made"}[attack]
    cmd = "mkdir -p made && echo run > made/x" if out == "made" else "'true'"
    repo.gen({"gitpipe.yaml": KEEP + f"  a:\n    cmd: {cmd}\n    outs: [{out}]\n"})
    repo.commit("a hostile clone")
    clone = repo.clone_to(tmp_path / "clone")
    clone.run("repro", "keep" if out != "made" else "a", check=True)
    clone.gen({".env": "API_KEY=the user's, untracked\n",
               "notes/todo.md": "the user's notes, untracked\n",
               "made/mine.txt": "the user's file, put in the out\n"})
    before = snapshot(tmp_path)
    done = clone.run("remove", "a", "--outs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"note: {out} kept: it holds bytes the cache does not" in done.stderr
    assert (clone.path / ".env").exists() and (clone.path / "notes/todo.md").exists()
    assert (clone.path / "made/mine.txt").exists()
    assert_only_changed(before, snapshot(tmp_path),
                        ["clone/gitpipe.yaml", "clone/gitpipe.lock", "clone/.gitignore",
                         "clone/.gitpipe"])


def test_remove_outs_deletes_what_a_run_made_metrics_too(repo: Repo) -> None:
    """What a run made goes: a cached out (its bytes in the cache) and an
    untracked metrics file (its bytes what the lock records)."""
    repo.gen({"gitpipe.yaml": KEEP + "  a:\n    cmd: mkdir -p d && echo 1 > d/x && "
              "echo 1 > m.json\n    outs: [d]\n    metrics: [m.json]\n"})
    repo.run("repro", check=True)
    done = repo.run("remove", "a", "--outs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "deleted the outs d, m.json" in done.stdout, done.stdout + done.stderr
    assert not (repo.path / "d").exists() and not (repo.path / "m.json").exists()


def test_remove_outs_believes_no_lock_that_vouches_for_the_user_s_file(
        repo: Repo, tmp_path: Path) -> None:
    """The lock is the clone's too: an entry of `a` recording the user's
    `.env` by its digest (a guess of its bytes) does not make it a file a
    run made; only a metrics file's recorded digest does."""
    import xxhash

    env = "API_KEY=the user's, untracked\n"
    digest = f"xxh3:{xxhash.xxh3_128_hexdigest(env.encode())}"
    repo.gen({"gitpipe.yaml": KEEP + "  a:\n    cmd: 'true'\n    outs: [.env]\n",
              "gitpipe.lock": "schema: 1\nstages:\n  a:\n    cmd: 'true'\n"
              "    fingerprint: xxh3:00000000000000000000000000000000\n"
              f"    outs:\n    - {{path: .env, hash: '{digest}', size: {len(env)}}}\n"})
    repo.commit("a hostile clone")
    clone = repo.clone_to(tmp_path / "clone")
    clone.gen({".env": env})
    before = snapshot(tmp_path)
    done = clone.run("remove", "a", "--outs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (clone.path / ".env").read_text() == env
    assert_only_changed(before, snapshot(tmp_path),
                        ["clone/gitpipe.yaml", "clone/gitpipe.lock", "clone/.gitignore",
                         "clone/.gitpipe"])
