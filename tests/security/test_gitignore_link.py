"""A cloned repository's `.gitignore` as a symbolic link. gitpipe adds the
lines for cached outs (and the report's page) to the root `.gitignore`: read
through a link, the file it names (a key, a token) was copied into the work
tree, where the next commit takes it. git does not follow such a link either."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.security.conftest import assert_only_changed, snapshot

SECRET = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n"


@pytest.mark.parametrize("command", [("repro",), ("report",), ("init",)])
def test_a_linked_gitignore_is_neither_read_nor_replaced(
        make_repo, tmp_path: Path, command: tuple[str, ...]) -> None:
    secret = tmp_path / "home" / ".ssh" / "id_ed25519"
    secret.parent.mkdir(parents=True)
    secret.write_text(SECRET)
    origin = make_repo("origin")
    origin.gen({"gen.py": "open('out.txt', 'w').write('model')\n"})
    origin.spec({"make": {"cmd": "python gen.py", "deps": ["gen.py"], "outs": ["out.txt"]}})
    (origin.path / ".gitignore").unlink(missing_ok=True)
    os.symlink(secret, origin.path / ".gitignore")
    origin.commit("ignore rules kept elsewhere")
    victim = origin.clone_to(tmp_path / "victim")
    before = snapshot(tmp_path)
    done = victim.run(*command)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "'.gitignore' is a symbolic link" in done.stderr, done.stderr
    assert os.path.islink(victim.path / ".gitignore")
    assert_only_changed(before, snapshot(tmp_path), ["victim/.gitpipe"])
