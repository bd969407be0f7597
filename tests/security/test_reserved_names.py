"""Outs that name git's or gitpipe's own folders in a spelling some file system or
git itself takes for them: a nested `.git` (a repository's hooks and config), a
case-folded `.Git`, an HFS+-ignorable code point, git's NTFS short name. A cloned
repository declaring one must be refused before any command runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot


@pytest.mark.parametrize("out", ["sub/.git/hooks/post-checkout", ".Git/config",
                                 ".g\u200cit/config", "git~1/config", "data/.GITPIPE/x"])
def test_an_out_spelled_like_a_git_folder_is_refused_before_running(
        repo: Repo, tmp_path: Path, out: str) -> None:
    parent = str(Path(out).parent)
    repo.spec({"plant": {"cmd": f"mkdir -p '{parent}' && echo 'echo owned' > '{out}'",
                         "outs": [out]}}, commit="crafted")
    before = snapshot(tmp_path)
    done = repo.run("repro", timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "stage 'plant'" in done.stderr and "belong to git or gitpipe" in done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])
    assert not (repo.path / out).exists()


def test_names_that_only_look_alike_stay_usable(repo: Repo) -> None:
    repo.spec({"ok": {"cmd": "mkdir -p git_tools && echo 1 > git_tools/a.txt && "
                             "echo 2 > .gitignored.txt",
                      "outs": ["git_tools/a.txt", ".gitignored.txt"]}}, commit="s")
    done = repo.run("repro")
    assert done.returncode == 0, done.stderr
    assert repo.read("git_tools/a.txt") == "1\n"
