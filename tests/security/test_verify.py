"""`gitpipe verify` reruns a stage in a copy of the project: a symlink git tracks
must not lead that rerun back into the real project. Each attack is built for
real and the whole temp tree compared before and after."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot


def test_a_tracked_absolute_symlink_does_not_lead_the_rerun_into_the_project(
        repo: Repo, tmp_path: Path) -> None:
    # In the work tree `outdir` resolves inside the project, so repro accepts
    # it; in a copy the same absolute link points at the real project.
    (repo.path / "real").mkdir()
    (repo.path / "real/keep.txt").write_text("kept\n")
    os.symlink(repo.path / "real", repo.path / "outdir")
    repo.spec({"s": {"cmd": "date +%s%N > outdir/o.txt", "outs": ["outdir/o.txt"]}})
    repo.run("init", check=True)
    repo.commit("a link to a folder of the project, by its absolute path")
    repo.run("repro", check=True)
    repo.age().run("status", check=True)  # the stat cache as any status leaves it
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    before = snapshot(tmp_path)
    done = repo.run("verify", env={"TMPDIR": str(scratch)})
    assert done.returncode == 1, done.stdout
    assert "failed s" in done.stdout
    assert ("stage 's': 'outdir/o.txt' leads out of the scratch copy through a symlink "
            "git tracks; it is not rerun") in done.stdout
    assert "Traceback" not in done.stderr
    assert_only_changed(before, snapshot(tmp_path))


def test_a_temporary_folder_inside_the_project_is_refused(repo: Repo, tmp_path: Path) -> None:
    repo.spec({"s": {"cmd": "echo x > o.txt", "outs": ["o.txt"]}})
    repo.run("init", check=True)
    repo.commit("spec")
    repo.run("repro", check=True)
    repo.age().run("status", check=True)  # the stat cache as any status leaves it
    inside = repo.path / "tmp"
    inside.mkdir()
    before = snapshot(tmp_path)
    done = repo.run("verify", env={"TMPDIR": str(inside)})
    assert done.returncode == 2, done.stdout
    assert "is inside the project; verify copies the project elsewhere" in done.stderr
    assert "hint: set TMPDIR to a folder outside the repository" in done.stderr
    assert "Traceback" not in done.stderr
    assert_only_changed(before, snapshot(tmp_path))
