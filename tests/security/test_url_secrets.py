"""A remote's URL may carry credentials (`https://user:token@host/…`), from the
user's own config.local.yaml. A remote that answers with errors (here a real
HTTP server on 127.0.0.1: 404 for everything, or 500 for everything) must not
make gitpipe print the token, on the terminal or in a --json document."""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, serving, snapshot

TOKEN = "s3cr3tTOKEN"


class _Answer(http.server.BaseHTTPRequestHandler):
    status = 404

    def _answer(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(params=[404, 500])
def failing_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """http://127.0.0.1:PORT of a server answering every request with one status."""
    handler = type("Answer", (_Answer,), {"status": request.param})
    with serving(handler) as port:
        yield f"127.0.0.1:{port}"


@pytest.mark.parametrize("args", [("fetch",), ("pull",), ("fetch", "--json"),
                                  ("fsck", "--remote", "web"),
                                  ("gc", "--remote", "web", "--workspace", "--dry-run")])
def test_a_failing_remote_never_shows_the_token_in_its_url(
        repo: Repo, tmp_path: Path, failing_server: str, args: tuple[str, ...]) -> None:
    repo.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("ran")
    repo.gen({".gitpipe/config.local.yaml": {
        "core": {"remote": "web"},
        "remotes": {"web": {"url": f"http://alice:{TOKEN}@{failing_server}/store"}}}})
    clone = repo.clone_to(tmp_path / "clone")
    (clone.path / ".gitpipe/config.local.yaml").write_text(
        (repo.path / ".gitpipe/config.local.yaml").read_text())
    before = snapshot(tmp_path)
    done = clone.run(*args, env={"GITPIPE_RETRY_BACKOFF": "0"}, timeout=120)
    shown = done.stdout + done.stderr
    assert "Traceback" not in shown, shown
    assert TOKEN not in shown, shown
    assert "alice:****@" in shown or done.returncode == 0, shown
    state = [f"clone/.gitpipe/{name}" for name in ("state.db", "state.db-wal", "state.db-shm",
                                                     "state.db-journal", "project.lock",
                                                     "cache/tmp", "cache")]
    assert_only_changed(before, snapshot(tmp_path), state)


def test_remote_list_masks_an_azure_connection_string_and_an_ssh_passphrase(
        repo: Repo, tmp_path: Path) -> None:
    """`remote list` (and `remote modify`'s echo) masked options by a name
    rule that missed `connection_string` (an Azure account key inside) and
    `passphrase`: a CI log of `gitpipe remote list` held the account key.
    One rule now masks them where shown and keeps them out of a Job."""
    secret = "AccountKey=" + TOKEN
    repo.gen({"gitpipe.yaml": "stages: {}\n"})
    repo.run("remote", "add", "--local", "store", "abfs://container/cache", check=True)
    modified = repo.run("remote", "modify", "--local", "store", "connection_string",
                        f"DefaultEndpointsProtocol=https;{secret}", check=True)
    repo.run("remote", "modify", "--local", "store", "passphrase", TOKEN, check=True)
    before = snapshot(tmp_path)
    listed = repo.run("remote", "list", check=True)
    assert "connection_string=****" in listed.stdout and "passphrase=****" in listed.stdout, \
        listed.stdout
    for done in (modified, listed):
        assert TOKEN not in done.stdout + done.stderr, done.stdout + done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe/tmp"])
