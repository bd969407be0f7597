"""A committed remote gives only the options its protocol's list names (where
its bytes go and how they are stored), and a secret the user's own
config.local.yaml gives, which its library sends as it is, goes only to a
host the user's file names too.

Before the list, each library's options that read this machine's files, ran
a program or sent a secret were refused one name at a time as they were
found. botocore's `proxies` was never on that list: a committed
`config_kwargs: {proxies: …}` sent every signed request of a `push`, its
session token included, through the clone's server. And a webhdfs
`password` the user keeps in config.local.yaml for the team's cluster was
sent as Basic auth to whatever host a pull request wrote into the committed
URL."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Repo
from tests.security.conftest import Recording, assert_only_changed, serving, snapshot

STATE = [f".gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]
S3_ENV = {"AWS_ACCESS_KEY_ID": "AKIDUSERSOWN", "AWS_SECRET_ACCESS_KEY": "user-secret",
          "AWS_SESSION_TOKEN": "users-session-token", "AWS_EC2_METADATA_DISABLED": "true",
          "AWS_MAX_ATTEMPTS": "1"}


class _Recorder(Recording):
    """Any request at all, a proxy's CONNECT too, answered 500."""

    do_CONNECT = Recording._record


@pytest.fixture
def recorder() -> Any:
    _Recorder.seen = []
    with serving(_Recorder) as port:
        yield f"127.0.0.1:{port}"


def _clone(make_repo: Any, tmp_path: Path, remote: dict[str, Any],
           cached: bool = True) -> Repo:
    """A clone of a repository whose one stage has run and whose committed
    config gives the remote `store` as `remote`; `cached`: the out in the
    clone's cache, as after its own repro (push has it to send)."""
    evil = make_repo("evil")
    evil.spec({"make": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}})
    evil.run("init", check=True)
    evil.run("repro", check=True)
    evil.gen({".gitpipe/config.yaml": {"remotes": {"store": remote}}}, commit="a remote")
    ci: Repo = evil.clone_to(tmp_path / "ci")
    if cached:
        shutil.copytree(evil.path / ".gitpipe" / "cache", ci.path / ".gitpipe" / "cache",
                        dirs_exist_ok=True)
    return ci


def test_a_committed_proxy_never_receives_a_push(make_repo: Any, tmp_path: Path,
                                                 recorder: str) -> None:
    ci = _clone(make_repo, tmp_path, {
        "url": "s3://team-bucket/cache", "endpoint_url": "http://127.0.0.1:9",
        "config_kwargs": {"proxies": {"http": f"http://{recorder}"}}})
    before = snapshot(tmp_path)
    done = ci.run("push", env=S3_ENV, timeout=120)
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert ".gitpipe/config.yaml: remotes.store.config_kwargs.proxies is not an option a " \
           "committed remote of this protocol may give (a remote on s3://)" in said
    assert "move remotes.store.config_kwargs to .gitpipe/config.local.yaml" in said
    assert "Traceback" not in said
    assert _Recorder.seen == []
    assert_only_changed(before, snapshot(tmp_path), [f"ci/{p}" for p in STATE])


@pytest.mark.parametrize(("remote", "path"), [
    ({"url": "s3://b/p", "config_kwargs": {"client_cert": "{home}/.ssh/id_ed25519"}},
     "config_kwargs.client_cert"),
    ({"url": "s3://b/p", "client_kwargs": {"verify": "{home}/ca.pem"}}, "client_kwargs.verify"),
    ({"url": "gs://b/p", "token": "{home}/.config/gcloud/creds.json"}, "token"),
    ({"url": "ssh://127.0.0.1/store", "known_hosts": None}, "known_hosts"),
    ({"url": "ssh://127.0.0.1/store", "client_keys": ["{home}/.ssh/id_ed25519"]},
     "client_keys"),
    ({"url": "webhdfs://127.0.0.1:9/store", "kerberos": True}, "kerberos"),
    ({"url": "az://c/p", "account_host": "127.0.0.1:9"}, "account_host"),
    ({"url": "hdfs://127.0.0.1:9/store", "kerb_ticket": "{home}/krb5cc"}, "kerb_ticket"),
    ({"url": "{home}/../store", "auto_mkdir": "yes"}, "auto_mkdir"),
], ids=["s3-client-cert", "s3-verify-path", "gs-token-path", "ssh-no-host-key",
        "ssh-client-keys", "webhdfs-kerberos", "az-account-host", "hdfs-ticket",
        "folder-flag-as-text"])
