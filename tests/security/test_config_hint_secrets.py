"""A YAML error's hint quotes the line to mend (`line 4 ('cmd python
train.py') has no ':'`); config.local.yaml is where a remote's credentials
live, and a line of it without its ':' printed the secret twice (the line,
and the line as it should read) on stderr, in a CI job's log, from any
command (every command reads the config). A config file's hint names the
line and quotes none of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"
LINES = {
    "a key and its secret": f"    secret_access_key {SECRET}\n",
    "a URL holding a token": f"    endpoint_url https://AKIA:{SECRET}@host\n",
}
STATE = [f".gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]


@pytest.mark.parametrize("args", [("status",), ("push",), ("remote", "list")])
@pytest.mark.parametrize("line", list(LINES))
@pytest.mark.parametrize("name", ["config.local.yaml", "config.yaml"])
def test_a_config_line_without_its_colon_is_named_not_quoted(
        repo: Repo, tmp_path: Path, name: str, line: str, args: tuple[str, ...]) -> None:
    repo.spec({"a": {"cmd": "echo x > out.txt", "outs": ["out.txt"]}}, commit="spec")
    repo.gen({f".gitpipe/{name}": "remotes:\n  store:\n    url: s3://bucket/p\n"
              + LINES[line] + "    region: us-east-1\n"})
    before = snapshot(tmp_path)
    done = repo.run(*args)
    said = done.stdout + done.stderr
    assert SECRET not in said, said
    assert "Traceback" not in said, said
    assert done.returncode == 2, said
    assert f".gitpipe/{name}:5: invalid YAML" in done.stderr, said
    assert "line 4 has no ':' after its key" in done.stderr, said
    # config.local.yaml here without ignore rules: they are written before all
    rules = [".gitpipe/.gitignore"] if name == "config.local.yaml" else []
    assert (repo.path / ".gitpipe" / ".gitignore").exists() == bool(rules)
    assert_only_changed(before, snapshot(tmp_path),
                        [f"{repo.path.name}/{s}" for s in STATE + rules])
