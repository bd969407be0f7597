"""Attacks on this clone's record of what a remote holds (storage/seen.py):
a push believes a remote's claim without reading it back only for objects
the record says this clone sent to, or read back from, that same storage.

Two remotes with one URL and another endpoint are two storages; the record
kept for one vouched for the other, so a loose object planted on the second
under a name and size from the committed lock made the push skip it."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitpipe.storage.remote import object_key
from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

OUT = "open('out.txt', 'w').write('model ' * 50)\n"


@pytest.fixture
def second_s3_server() -> Iterator[str]:
    """Another moto server: the same bucket names, other storage."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _client(endpoint: str):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.session.Session().client("s3", endpoint_url=endpoint)


def _ran(make_repo, url: str, endpoints: dict[str, str]):  # type: ignore[no-untyped-def]
    """A repository that ran its stage, with a remote at `url` for each name
    of `endpoints` (its endpoint_url option, where one is given)."""
    origin = make_repo("origin")
    origin.gen({"gen.py": OUT})
    origin.spec({"make": {"cmd": "python gen.py", "deps": ["gen.py"], "outs": ["out.txt"]}})
    for name, endpoint in endpoints.items():
        origin.run("remote", "add", name, url, check=True)
        if endpoint:
            origin.run("remote", "modify", name, "endpoint_url", endpoint, check=True)
    origin.run("repro", check=True)
    origin.commit("ran")
    return origin


def _plant_push_pull(origin, tmp_path: Path, endpoint: str, bucket: str,  # type: ignore[no-untyped-def]
                     remote: str, env: dict[str, str]) -> None:
    """Whoever can write the bucket at `endpoint` plants other bytes under the
    name and size the committed lock gives; a push to `remote` must read them
    back, doubt them and send the object again, so a fresh clone pulls it."""
    digest = origin.project().lock_entries["make"].outs[0].digest
    size = (origin.path / "out.txt").stat().st_size
    _client(endpoint).put_object(Bucket=bucket, Key=f"cache/{object_key(digest)}",
                                 Body=os.urandom(size))
    before = snapshot(tmp_path)
    pushed = origin.run("push", "-r", remote, env=env)
    assert pushed.returncode == 0 and "Traceback" not in pushed.stderr, pushed.stderr
    assert f"remote {remote!r} claims to hold 1 object(s)" in pushed.stderr, pushed.stderr
    laptop = origin.clone_to(tmp_path / "laptop")
    pulled = laptop.run("pull", "-r", remote, env=env)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert (laptop.path / "out.txt").read_bytes() == (origin.path / "out.txt").read_bytes()
    assert_only_changed(before, snapshot(tmp_path), ["origin/.gitpipe", "laptop"])


def _bucket_on(*endpoints: str) -> str:
    bucket = f"seen-{os.urandom(6).hex()}"
    for endpoint in endpoints:
        _client(endpoint).create_bucket(Bucket=bucket)
    return bucket


@pytest.mark.s3
def test_a_record_of_one_endpoint_vouches_for_no_other(
        make_repo, tmp_path: Path, s3_env: dict[str, str], s3_server: str,
        second_s3_server: str) -> None:
    bucket = _bucket_on(s3_server, second_s3_server)
    origin = _ran(make_repo, f"s3://{bucket}/cache",
                  {"staging": s3_server, "prod": second_s3_server})
    assert origin.run("push", "-r", "staging").returncode == 0
    _plant_push_pull(origin, tmp_path, second_s3_server, bucket, "prod", {})


@pytest.mark.s3
def test_a_record_of_the_endpoint_the_environment_named_vouches_for_no_other(
        make_repo, tmp_path: Path, s3_env: dict[str, str], s3_server: str,
        second_s3_server: str) -> None:
    bucket = _bucket_on(s3_server, second_s3_server)
    origin = _ran(make_repo, f"s3://{bucket}/cache", {"store": ""})
    assert origin.run("push", "-r", "store", env={"AWS_ENDPOINT_URL": s3_server}).returncode == 0
    _plant_push_pull(origin, tmp_path, second_s3_server, bucket, "store",
                     {"AWS_ENDPOINT_URL": second_s3_server})


