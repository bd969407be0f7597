"""A cloned repository commits its params file as a symlink to a YAML file
outside it (`cfg.yaml -> ~/.config/gh/hosts.yml`, which holds a token) and
names a key of it in `params:`. gitpipe reads params only from inside the
repository, as it reads the spec's vars files: every command refuses the
file, naming it, and the token is never shown, put in the report or
recorded in the lock (which the user would commit)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

TOKEN = "gho_s3cr3tT0KEN"


@pytest.mark.parametrize("args", [("status",), ("status", "--json"), ("validate",),
                                  ("params", "diff"), ("report", "-o", "-"), ("repro",),
                                  ("dag", "--status")])
def test_a_params_file_linked_outside_is_never_read(repo: Repo, tmp_path: Path,
                                                    args: tuple[str, ...]) -> None:
    (tmp_path / "hosts.yml").write_text(f"github.com:\n  oauth_token: {TOKEN}\n")
    repo.spec({"a": {"cmd": "echo > a.txt", "outs": ["a.txt"],
                     "params": [{"cfg.yaml": ["github.com"]}]}})
    os.symlink("../hosts.yml", repo.path / "cfg.yaml")
    repo.commit("params from a link")
    before = snapshot(tmp_path)
    done = repo.run(*args)
    shown = done.stdout + done.stderr
    assert TOKEN not in shown, shown
    assert done.returncode != 0 and "Traceback" not in shown, shown
    # `params diff` reads HEAD's side first: there git holds a link, refused.
    why = ("@HEAD: a symlink (to '../hosts.yml'), not a file" if args[0] == "params"
           else ": leads outside the repository (through a symlink)")
    assert f"cfg.yaml{why}" in shown, shown
    assert_only_changed(before, snapshot(tmp_path), [".gitpipe"])
    assert not (repo.path / "gitpipe.lock").exists()
