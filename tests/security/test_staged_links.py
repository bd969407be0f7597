"""A symlink staged where the commit hook reads one of gitpipe's own files.
git records a link as a blob holding where it leads; the hook read that name
as the file's text, so a link to a file named like YAML (`train: {lr: 0.1}`)
made the commit's params agree with the lock whatever the file it leads to
holds. Built with a real `git add` of a link, committed through the
installed hook, in a plain and in a split index (which libgit2 cannot read
and git's command line reads for gitpipe)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.func.test_git_integration import built, git_commit, install_hooks
from tests.security.conftest import assert_only_changed, snapshot

NAMED_LIKE_YAML = "train: {lr: 0.1}"


@pytest.mark.parametrize("split", [False, True], ids=["plain index", "split index"])
def test_staged_params_symlink_is_refused(repo: Repo, tmp_path: Path, split: bool) -> None:
    built(repo)
    if split:
        repo.git("update-index", "--split-index")
    install_hooks(repo)
    (repo.path / NAMED_LIKE_YAML).write_text("train: {lr: 0.9}\n")
    (repo.path / "params.yaml").unlink()
    (repo.path / "params.yaml").symlink_to(NAMED_LIKE_YAML)
    before = snapshot(tmp_path)
    refused = git_commit(repo, "params through a link")
    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
    assert (f"params.yaml (staged): a symlink (to {NAMED_LIKE_YAML!r}), not a file"
            in refused.stderr), refused.stderr
    assert "commit the file itself in place of the link" in refused.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])
    assert repo.git("log", "--format=%s", "-1").strip() == "v1"


def test_staged_spec_symlink_is_refused(repo: Repo, tmp_path: Path) -> None:
    built(repo)
    install_hooks(repo)
    (repo.path / "real.yaml").write_text((repo.path / "gitpipe.yaml").read_text())
    (repo.path / "gitpipe.yaml").unlink()
    (repo.path / "gitpipe.yaml").symlink_to("real.yaml")
    refused = git_commit(repo, "spec through a link")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr, refused.stderr
    assert "gitpipe.yaml (staged): a symlink (to 'real.yaml'), not a file" in refused.stderr
