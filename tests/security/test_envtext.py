"""Attack on `env changed`: a cloned repository's gitpipe.yaml whose env values
hold terminal escape sequences, or whose secrets a status could print. The
CLI runs on the crafted repository; a snapshot of the whole temp tree is
compared before and after."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

SPEC = ("stages:\n  s:\n    cmd: echo > o.txt\n    outs: [o.txt]\n"
        "    env: {{MODE: {mode}, API_TOKEN: {token}}}\n")


def test_env_values_with_escapes_or_secrets_never_reach_the_output(repo: Repo,
                                                                   tmp_path: Path) -> None:
    repo.gen({"gitpipe.yaml": SPEC.format(mode="a", token="old-token-1")})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("built")
    # The crafted edit: an escape sequence that would recolour (or retitle) a
    # terminal, and a new secret value.
    repo.gen({"gitpipe.yaml": SPEC.format(mode='"\\e]0;owned\\a\\e[31mred"',
                                          token="new-token-2")})
    before = snapshot(tmp_path)
    for args in (("status",), ("status", "--json"), ("hooks", "run", "lock-check")):
        done = repo.run(*args)
        seen = done.stdout + done.stderr
        assert "\x1b" not in seen and "\x07" not in seen, (args, seen)
        assert "old-token-1" not in seen and "new-token-2" not in seen, (args, seen)
        assert "Traceback" not in seen
    text = repo.run("status").stdout
    # Escaped as every name and value from git is (trust.checks.terminal_text).
    assert "env changed: API_TOKEN changed (a secret); MODE a -> \\x1b]0;owned\\x07\\x1b[31mred" \
        in text, text
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])
