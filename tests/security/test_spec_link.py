"""A cloned repository commits `gitpipe.yaml` or `gitpipe.lock` as a symlink to
a file outside it, shaped so that its secret would be named in a message
(a stage name): a stranger's pull request would print it in a public CI log.
gitpipe reads both only from inside the repository, as it reads params and
vars files: every command refuses the file, naming it, and shows nothing of
the target."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

TOKEN = "AKIAS3CR3TT0KEN"


READERS = {"gitpipe.yaml": [("status",), ("status", "--json"), ("validate",), ("repro",), ("dag",)],
           "gitpipe.lock": [("status",), ("status", "--json"), ("repro",), ("dag", "--status")]}


@pytest.mark.parametrize(("linked", "args"),
                         [(name, args) for name, commands in READERS.items() for args in commands])
def test_the_spec_or_lock_linked_outside_is_never_read(repo: Repo, tmp_path: Path, linked: str,
                                                       args: tuple[str, ...]) -> None:
    (tmp_path / "outside.yaml").write_text(f"stages:\n  {TOKEN}: {{cmd: 1, bad: 2}}\n")
    repo.spec({"a": {"cmd": "echo > a.txt", "outs": ["a.txt"]}})
    (repo.path / linked).unlink(missing_ok=True)
    os.symlink("../outside.yaml", repo.path / linked)
    repo.commit("a linked spec or lock")
    before = snapshot(tmp_path)
    done = repo.run(*args)
    shown = done.stdout + done.stderr
    assert TOKEN not in shown, shown
    assert done.returncode == 2 and "Traceback" not in shown, shown
    assert f"{linked}: leads outside the repository (through a symlink)" in shown, shown
    assert_only_changed(before, snapshot(tmp_path), [".gitpipe"])
    assert os.readlink(repo.path / linked) == "../outside.yaml"