def test_an_option_off_its_protocols_list_is_refused(make_repo: Any, tmp_path: Path,
                                                     remote: dict[str, Any], path: str) -> None:
    home = tmp_path / "home"
    remote = {key: value.format(home=home) if isinstance(value, str) else value
              for key, value in remote.items()}
    ci = _clone(make_repo, tmp_path, remote)
    before = snapshot(tmp_path)
    for command in ("push", "pull", "status"):
        done = ci.run(command, env=S3_ENV, timeout=120)
        said = done.stdout + done.stderr
        assert done.returncode == 2, said
        assert f".gitpipe/config.yaml: remotes.store.{path} " in said, said
        assert "Traceback" not in said
    assert_only_changed(before, snapshot(tmp_path), [f"ci/{p}" for p in STATE])


def test_the_user_s_chain_takes_no_storage_option_from_the_committed_file(
        make_repo: Any, tmp_path: Path) -> None:
    ci = _clone(make_repo, tmp_path, {"url": "s3://b/p", "s3": {"anon": True}})
    (ci.path / ".gitpipe/config.local.yaml").write_text(
        f"remotes:\n  store:\n    url: simplecache::{tmp_path / 'store'}\n")
    before = snapshot(tmp_path)
    done = ci.run("push")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "remotes.store.s3 is not an option a committed remote of this protocol may give " \
           "(a remote whose URL chains filesystems)" in done.stderr
    assert_only_changed(before, snapshot(tmp_path), [f"ci/{p}" for p in STATE])


def _webhdfs_clone(make_repo: Any, tmp_path: Path, recorder: str, cached: bool) -> Repo:
    """The clone's committed URL names the recorder; the user's config.local.yaml
    gives the password they keep for the team's cluster."""
    ci = _clone(make_repo, tmp_path, {"url": f"webhdfs://{recorder}/store"}, cached)
    (ci.path / ".gitpipe/config.local.yaml").write_text(
        "remotes:\n  store:\n    user: alice\n    password: alices-cluster-password\n")
    return ci


@pytest.mark.parametrize("command", ["push", "pull", "fetch"])
def test_a_local_password_never_goes_to_a_committed_url(
        make_repo: Any, tmp_path: Path, recorder: str, command: str) -> None:
    ci = _webhdfs_clone(make_repo, tmp_path, recorder, cached=command == "push")
    before = snapshot(tmp_path)
    done = ci.run(command, timeout=120)
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert ".gitpipe/config.local.yaml: remotes.store.password is sent as it is to the " \
           "remote's host, and only the committed .gitpipe/config.yaml gives its url" in said
    assert "gitpipe remote modify --local store url VALUE" in said
    assert "Traceback" not in said
    assert _Recorder.seen == []
    assert_only_changed(before, snapshot(tmp_path), [f"ci/{p}" for p in STATE])


def test_a_local_password_goes_where_the_local_url_says(
        make_repo: Any, tmp_path: Path, recorder: str) -> None:
    ci = _webhdfs_clone(make_repo, tmp_path, recorder, cached=False)
    done = ci.run("remote", "modify", "--local", "store", "url", f"webhdfs://{recorder}/store")
    assert done.returncode == 0, done.stderr
    done = ci.run("fetch", timeout=120)
    assert _Recorder.seen, done.stdout + done.stderr  # the user's own remote was asked
    assert all("Authorization: Basic " in seen for seen in _Recorder.seen)


