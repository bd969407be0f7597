"""Attacks on the rule that a secret the user's config.local.yaml gives a
remote goes only to a host the user's own file names
(pipeline/committedoptions.check_local_secrets). The rule named the
options each library sends as they are (a webhdfs `password`, an http
remote's `headers`); for a remote whose URL names any host at all (http,
webhdfs, ssh), every other option the user's file gives may carry a secret
too. Reproduced against a recorder on 127.0.0.1, the clone's committed URL
naming it: aiohttp's `cookies` (top level, or `client_kwargs`) and
`params` (the query string of every request) went to it as they are, and
`client_kwargs: {trust_env: true}` had aiohttp send ~/.netrc's `default`
login as Basic auth. And a committed option beside the user's own URL
led the password elsewhere: webhdfs's `use_https: false` sent it in
clear text. Each is refused now, naming the option and the file."""

from __future__ import annotations

import base64
import json
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Repo
from tests.security.conftest import Recording, assert_only_changed, serving, snapshot

STATE = [f"ci/.gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]
SECRET = "users-own-secret-4711"


class _Recorder(Recording):
    """Any request at all, answered 404."""

    status = 404


@pytest.fixture
def recorder() -> Any:
    _Recorder.seen = []
    with serving(_Recorder) as port:
        yield f"127.0.0.1:{port}"


def _clone(make_repo: Any, tmp_path: Path, committed: dict[str, Any],
           local: dict[str, Any], remote: str = "store") -> Repo:
    """A clone whose one stage ran (its out in the clone's cache, for push to
    send), whose committed config gives `remote` as `committed` and whose
    user's config.local.yaml gives it `local`."""
    evil = make_repo("evil")
    evil.spec({"make": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}})
    evil.run("init", check=True)
    evil.run("repro", check=True)
    evil.gen({".gitpipe/config.yaml": {"remotes": {remote: committed}}}, commit="a remote")
    ci: Repo = evil.clone_to(tmp_path / "ci")
    shutil.copytree(evil.path / ".gitpipe" / "cache", ci.path / ".gitpipe" / "cache",
                    dirs_exist_ok=True)
    (ci.path / ".gitpipe/config.local.yaml").write_text(
        yaml.safe_dump({"remotes": {remote: local}}))
    return ci


LOCAL_OPTIONS = {
    "cookies in client_kwargs": {"client_kwargs": {"cookies": {"session": SECRET}}},
    "cookies": {"cookies": {"session": SECRET}},
    "params": {"params": {"access_token": SECRET}},
    "netrc through trust_env": {"client_kwargs": {"trust_env": True}},
}


@pytest.mark.parametrize("kind", list(LOCAL_OPTIONS))
def test_no_local_option_goes_to_an_http_host_only_the_committed_file_names(
        make_repo: Any, tmp_path: Path, recorder: str, kind: str) -> None:
    local = LOCAL_OPTIONS[kind]
    ci = _clone(make_repo, tmp_path, {"url": f"http://{recorder}/store"}, local)
    netrc = tmp_path / "netrc"
    netrc.write_text(f"default login alice password {SECRET}\n")
    before = snapshot(tmp_path)
    done = ci.run("push", env={"NETRC": str(netrc)}, timeout=120)
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    option = next(iter(local))
    assert f".gitpipe/config.local.yaml: remotes.store.{option}" in said, said
    assert "only the committed .gitpipe/config.yaml gives its url" in said, said
    assert "Traceback" not in said and SECRET not in said, said
    assert _Recorder.seen == []
    assert_only_changed(before, snapshot(tmp_path), STATE)


def test_a_committed_use_https_false_never_carries_the_local_password(
        make_repo: Any, tmp_path: Path, recorder: str) -> None:
    url = f"webhdfs://{recorder}/store"
    ci = _clone(make_repo, tmp_path, {"url": url, "use_https": False},
                {"url": url, "user": "alice", "password": SECRET})
    before = snapshot(tmp_path)
    done = ci.run("push", timeout=120)
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert ".gitpipe/config.local.yaml: remotes.store.password is sent as it is to the " \
           "remote's host, and only the committed .gitpipe/config.yaml gives its use_https" \
           in said, said
    assert _Recorder.seen == []
    assert_only_changed(before, snapshot(tmp_path), STATE)


def test_the_user_s_own_url_takes_the_user_s_options(
        make_repo: Any, tmp_path: Path, recorder: str) -> None:
    url = f"http://{recorder}/store"
    ci = _clone(make_repo, tmp_path, {"url": url}, {"url": url, **LOCAL_OPTIONS["cookies"]})
    done = ci.run("push", timeout=120)
    assert _Recorder.seen, done.stdout + done.stderr  # the user's own remote was asked
    assert all(f"session={SECRET}" in seen for seen in _Recorder.seen)


