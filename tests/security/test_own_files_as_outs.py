"""Attack: a commit declares one of gitpipe's own files as a stage's out,
`gitpipe.lock`, `gitpipe.yaml` or the root `.gitignore`, directly, through
`..` or a wdir, in a foreach item, or through a committed link to the
project's root (`d -> .`, out `d/gitpipe.lock`). A repro removes a stage's
outs before its command runs, so a failing command left the user's clone
without its lock (every other stage's entry), its gitpipe.yaml, or its
.gitignore (the user's own `/secrets.env` line with it: the next `git add -A`
takes the secret). Every command refuses such a spec, naming the file, the
stage and the path, and changes nothing (pipeline/model.own_file, one rule
for the spec's checks and for paths reached through symlinks)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

KEEP = "stages:\n  keep:\n    cmd: echo k > k.txt\n    outs: [k.txt]\n"
STATE = [".gitpipe/state.db", ".gitpipe/state.db-wal", ".gitpipe/state.db-shm",
         ".gitpipe/state.db-journal", ".gitpipe/logs", ".gitpipe/tmp", ".gitpipe/project.lock"]

# (the stage `a` as committed, the path the refusal names)
ATTACKS = {
    "lock": ("    outs: [gitpipe.lock]\n", "'gitpipe.lock'"),
    "spec through ..": ("    outs: [sub/../gitpipe.yaml]\n", "'sub/../gitpipe.yaml'"),
    "gitignore from a wdir": ("    wdir: sub\n    metrics: [../.gitignore]\n",
                              "'../.gitignore'"),
    "foreach item": ("    foreach: [x, gitpipe.lock]\n    do:\n      cmd: 'false'\n"
                     "      outs: ['${item}']\n", "a@gitpipe.lock"),
    "lock through d -> .": ("    outs: [d/gitpipe.lock]\n", "'d/gitpipe.lock'"),
    "gitignore through d -> .": ("    outs: [d/.gitignore]\n", "'d/.gitignore'"),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_stage_never_writes_gitpipe_s_own_files(repo: Repo, tmp_path: Path,
                                                  attack: str) -> None:
    stage, named = ATTACKS[attack]
    repo.gen({"gitpipe.yaml": KEEP, "sub/keep": "", ".gitignore": "/secrets.env\n"})
    repo.commit("the user's pipeline")
    clone = repo.clone_to(tmp_path / "clone")
    clone.run("repro", check=True)  # the user's lock, and gitpipe's line for k.txt
    clone.gen({"secrets.env": "API_KEY=the user's\n"})
    body = stage if "foreach" in stage else "    cmd: 'false'\n" + stage
    repo.gen({"gitpipe.yaml": KEEP + "  a:\n" + body})
    os.symlink(".", repo.path / "d")
    repo.commit("a hostile commit")
    clone.git("pull", "-q", "--no-rebase", "origin", "HEAD")
    before = snapshot(tmp_path)
    for args in (["repro"], ["repro", "a"], ["status"], ["remove", "a", "--outs"],
                 ["commit"]):
        done = clone.run(*args)
        said = done.stdout + done.stderr
        assert done.returncode == 2, (args, said)
        assert "Traceback" not in said, said
        assert "gitpipe.yaml" in done.stderr and "stage 'a'" in done.stderr, said
        assert named in done.stderr and "which gitpipe itself writes" in done.stderr, said
    assert_only_changed(before, snapshot(tmp_path), [f"clone/{p}" for p in STATE])
    assert "keep:" in clone.read("gitpipe.lock")
    assert "/secrets.env" in clone.read(".gitignore").splitlines()


def test_a_path_out_through_a_link_and_back_in_is_refused(repo: Repo, tmp_path: Path) -> None:
    """`p -> /proc`: `p/self/cwd` leaves the project through `p`, then comes
    back (the process's cwd is the project): its folder is outside, whatever
    its last link leads to, so it is refused as any path out there."""
    repo.gen({"gitpipe.yaml": "stages:\n  a:\n    cmd: 'true'\n    outs: [p/self/cwd]\n"})
    os.symlink("/proc", repo.path / "p")
    repo.commit("a hostile commit")
    clone = repo.clone_to(tmp_path / "clone")
    before = snapshot(tmp_path)
    for args in (["status"], ["repro"]):
        done = clone.run(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "'p/self/cwd' resolves outside the repository" in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), [f"clone/{p}" for p in STATE])