def _sso_home(home: Path) -> dict[str, str]:
    """A user's AWS config whose profile logs in by IAM Identity Center
    (`aws sso login`), with the SSO access token botocore caches; the
    environment that has botocore read it (no keys of its own)."""
    (home / ".aws/sso/cache").mkdir(parents=True)
    (home / ".aws/config").write_text(
        "[profile work]\nsso_session = corp\nsso_account_id = 111122223333\n"
        "sso_role_name = Admin\nregion = us-east-1\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
        "sso_region = us-east-1\n")
    cached = home / ".aws/sso/cache" / f"{hashlib.sha1(b'corp').hexdigest()}.json"
    cached.write_text(json.dumps({"startUrl": "https://corp.awsapps.com/start",
                                  "region": "us-east-1", "accessToken": "users-sso-token",
                                  "expiresAt": "2099-01-01T00:00:00Z"}))
    return {"HOME": str(home), "AWS_CONFIG_FILE": str(home / ".aws/config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws/credentials"),
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1",
            "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": ""}


def test_a_committed_signature_version_never_sends_the_user_s_sso_token(
        make_repo: Any, tmp_path: Path, recorder: str) -> None:
    """botocore's `bearer` signature version sends the SSO access token of the
    profile in use (`aws sso login`'s, good for every account and role the
    user may reach) as it is, in an Authorization header, to the endpoint:
    a committed `signature_version: bearer`, `profile` and `endpoint_url`
    handed it to the clone's server on a push. Only versions that sign
    each request are a committed remote's to choose."""
    ci = _clone(make_repo, tmp_path, {
        "url": "s3://team-bucket/cache", "endpoint_url": f"http://{recorder}",
        "profile": "work", "config_kwargs": {"signature_version": "bearer"}})
    env = _sso_home(tmp_path / "home")
    before = snapshot(tmp_path)
    for command in ("push", "status"):
        done = ci.run(command, "-c" if command == "status" else "--jobs=1", env=env,
                      timeout=120)
        said = done.stdout + done.stderr
        assert not any("users-sso-token" in seen for seen in _Recorder.seen), _Recorder.seen
        assert done.returncode == 2, said
        assert ".gitpipe/config.yaml: remotes.store.config_kwargs.signature_version must be " \
               "one of s3v4, v4, s3" in said, said
        assert "Traceback" not in said
    assert_only_changed(before, snapshot(tmp_path), [f"ci/{p}" for p in STATE])



@pytest.mark.s3
@pytest.mark.parametrize("acl", ["public-read", "public-read-write", "authenticated-read"])
def test_a_committed_acl_never_makes_the_user_s_pushes_public(
        make_repo: Any, tmp_path: Path, s3_env: dict[str, str], s3_bucket: str,
        acl: str) -> None:
    """The user's config.local.yaml names their own private bucket; the
    clone's committed `s3_additional_kwargs: {ACL: public-read}` (on the
    list, as 'how the bytes are stored') had every object `push` wrote
    there readable by anyone (moto recorded the AllUsers grant). A
    committed ACL keeps objects private: a public one is the bucket
    owner's to set (its policy, or config.local.yaml)."""
    import boto3

    ci = _clone(make_repo, tmp_path, {"url": "s3://team-bucket/cache",
                                      "s3_additional_kwargs": {"ACL": acl}})
    (ci.path / ".gitpipe/config.local.yaml").write_text(
        f"remotes:\n  store:\n    url: {s3_bucket}\n")
    s3 = boto3.session.Session().client("s3", endpoint_url=s3_env["AWS_ENDPOINT_URL"])
    bucket = s3_bucket.split("/")[2]
    before = snapshot(tmp_path)
    done = ci.run("push", timeout=120)
    said = done.stdout + done.stderr
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    grants = [grant["Grantee"].get("URI") for item in listed
              for grant in s3.get_object_acl(Bucket=bucket, Key=item["Key"])["Grants"]]
    assert not any(uri and uri.startswith("http://acs.amazonaws.com/groups/global/")
                   for uri in grants), grants
    assert done.returncode == 2, said
    assert ".gitpipe/config.yaml: remotes.store.s3_additional_kwargs.ACL must be one of " \
           "private, bucket-owner-read, bucket-owner-full-control" in said, said
    assert listed == []
    assert_only_changed(before, snapshot(tmp_path), [f"ci/{p}" for p in STATE])