@pytest.mark.s3
def test_a_record_of_the_endpoint_a_profile_named_vouches_for_no_other(
        make_repo, tmp_path: Path, s3_env: dict[str, str], s3_server: str,
        second_s3_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The endpoint comes from the AWS config file's profile (`endpoint_url`
    under `[default]`), which the user re-points: the URL, options and
    variables are the same, so the record of the first storage vouched for
    the second."""
    bucket = _bucket_on(s3_server, second_s3_server)
    config = tmp_path / "aws-config"
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    _repointed(make_repo, tmp_path, config, bucket, s3_server, second_s3_server)


@pytest.mark.s3
def test_a_record_of_the_endpoint_a_config_file_named_through_a_variable_vouches_for_no_other(
        make_repo, tmp_path: Path, s3_env: dict[str, str], s3_server: str,
        second_s3_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS_CONFIG_FILE names its file through a variable (`$AWS_DIR/config`,
    as a CI file's `env:` writes it, unexpanded): botocore expands it and
    reads the profile's `endpoint_url` there. Read as the literal path, the
    file was missing to gitpipe whatever it said, and the record of the
    first storage vouched for the second once the user re-pointed it."""
    bucket = _bucket_on(s3_server, second_s3_server)
    config = tmp_path / "aws" / "config"
    config.parent.mkdir()
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("GITPIPE_TEST_AWS_DIR", str(config.parent))
    monkeypatch.setenv("AWS_CONFIG_FILE", "$GITPIPE_TEST_AWS_DIR/config")
    _repointed(make_repo, tmp_path, config, bucket, s3_server, second_s3_server)


def _repointed(make_repo, tmp_path: Path, config: Path, bucket: str, first: str,
               second: str) -> None:
    """A push to the storage the AWS config file's `[default]` points at, then
    the file re-pointed at the second: the first's record must vouch for
    nothing there."""
    config.write_text(f"[default]\nendpoint_url = {first}\n")
    origin = _ran(make_repo, f"s3://{bucket}/cache", {"store": ""})
    assert origin.run("push", "-r", "store").returncode == 0
    assert _client(first).list_objects_v2(Bucket=bucket)["KeyCount"] > 0
    config.write_text(f"[default]\nendpoint_url = {second}\n")
    _plant_push_pull(origin, tmp_path, second, bucket, "store", {})


