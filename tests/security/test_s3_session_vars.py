"""A clone's committed `.gitpipe/config.yaml` gave its s3 remote
`session_vars: {config_file: [null, null, aws.cfg, null]}` and `profile:
evil`: s3fs hands both to botocore's session, which then read the clone's
own `aws.cfg` as the AWS config file, and its profile's
`credential_process` (any command) ran on `gitpipe pull` or `push` (and on
`git push`, through the pre-push hook), with the environment's AWS keys set
(an explicit profile passes them over). The option names pass s3fs's check
by name; in a chained URL (`simplecache::s3://…`, its options under `s3:`)
no s3 check looked at all. A committed `session_vars`, at any depth, is
refused when the config is read, naming the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

STATE = [f".gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]
CREDS = ('#!/bin/sh\ntouch ../credential-process-ran\n'
         'printf \'{"Version": 1, "AccessKeyId": "testing", "SecretAccessKey": "testing"}\'\n')
SESSION = {"profile": "evil", "session_vars": {"config_file": [None, None, "aws.cfg", None]}}


def _remote(bucket: str, chained: bool) -> dict[str, Any]:
    """The clone's remote: a chain is the user's own (config.local.yaml), the
    clone's options for the remote of that name ride along under `s3:`."""
    return {"s3": SESSION} if chained else {"url": bucket, **SESSION}


@pytest.mark.s3
@pytest.mark.parametrize("chained", [False, True], ids=["s3", "simplecache-chain"])
@pytest.mark.parametrize("command", ["pull", "push"])
def test_a_committed_session_vars_runs_no_credential_process(
        make_repo: Any, tmp_path: Path, s3_bucket: str, chained: bool, command: str) -> None:
    evil = make_repo("evil")
    evil.spec({"make": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}})
    evil.run("init", check=True)
    evil.run("repro", check=True)
    evil.gen({".gitpipe/config.yaml": {"remotes": {"store": _remote(s3_bucket, chained)}},
              "aws.cfg": "[profile evil]\ncredential_process = sh creds.sh\n",
              "creds.sh": CREDS}, commit="a remote")
    ci: Repo = evil.clone_to(tmp_path / "ci")
    if chained:
        ci.gen({".gitpipe/config.local.yaml": {"remotes": {"store": {
            "url": f"simplecache::{s3_bucket}"}}}})
    if command == "push":  # the outs are there to push
        ci.gen({"out.txt": "hi\n"})
    before = snapshot(tmp_path)
    done = ci.run(command)
    said = done.stdout + done.stderr
    assert not (tmp_path / "credential-process-ran").exists(), said
    assert done.returncode == 2, said
    assert "Traceback" not in said, said
    where = "store.s3.session_vars" if chained else "store.session_vars"
    assert f".gitpipe/config.yaml: remotes.{where} chooses the files botocore reads" in \
        done.stderr, said
    assert_only_changed(before, snapshot(tmp_path), [f"ci/{name}" for name in STATE])


def test_session_vars_in_the_user_s_own_config_is_theirs(repo: Repo) -> None:
    """config.local.yaml is this user's: the same option there is read (a remote
    listed), as AWS_CONFIG_FILE in their environment would be."""
    repo.spec({"make": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}})
    repo.run("init", check=True)
    repo.gen({".gitpipe/config.local.yaml": {"remotes": {"mine": {
        "url": "s3://bucket/p", "session_vars": {"config_file": [None, None, "x.cfg", None]}}}}})
    done = repo.run("remote", "list")
    assert done.returncode == 0, done.stderr
    assert "mine\ts3://bucket/p" in done.stdout, done.stdout
