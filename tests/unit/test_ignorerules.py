"""Writing `.gitpipe/.gitignore` (trust/ignorerules.py): never over a file
that is there by then, and a clear error where `.gitpipe/` takes no file."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gitpipe.core.errors import BadInputError
from gitpipe.trust.ignorerules import RESTORED_GITIGNORE, _publish, restore_deleted_rules

MINE = "/my-notes.txt\n"


def test_a_rules_file_written_meanwhile_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text(MINE)
    _publish(tmp_path / ".gitignore", RESTORED_GITIGNORE)
    assert (tmp_path / ".gitignore").read_text() == MINE
    assert os.listdir(tmp_path) == [".gitignore"], "a temporary file was left behind"


def test_the_rules_are_published_whole(tmp_path: Path) -> None:
    _publish(tmp_path / ".gitignore", RESTORED_GITIGNORE)
    assert (tmp_path / ".gitignore").read_text() == RESTORED_GITIGNORE
    assert os.listdir(tmp_path) == [".gitignore"]


@pytest.mark.skipif(shutil.which("chattr") is None, reason="chattr is not installed")
def test_a_gitpipe_folder_that_takes_no_file_is_named(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    top = tmp_path / ".gitpipe"
    top.mkdir()
    (top / "config.local.yaml").write_text("remotes: {}\n")
    if subprocess.run(["chattr", "+i", str(top)], capture_output=True).returncode != 0:
        pytest.skip("this file system keeps no immutable flag")
    try:
        with pytest.raises(BadInputError) as raised:
            restore_deleted_rules(str(tmp_path), {"config.local.yaml": "regular file"})
    finally:
        subprocess.run(["chattr", "-i", str(top)], check=True)
    assert str(raised.value).startswith(".gitpipe/.gitignore: cannot write gitpipe's ignore "
                                        "rules: Operation not permitted"), str(raised.value)
