"""Options of a committed remote that reach this machine's files. A clone's
committed `.gitpipe/config.yaml` gave an `http://` remote
`client_kwargs: {trust_env: true}`: fsspec hands it to aiohttp's session,
which then reads the user's `~/.netrc` (or `$NETRC`) and sends its login and
password for the remote's host, or the file's `default` entry for any host,
as Basic auth to the server the clone names, on `gitpipe pull` or `fetch`. A
committed `trust_env`, at any depth of a remote's options, is refused when
the config is read; so is a committed `cache_storage` (fsspec's caches,
`simplecache::`, `filecache::`, `blockcache::`): it had `pull` write what the
remote served into any folder of the user's (`~/.bashrc.d`, whose files a
shell sources), whatever gitpipe then made of the bytes."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, serving, snapshot

STATE = [f".gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []
    body = b"echo planted\n"

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization") or "")
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(self.body)

    do_HEAD = do_GET

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Any:
    _Recorder.seen = []
    with serving(_Recorder) as port:
        yield port


@pytest.mark.parametrize("command", ["pull", "fetch"])
def test_a_committed_webhdfs_url_sends_no_netrc_password(
        make_repo: Any, tmp_path: Path, recorder: Any, command: str) -> None:
    """webhdfs (requests) reads ~/.netrc with no option at all: the URL alone
    chose where the file's `default` password went."""
    evil = make_repo("evil")
    evil.spec({"make": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}})
    evil.run("init", check=True)
    evil.run("repro", check=True)
    evil.gen({".gitpipe/config.yaml": {"remotes": {"store": {
        "url": f"webhdfs://127.0.0.1:{recorder}/store"}}}}, commit="a remote")
    ci: Repo = evil.clone_to(tmp_path / "ci")
    netrc = tmp_path / "netrc"
    netrc.write_text("default login alice password s3cret-from-netrc\n")
    netrc.chmod(0o600)
    done = ci.run(command, env={"NETRC": str(netrc)})
    said = done.stdout + done.stderr
    assert _Recorder.seen, said  # the remote was asked
    assert not any(_Recorder.seen), _Recorder.seen  # with no Authorization header
    assert "Traceback" not in said, said


@pytest.mark.parametrize("chained", [False, True], ids=["http", "simplecache-chain"])
@pytest.mark.parametrize("command", ["pull", "fetch"])
def test_a_committed_trust_env_sends_no_netrc_password(
        make_repo: Any, tmp_path: Path, recorder: Any, chained: bool, command: str) -> None:
    url = f"http://127.0.0.1:{recorder}/store"
    options = {"client_kwargs": {"trust_env": True}}
    # A chain is the user's own choice (config.local.yaml): the clone's options
    # for the remote of that name ride along under `http:`.
    remote = {"http": options} if chained else {"url": url, **options}
    evil = make_repo("evil")
    evil.spec({"make": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}})
    evil.run("init", check=True)
    evil.run("repro", check=True)
    evil.gen({".gitpipe/config.yaml": {"remotes": {"store": remote}}}, commit="a remote")
    ci: Repo = evil.clone_to(tmp_path / "ci")
    if chained:
        ci.gen({".gitpipe/config.local.yaml": {"remotes": {"store": {
            "url": f"simplecache::{url}"}}}})
    netrc = tmp_path / "netrc"
    netrc.write_text("default login alice password s3cret-from-netrc\n")
    netrc.chmod(0o600)
    before = snapshot(tmp_path)
    done = ci.run(command, env={"NETRC": str(netrc)})
    said = done.stdout + done.stderr
    assert not any(_Recorder.seen), _Recorder.seen  # no Authorization header sent
    assert done.returncode == 2, said
    assert "Traceback" not in said, said
    where = "store.http.client_kwargs.trust_env" if chained else "store.client_kwargs.trust_env"
    assert f".gitpipe/config.yaml: remotes.{where}" in done.stderr, said
    assert_only_changed(before, snapshot(tmp_path), [f"ci/{name}" for name in STATE])


@pytest.mark.parametrize("cache", ["simplecache", "filecache", "blockcache"])
def test_a_committed_cache_storage_writes_nothing_outside(
        make_repo: Any, tmp_path: Path, recorder: Any, cache: str) -> None:
    outside = tmp_path / "home" / ".bashrc.d"
    outside.mkdir(parents=True)
    url = f"{cache}::http://127.0.0.1:{recorder}/store"
    evil = make_repo("evil")
    evil.spec({"make": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}})
    evil.run("init", check=True)
    evil.run("repro", check=True)
    evil.gen({".gitpipe/config.yaml": {"remotes": {"store": {
        cache: {"cache_storage": str(outside)}}}}}, commit="a remote")
    ci: Repo = evil.clone_to(tmp_path / "ci")
    # The cache is the user's own choice; the clone names where it writes.
    ci.gen({".gitpipe/config.local.yaml": {"remotes": {"store": {"url": url}}}})
    before = snapshot(tmp_path)
    done = ci.run("pull")
    said = done.stdout + done.stderr
    assert list(outside.iterdir()) == [], said
    assert done.returncode == 2, said
    assert "Traceback" not in said, said
    assert f".gitpipe/config.yaml: remotes.store.{cache}.cache_storage" in done.stderr, said
    assert_only_changed(before, snapshot(tmp_path), [f"ci/{name}" for name in STATE])
