"""A committed `endpoint_url` of a `gs://` remote. gcsfs signs in with the
user's Google credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's) and
adds the access token it gets, a bearer token good for an hour against
everything the user may reach, to every request: a clone's
`.gitpipe/config.yaml` with `url: gs://team-bucket/store` and
`endpoint_url: http://…` had `push` (`pull`, `fetch`, the pre-push hook)
send `Authorization: Bearer …` to the clone's server. S3's committed
endpoint sends a signature of one request, never the secret, and stays
allowed. The option is refused when the config is read, whichever file
gives the URL; config.local.yaml may set it.

The refusals are checked anywhere; the real attack (a stand-in for
Google's token service and the clone's server, both on 127.0.0.1) where
gcsfs is installed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, serving, snapshot

STATE = [f".gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]
TOKEN = "ya29.the-users-own-token"


def _clone(make_repo: Any, tmp_path: Path, committed: dict[str, Any],
           local: dict[str, Any] | None = None) -> Repo:
    evil = make_repo("evil")
    evil.spec({"make": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}})
    evil.run("init", check=True)
    evil.commit("spec")
    ci: Repo = evil.clone_to(tmp_path / "ci")
    ci.run("repro", check=True)
    ci.gen({".gitpipe/config.yaml": {"remotes": {"store": committed}}})
    if local is not None:
        ci.gen({".gitpipe/config.local.yaml": {"remotes": {"store": local}}})
    return ci


@pytest.mark.parametrize("command", ["push", "pull", "status"])
@pytest.mark.parametrize("where", ["committed-url", "local-url"])
def test_a_committed_endpoint_of_a_gs_remote_is_refused(
        make_repo: Any, tmp_path: Path, command: str, where: str) -> None:
    url = {"url": "gs://team-bucket/store"}
    endpoint = {"endpoint_url": "http://127.0.0.1:9"}
    ci = _clone(make_repo, tmp_path, {**url, **endpoint} if where == "committed-url" else endpoint,
                None if where == "committed-url" else url)
    before = snapshot(tmp_path)
    done = ci.run(command)
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert "Traceback" not in said, said
    assert ".gitpipe/config.yaml: remotes.store.endpoint_url sends this machine's gs:// token" \
        in done.stderr, said
    assert_only_changed(before, snapshot(tmp_path), [f"ci/{name}" for name in STATE])


def test_an_s3_endpoint_and_the_users_own_stay_allowed(make_repo: Any, tmp_path: Path) -> None:
    ci = _clone(make_repo, tmp_path, {"url": "s3://team-bucket/store",
                                      "endpoint_url": "http://127.0.0.1:9"})
    assert ci.run("status").returncode == 0
    ci.gen({".gitpipe/config.yaml": {"remotes": {"store": {"url": "gs://team-bucket/store"}}},
            ".gitpipe/config.local.yaml": {"remotes": {"store": {
                "endpoint_url": "http://127.0.0.1:9"}}}})
    done = ci.run("status")
    assert done.returncode == 0, done.stdout + done.stderr


class _Recorder(BaseHTTPRequestHandler):
    """Google's token service at /token, the clone's server elsewhere."""

    seen: ClassVar[list[str]] = []

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/token"):
            body = json.dumps({"access_token": TOKEN, "expires_in": 3600,
                               "token_type": "Bearer"}).encode()
            self.send_response(200)
        else:
            self.seen.append(self.headers.get("Authorization") or "")
            body = b'{"error": {"code": 404, "message": "not found"}}'
            self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def servers() -> Iterator[int]:
    pytest.importorskip("gcsfs")
    _Recorder.seen = []
    with serving(_Recorder) as port:
        yield port


def _service_account(path: Path, port: int) -> None:
    """The user's own credentials, whose token service is the stand-in."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "p", "private_key_id": "1",
        "private_key": pem, "client_email": "ci@p.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": f"http://127.0.0.1:{port}/token"}))


def test_a_committed_gs_endpoint_gets_no_token(make_repo: Any, tmp_path: Path,
                                               servers: int) -> None:
    home = tmp_path / "home"
    home.mkdir()
    _service_account(home / "sa.json", servers)
    ci = _clone(make_repo, tmp_path, {"url": "gs://team-bucket/store",
                                      "endpoint_url": f"http://127.0.0.1:{servers}"})
    before = snapshot(tmp_path)
    done = ci.run("push", env={"GOOGLE_APPLICATION_CREDENTIALS": str(home / "sa.json"),
                               "NO_GCE_CHECK": "true",
                               "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"})
    said = done.stdout + done.stderr
    assert not any(TOKEN in header for header in _Recorder.seen), _Recorder.seen
    assert done.returncode == 2, said
    assert "Traceback" not in said, said
    assert_only_changed(before, snapshot(tmp_path), [f"ci/{name}" for name in STATE])