def test_a_local_sse_c_key_never_goes_to_a_committed_s3_endpoint(
        make_repo: Any, tmp_path: Path, recorder: str) -> None:
    """S3 signs each request, so a committed endpoint gets no secret key; but
    botocore sends an SSE-C key (`s3_additional_kwargs.SSECustomerKey`, the
    key the team's objects are encrypted with) itself, in a header of each
    request: a committed `endpoint_url` had push hand it to the clone's
    server, which could then read the team's objects."""
    ci = _clone(make_repo, tmp_path,
                {"url": "s3://team-bucket/cache", "endpoint_url": f"http://{recorder}"},
                {"key": "AKIDUSERSOWN", "secret": "user-secret",
                 "s3_additional_kwargs": {"SSECustomerAlgorithm": "AES256",
                                          "SSECustomerKey": "0123456789abcdef" * 2}})
    before = snapshot(tmp_path)
    done = ci.run("push", env={"AWS_MAX_ATTEMPTS": "1", "AWS_EC2_METADATA_DISABLED": "true"},
                  timeout=120)
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert ".gitpipe/config.local.yaml: remotes.store.s3_additional_kwargs.SSECustomerKey " \
           "is sent as it is to the remote's host, and only the committed " \
           ".gitpipe/config.yaml gives its url" in said, said
    assert _Recorder.seen == []
    assert_only_changed(before, snapshot(tmp_path), STATE)


def test_the_refusal_s_command_takes_a_committed_option_s_name_as_one_word(
        make_repo: Any, tmp_path: Path) -> None:
    """The refusal of an option off the list suggests the command that moves
    it to config.local.yaml, with the option's name, which is the clone's
    text: `x;touch PWNED;` pasted from it ran `touch` in the user's shell."""
    name = f"x;touch {tmp_path / 'PWNED'};"
    ci = _clone(make_repo, tmp_path, {"url": "s3://team-bucket/cache", name: 1}, {})
    done = ci.run("push")
    assert done.returncode == 2, done.stdout + done.stderr
    hint = next(line for line in done.stderr.splitlines() if line.startswith("hint: "))
    command = hint.split(": 'gitpipe ", 1)[1].rsplit(" VALUE'", 1)[0]
    assert shlex.split(command) == ["remote", "modify", "--local", "store", name], hint
    subprocess.run(["sh", "-c", f"true {command}"], check=True, cwd=tmp_path)
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("name", ["x;touch {tmp}/PWNED;", "$(touch {tmp}/PWNED)", "a b",
                                  "-x", "it's"])
def test_a_remote_s_name_is_one_shell_word(make_repo: Any, tmp_path: Path, name: str) -> None:
    """Hints print a remote's name inside commands to paste (`gitpipe remote
    modify --local NAME …`, `gc`'s, `remote default`'s), and a committed name
    is the clone's text: a remote named `x;touch PWNED;` made the pasted
    hint run `touch`. A name is refused unless a shell reads it as itself."""
    name = name.format(tmp=tmp_path)
    ci = _clone(make_repo, tmp_path, {"url": "s3://team-bucket/cache", "proxies": 1}, {}, name)
    before = snapshot(tmp_path)
    done = ci.run("status")
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"remotes.{name!r} is not a name" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert_only_changed(before, snapshot(tmp_path), STATE)


@pytest.mark.parametrize("option", ["use_ssl", "client_kwargs.use_ssl", "client_kwargs.verify"])
def test_a_committed_plain_connection_never_carries_the_local_sse_c_key(
        make_repo: Any, tmp_path: Path, recorder: str, option: str) -> None:
    """The user's own URL, and a committed `use_ssl: false` (or a TLS check
    turned off) beside it: botocore sent the SSE-C key in a header, in clear
    text, to anyone on the way to S3 (here a proxy standing on that way).
    As webhdfs's `use_https`, the option is the user's file's to give."""
    url = "s3://team-bucket/cache"
    key = "0123456789abcdef" * 2
    top, _, inner = option.rpartition(".")
    committed: dict[str, Any] = {top: {inner: False}} if top else {inner: False}
    ci = _clone(make_repo, tmp_path, {"url": url, **committed},
                {"url": url, "key": "AKIDUSERSOWN", "secret": "user-secret",
                 "s3_additional_kwargs": {"SSECustomerAlgorithm": "AES256",
                                          "SSECustomerKey": key}})
    before = snapshot(tmp_path)
    done = ci.run("push", "--jobs=1", timeout=120, env={
        "AWS_MAX_ATTEMPTS": "1", "AWS_EC2_METADATA_DISABLED": "true",
        "HTTP_PROXY": f"http://{recorder}", "HTTPS_PROXY": f"http://{recorder}",
        "NO_PROXY": "", "AWS_DEFAULT_REGION": "us-east-1"})
    said = done.stdout + done.stderr
    sent = base64.b64encode(key.encode()).decode()
    assert not any(sent in seen for seen in _Recorder.seen), _Recorder.seen
    assert done.returncode == 2, said
    assert ".gitpipe/config.local.yaml: remotes.store.s3_additional_kwargs.SSECustomerKey " \
           "is sent as it is to the remote's host, and only the committed " \
           f".gitpipe/config.yaml gives its {option}" in said, said
    assert _Recorder.seen == []
    assert_only_changed(before, snapshot(tmp_path), STATE)


