"""`remote default NAME` where the user's config.local.yaml says no remote is
the default (`core.remote: null`, as `remote default --unset --local`
writes it): the warning says `null`, the file's word, not Python's `None`."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def test_the_warning_for_a_local_no_default_says_it_in_the_files_words(
        make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo("project")
    repo.spec({"a": {"cmd": "echo x > out.txt", "outs": ["out.txt"]}})
    repo.run("init", check=True)
    repo.run("remote", "add", "a", str(tmp_path / "ra"), check=True)
    repo.run("remote", "add", "b", str(tmp_path / "rb"), check=True)
    repo.run("remote", "default", "--unset", "--local", check=True)
    done = repo.run("remote", "default", "a")
    assert "outweighs" in done.stderr, done.stderr
    assert "None" not in done.stderr, done.stderr
