"""Attacks on this clone's record of what a remote holds (storage/seen.py):
a push believes a remote's claim without reading it back only for objects
the record says this clone sent to, or read back from, that same storage.

Two remotes with one URL and another endpoint are two storages; the record
kept for one vouched for the other, so a loose object planted on the second
under a name and size from the committed lock made the push skip it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitpipe.storage.remote import object_key
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