@pytest.mark.parametrize("where", ["FSSPEC_WEBHDFS", "FSSPEC_WEBHDFS_PASSWORD",
                                   "fsspec's config folder"])
def test_fsspec_s_own_defaults_never_carry_a_password_to_a_committed_url(
        make_repo: Any, tmp_path: Path, recorder: str, where: str) -> None:
    """fsspec adds its own defaults (FSSPEC_<PROTOCOL> variables, the JSON
    files of ~/.config/fsspec) to every filesystem of a protocol: the
    user's webhdfs password kept there, as fsspec's documentation offers,
    went as Basic auth to whatever host the clone's committed URL named
    (the recorder read it). They are the user's own options, as
    config.local.yaml's are: the same rule holds for them."""
    ci = _clone(make_repo, tmp_path, {"url": f"webhdfs://{recorder}/store"}, {})
    folder = tmp_path / "fsspec-config"
    folder.mkdir()
    env = {"FSSPEC_CONFIG_DIR": str(folder)}
    if where == "FSSPEC_WEBHDFS":
        env[where] = json.dumps({"user": "alice", "password": SECRET})
    elif where == "FSSPEC_WEBHDFS_PASSWORD":
        env.update({where: SECRET, "FSSPEC_WEBHDFS_USER": "alice"})
    else:
        (folder / "conf.json").write_text(
            json.dumps({"webhdfs": {"user": "alice", "password": SECRET}}))
    before = snapshot(tmp_path)
    done = ci.run("push", timeout=120, env=env)
    said = done.stdout + done.stderr
    sent = base64.b64encode(f"alice:{SECRET}".encode()).decode()
    assert not any(sent in seen for seen in _Recorder.seen), _Recorder.seen
    assert done.returncode == 2, said
    assert "fsspec's own config (FSSPEC_* variables, its config folder) gives remotes.store " \
           "the option password, which is sent as it is to the remote's host, and only the " \
           "committed .gitpipe/config.yaml gives its url" in said, said
    assert SECRET not in said
    assert_only_changed(before, snapshot(tmp_path), STATE)


def test_fsspec_s_own_defaults_go_where_the_user_s_url_says(
        make_repo: Any, tmp_path: Path, recorder: str) -> None:
    url = f"webhdfs://{recorder}/store"
    ci = _clone(make_repo, tmp_path, {"url": url}, {"url": url})
    done = ci.run("push", timeout=120, env={
        "FSSPEC_WEBHDFS": json.dumps({"user": "alice", "password": SECRET}),
        "FSSPEC_CONFIG_DIR": str(tmp_path / "none")})
    assert _Recorder.seen, done.stdout + done.stderr  # the user's own remote was asked
    assert all("Authorization: Basic " in seen for seen in _Recorder.seen)


def test_fsspec_s_own_defaults_never_go_to_a_sensor_s_host(
        make_repo: Any, tmp_path: Path, recorder: str) -> None:
    """A sensor (`wait_for`) is polled with no options of gitpipe's, so
    fsspec's own defaults are all it takes: the user's webhdfs password kept
    there went as Basic auth to the host a clone's gitpipe.yaml named, on
    every poke of a `repro`. Refused before anything runs."""
    origin = make_repo("origin")
    origin.spec({"a": {"cmd": "echo ran > out.txt", "outs": ["out.txt"],
                       "wait_for": {"path": f"webhdfs://{recorder}/landing/_SUCCESS",
                                    "timeout": "3s", "poke": "1s"}}})
    origin.commit("a sensor")
    clone = origin.clone_to(tmp_path / "clone")
    before = snapshot(tmp_path)
    done = clone.run("repro", timeout=120, env={
        "FSSPEC_WEBHDFS": json.dumps({"user": "alice", "password": SECRET}),
        "FSSPEC_CONFIG_DIR": str(tmp_path / "none")})
    said = done.stdout + done.stderr
    sent = base64.b64encode(f"alice:{SECRET}".encode()).decode()
    assert not any(sent in seen for seen in _Recorder.seen), _Recorder.seen
    assert done.returncode == 2, said
    assert "stage 'a': wait_for: fsspec's own config (FSSPEC_* variables, its config folder) " \
           "gives webhdfs:// the option password, which is sent as it is" in said, said
    assert "Traceback" not in said and SECRET not in said
    assert not (clone.path / "out.txt").exists()
    assert_only_changed(before, snapshot(tmp_path), ["clone/.gitpipe", "clone/.gitignore"])