@pytest.mark.s3
@pytest.mark.parametrize("variable", ["AWS_DEFAULT_PROFILE", "AWS_PROFILE"])
def test_a_record_of_the_profile_the_environment_chose_vouches_for_no_other(
        make_repo, tmp_path: Path, s3_env: dict[str, str], s3_server: str,
        second_s3_server: str, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    """One AWS config file, two profiles with their own `endpoint_url`; the
    environment chooses the profile (botocore reads AWS_DEFAULT_PROFILE as
    it reads AWS_PROFILE): the record of the first storage vouched for the
    second."""
    bucket = _bucket_on(s3_server, second_s3_server)
    config = tmp_path / "aws-config"
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    config.write_text(f"[profile staging]\nendpoint_url = {s3_server}\n"
                      f"[profile prod]\nendpoint_url = {second_s3_server}\n")
    origin = _ran(make_repo, f"s3://{bucket}/cache", {"store": ""})
    assert origin.run("push", "-r", "store", env={variable: "staging"}).returncode == 0
    assert _client(s3_server).list_objects_v2(Bucket=bucket)["KeyCount"] > 0
    _plant_push_pull(origin, tmp_path, second_s3_server, bucket, "store", {variable: "prod"})


@pytest.mark.s3
def test_a_record_of_the_endpoint_the_credentials_file_named_vouches_for_no_other(
        make_repo, tmp_path: Path, s3_env: dict[str, str], s3_server: str,
        second_s3_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore merges the shared credentials file's profiles into the
    config file's: an `endpoint_url` there points the same URL at other
    storage as one in the config file does."""
    bucket = _bucket_on(s3_server, second_s3_server)
    credentials = tmp_path / "aws-credentials"
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    credentials.write_text(f"[default]\nendpoint_url = {s3_server}\n")
    origin = _ran(make_repo, f"s3://{bucket}/cache", {"store": ""})
    assert origin.run("push", "-r", "store").returncode == 0
    assert _client(s3_server).list_objects_v2(Bucket=bucket)["KeyCount"] > 0
    credentials.write_text(f"[default]\nendpoint_url = {second_s3_server}\n")
    _plant_push_pull(origin, tmp_path, second_s3_server, bucket, "store", {})


def _records(store: Path, digest: str) -> dict[str, str]:
    """The names a record of the folder remote `store` may have, whichever
    gitpipe reads it, each naming `digest` as held there."""
    import hashlib

    import xxhash

    from gitpipe.storage.remotefs import Remote

    remote = Remote("store", str(store))
    names = {xxhash.xxh3_128_hexdigest(str(store).encode()),
             hashlib.sha256(getattr(remote, "identity", "").encode()).hexdigest()}
    return {f"cache/remotes/{name}": f"{digest}\n" for name in names}


def _git(where: Path, *args: str) -> None:
    import subprocess

    from tests.conftest import GIT_ENV

    subprocess.run(["git", "-c", "protocol.file.allow=always", *args], cwd=where, check=True,
                   capture_output=True, env={**os.environ, **GIT_ENV})


def _planted(make_repo, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A repository that ran its stage, with a folder remote `store` where a
    writer planted other bytes under the out's name and size."""
    origin = make_repo("origin")
    origin.gen({"gen.py": OUT})
    origin.spec({"make": {"cmd": "python gen.py", "deps": ["gen.py"], "outs": ["out.txt"]}})
    store = tmp_path / "store"
    origin.run("remote", "add", "-d", "store", str(store), check=True)
    origin.run("repro", check=True)
    digest = origin.project().lock_entries["make"].outs[0].digest
    size = (origin.path / "out.txt").stat().st_size
    (store / object_key(digest)).parent.mkdir(parents=True)
    (store / object_key(digest)).write_bytes(os.urandom(size))
    return origin, store, digest


@pytest.mark.parametrize("commands", [[("repro",), ("push",)], [("pull",)], [("status",)]])
def test_a_gitpipe_folder_from_a_submodule_is_refused(
        make_repo, tmp_path: Path, commands: list[tuple[str, ...]]) -> None:
    # `.gitpipe/` as a submodule: git's index holds one entry for it, never the
    # files below, so nothing looked tracked; its commits brought this
    # machine's own state (a record naming the out as held by the shared
    # remote, where a writer planted other bytes under its name and size).
    origin, store, digest = _planted(make_repo, tmp_path)
    state = make_repo("state")
    state.gen({"config.yaml": (origin.path / ".gitpipe/config.yaml").read_text(),
               **_records(store, digest)}, commit="state")
    (origin.path / ".gitpipe").rename(tmp_path / "origin-state")
    _git(origin.path, "submodule", "add", "-q", str(state.path), ".gitpipe")
    origin.commit("the project's folder as a submodule")
    victim = tmp_path / "victim"
    _git(tmp_path, "clone", "-q", "--recurse-submodules", str(origin.path), str(victim))
    before = snapshot(tmp_path)
    for done in [Repo(victim, init=False).run(*command) for command in commands][::-1]:
        assert done.returncode != 0, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        assert "'.gitpipe' is the work tree of another git repository" in done.stderr, \
            done.stderr
    assert_only_changed(before, snapshot(tmp_path))


def test_following_the_hint_leaves_no_committed_record(make_repo, tmp_path: Path) -> None:
    # A committed record is refused; the hint once said `git rm -r --cached`,
    # which leaves the commit's copy in the work tree, believed from then on.
    origin, store, digest = _planted(make_repo, tmp_path)
    planted = {f".gitpipe/{path}": text for path, text in _records(store, digest).items()}
    origin.gen(planted)
    origin.git("add", "-f", *planted)
    origin.commit("ran")
    victim = origin.clone_to(tmp_path / "victim")
    before = snapshot(tmp_path)
    refusal = victim.run("push")
    assert refusal.returncode != 0 and "is tracked by git" in refusal.stderr, refusal.stderr
    hinted = re.search(r"git rm -r(?: --cached)?", refusal.stderr)
    assert hinted is not None, refusal.stderr
    victim.git(*hinted[0].split()[1:], "--", ".gitpipe/cache")
    victim.git("commit", "-q", "-m", "untrack the cache")
    assert victim.run("repro").returncode == 0
    pushed = victim.run("push")
    assert pushed.returncode == 0 and "Traceback" not in pushed.stderr, pushed.stderr
    assert "remote 'store' claims to hold 1 object(s)" in pushed.stderr, pushed.stdout
    laptop = victim.clone_to(tmp_path / "laptop")
    pulled = laptop.run("pull")
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert (laptop.path / "out.txt").read_bytes() == (origin.path / "out.txt").read_bytes()
    assert_only_changed(before, snapshot(tmp_path), ["victim", "laptop", "store/files",
                                                     "store/runs"])


def _limited() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_a_record_larger_than_memory_is_read_a_block_at_a_time(repo: Repo,
                                                               tmp_path: Path) -> None:
    """The record was read whole and decoded: one of 768 MiB (its lines,
    then NULs) made every push die of MemoryError under an address space of
    1 GiB. It is read a block at a time and only its digests are kept."""
    repo.gen({"gen.py": OUT})
    repo.spec({"make": {"cmd": "python gen.py", "deps": ["gen.py"], "outs": ["out.txt"]}})
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    repo.run("repro", check=True)
    repo.run("push", check=True)
    [record] = (repo.path / ".gitpipe" / "cache" / "remotes").iterdir()
    with open(record, "ab") as handle:
        handle.truncate(768 << 20)
    before = snapshot(tmp_path)
    done = repo.run("push", preexec_fn=_limited, timeout=120)
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    assert "1 already there" in done.stdout, done.stdout
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe/tmp", "repo/.gitpipe/state.db",
                                                     "repo/.gitpipe/project.lock"])


