"""A committed remote names shared storage, nothing else. fsspec opens some
two dozen protocols, and each remote finding before this guard was one of
them nobody had listed: a `dir://` remote that wrote into the work tree, a
cache that wrote what the remote served into a folder the clone named, an
archive opened for writing over a file of the user's. A committed URL that
chains filesystems (`a::b`), or names a protocol outside the shared storage
gitpipe knows (a folder, s3, gs, az, ssh/sftp, http(s), hdfs, webhdfs), is
refused when the config is read, naming the file, the remote and the
protocol; config.local.yaml, written by the user's own hands, may still name
any. Each protocol refused here was
harmless by the time this guard came, or refused by an option it takes: the
guard closes the class, for the wrappers and options not yet listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

STATE = [f".gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]


def _clone_with_remote(make_repo: Any, tmp_path: Path, remote: dict[str, Any]) -> Repo:
    """A clone of a repository whose one stage has run and whose committed
    config gives the remote `store` as `remote`."""
    evil = make_repo("evil")
    evil.spec({"make": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}})
    evil.run("init", check=True)
    evil.run("repro", check=True)
    evil.gen({".gitpipe/config.yaml": {"remotes": {"store": remote}}}, commit="a remote")
    return evil.clone_to(tmp_path / "ci")


@pytest.mark.parametrize(("remote", "said"), [
    ({"url": "memory://store"}, "url names the protocol 'memory'"),
    ({"url": "dir://store", "path": "."}, "url names the protocol 'dir'"),
    ({"url": "simplecache::{home}/store"}, "url holds '::', which fsspec reads as a chain of "
                                           "filesystems ('simplecache' over the rest)"),
    ({"url": "zip://out.txt::file://{victim}"}, "url holds '::'"),
    ({"url": "tar::file://{victim}"}, "url holds '::'"),
    ({"url": "reference://", "fo": "{victim}"}, "url names the protocol 'reference'"),
    ({"url": "data:,hello"}, "url names the protocol 'data'"),
    ({"url": "ftp://127.0.0.1:9/store"}, "url names the protocol 'ftp'"),
    ({"url": "S3://bucket/p"}, "url names the protocol 'S3'"),
    ({"url": "s3://bucket/p", "protocol": "file"}, "protocol names another filesystem"),
    ({"url": "s3://bucket/p", "target_protocol": "file"},
     "target_protocol names another filesystem"),
], ids=["memory", "dir", "cache-chain", "zip-chain", "tar-chain", "reference", "data", "ftp",
        "upper-case", "protocol-option", "target-protocol-option"])
@pytest.mark.parametrize("command", ["pull", "push"])
def test_a_committed_remote_outside_the_allow_list_is_refused(
        make_repo: Any, tmp_path: Path, remote: dict[str, Any], said: str,
        command: str) -> None:
    victim = tmp_path / "home" / "secrets.json"
    victim.parent.mkdir()
    victim.write_text('{"token": "the user\'s"}\n')
    body = {key: value.replace("{victim}", str(victim)).replace("{home}", str(victim.parent))
            if isinstance(value, str) else value for key, value in remote.items()}
    ci = _clone_with_remote(make_repo, tmp_path, body)
    if command == "push":
        ci.gen({"out.txt": "hi\n"})
    before = snapshot(tmp_path)
    done = ci.run(command, "-r", "store")
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output, output
    assert f".gitpipe/config.yaml: remotes.store.{said}" in done.stderr, output
    assert_only_changed(before, snapshot(tmp_path), [f"ci/{name}" for name in STATE])


@pytest.mark.parametrize("url", [
    "s3://bucket/p", "s3a://bucket/p", "gs://bucket/p", "gcs://bucket/p", "az://box/p",
    "abfs://box/p", "abfss://box@acct.dfs.core.windows.net/p", "ssh://host/srv/store",
    "sftp://host/srv/store", "https://example.invalid/store", "http://127.0.0.1:9/store",
    "hdfs://name:8020/store", "webhdfs://name:9870/store", "../store", "file:///srv/store",
    "local:///srv/store",
])
def test_shared_storage_may_be_committed(repo: Repo, url: str) -> None:
    repo.gen({".gitpipe/config.yaml": {"remotes": {"store": {"url": url}}}})
    done = repo.run("remote", "list")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("store\t"), done.stdout


def test_the_user_s_own_config_may_name_any_protocol(repo: Repo) -> None:
    """A wrapper of the user's choosing (here fsspec's in-memory filesystem)
    in config.local.yaml is opened and written, as before."""
    repo.spec({"make": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.gen({".gitpipe/config.local.yaml": {"remotes": {"mine": {"url": "memory://store"}}}})
    done = repo.run("push", "-r", "mine")
    assert done.returncode == 0, done.stderr
    assert "pushed 1 object(s)" in done.stdout, done.stdout


def test_remote_add_names_the_local_file_for_a_wrapper(repo: Repo) -> None:
    repo.run("init", check=True)
    before = repo.read(".gitpipe/config.yaml") if (repo.path / ".gitpipe/config.yaml").exists() \
        else None
    done = repo.run("remote", "add", "cached", "simplecache::s3://bucket/p")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert ".gitpipe/config.yaml: remotes.cached.url holds '::'" in done.stderr, done.stderr
    after = repo.read(".gitpipe/config.yaml") if (repo.path / ".gitpipe/config.yaml").exists() \
        else None
    assert after == before
    done = repo.run("remote", "add", "--local", "cached", "simplecache::s3://bucket/p")
    assert done.returncode == 0, done.stderr
    assert "simplecache::s3://bucket/p" in repo.read(".gitpipe/config.local.yaml")


def test_a_wrapper_that_cannot_open_its_file_says_so(repo: Repo) -> None:
    """The user's own `zip::` over a file that is no archive: the filesystem's
    own error on opening, named, with no traceback."""
    repo.spec({"make": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    (repo.path.parent / "not-a-zip").write_text("plain text\n")
    url = f"zip://store::file://{repo.path.parent / 'not-a-zip'}"
    repo.gen({".gitpipe/config.local.yaml": {"remotes": {"mine": {"url": url}}}})
    done = repo.run("pull", "-r", "mine")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert f"remote {url!r} cannot be opened: BadZipFile: File is not a zip file" in \
        done.stderr, done.stderr
