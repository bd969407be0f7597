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