@pytest.mark.s3
def test_a_rotated_key_in_the_credentials_file_keeps_the_record(
        make_repo, tmp_path: Path, s3_env: dict[str, str], s3_server: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The credentials file was in the storage identity whole: each rotation
    of a key (CI does it daily) started a new record, so the next push read
    back every object the remote claimed. A key says who asks, not where;
    the file's endpoint still counts (the test above)."""
    bucket = _bucket_on(s3_server)
    credentials = tmp_path / "aws-credentials"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    rows = "[default]\naws_access_key_id = {0}\naws_secret_access_key = s{0}\n"
    credentials.write_text(rows.format("one"))
    origin = _ran(make_repo, f"s3://{bucket}/cache", {"store": ""})
    assert origin.run("push", "-r", "store").returncode == 0
    records = origin.path / ".gitpipe" / "cache" / "remotes"
    first = sorted(records.iterdir())
    credentials.write_text(rows.format("two"))
    pushed = origin.run("push", "-r", "store")
    assert pushed.returncode == 0 and "1 already there" in pushed.stdout, pushed.stdout
    assert sorted(records.iterdir()) == first


@pytest.mark.s3
def test_aws_files_set_to_dev_null_keep_the_record(
        make_repo, tmp_path: Path, s3_env: dict[str, str], s3_server: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`AWS_CONFIG_FILE=/dev/null` is how a CI job says "no such file":
    botocore reads it as empty. Taken as an unreadable file, it made every
    push a new storage (a read-back of every object, a new record each
    time)."""
    bucket = _bucket_on(s3_server)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    origin = _ran(make_repo, f"s3://{bucket}/cache", {"store": ""})
    assert origin.run("push", "-r", "store").returncode == 0
    records = origin.path / ".gitpipe" / "cache" / "remotes"
    first = sorted(records.iterdir())
    pushed = origin.run("push", "-r", "store")
    assert pushed.returncode == 0 and "1 already there" in pushed.stdout, pushed.stdout
    assert sorted(records.iterdir()) == first
