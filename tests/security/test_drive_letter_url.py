"""Attack through a committed remote URL that fsspec reads as a Windows
drive: `url: C://x` (one letter before `://`) is no protocol to fsspec but a
relative path, which it takes from the process's directory. Every other
relative folder is joined to the project root (storage/urls.resolve_url)
and refused inside the repository; this one was neither: `gitpipe -C clone
push` run from the folder above wrote the objects into `C:/x` there, a
folder outside the repository the user never named. It is a relative
folder of the project, refused inside the repository as any other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import assert_only_changed, snapshot

STATE = [f"clone/.gitpipe/{part}" for part in ("state.db", "state.db-wal", "state.db-shm",
                                                 "state.db-journal", "cache", "logs", "tmp")]


@pytest.mark.parametrize("url", ["C://x", "z://store/x"])
def test_a_drive_letter_url_is_a_folder_of_the_project_not_of_the_caller(
        make_repo: Any, tmp_path: Path, url: str) -> None:
    origin = make_repo("origin")
    origin.spec({"a": {"cmd": "echo x > out.txt", "outs": ["out.txt"]}})
    origin.gen({".gitpipe/config.yaml": {"core": {"remote": "store"},
                                         "remotes": {"store": {"url": url}}}},
               commit="a committed remote whose URL starts with a drive letter")
    clone = origin.clone_to(tmp_path / "clone")
    clone.run("repro", check=True)
    before = snapshot(tmp_path)
    done = clone.run("-C", str(clone.path), "push", cwd=tmp_path)
    said = done.stdout + done.stderr
    assert "Traceback" not in said, said
    assert done.returncode == 2, said
    assert "inside the repository" in done.stderr, said
    assert not (tmp_path / url.split("/")[0]).exists(), said
    assert_only_changed(before, snapshot(tmp_path), STATE)
