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


@pytest.mark.parametrize("leads", ["outside through a linked folder", "into .git"])
def test_remove_writes_a_linked_gitpipe_yaml_only_inside_the_work_tree(
        repo: Repo, tmp_path: Path, leads: str) -> None:
    """`remove` edits the file a linked gitpipe.yaml leads to: a clone's link
    reaching the user's file beside it (`d -> ..`, `gitpipe.yaml ->
    d/pipeline.yaml`), or a file inside .git, is refused with nothing
    changed."""
    pipeline = KEEP + "  a:\n    cmd: 'true'\n    outs: [a.txt]\n"
    (tmp_path / "pipeline.yaml").write_text(pipeline)  # the user's, beside the clone
    repo.gen({"ml.yaml": pipeline})
    os.symlink("..", repo.path / "d")
    target = "d/pipeline.yaml" if leads.startswith("outside") else ".git/pipeline.yaml"
    os.symlink(target, repo.path / "gitpipe.yaml")
    repo.commit("a hostile clone")
    clone = repo.clone_to(tmp_path / "clone")
    (clone.path / ".git" / "pipeline.yaml").write_text(pipeline)
    before = snapshot(tmp_path)
    done = clone.run("remove", "a")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert (tmp_path / "pipeline.yaml").read_text() == pipeline
    assert (clone.path / ".git" / "pipeline.yaml").read_text() == pipeline
    assert_only_changed(before, snapshot(tmp_path), ["clone/.gitpipe"])


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
