"""Options of a committed `ssh://` remote. The allow-list admits `ssh`, and
sshfs hands every option it does not know to `asyncssh.connect`: a clone's
`.gitpipe/config.yaml` with `send_env: ["AWS_*", GITHUB_TOKEN]` had `push`
(and so `git push`'s pre-push hook) send the user's secret variables to the
clone's SSH server, and `proxy_command: sh -c …` (or `config: [ssh.cfg]`,
a committed OpenSSH config whose ProxyCommand runs one, or
`client_host_keysign: ./keysign.sh` when the server offers host-based
login) ran a program of the clone's on `push`, `pull` and `fetch`. Each is refused when the config
is read, at any depth (`sftp_client_kwargs`), naming the file and the
option; config.local.yaml may still set them.

The refusals are checked with or without sshfs installed; the real attack
(an asyncssh server on 127.0.0.1 recording what each session was sent)
where asyncssh and sshfs are."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

STATE = [f".gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]
SECRET = "wJalrXUtnFEMI-not-for-the-clone"

OPTIONS = {
    "send_env": ({"send_env": ["AWS_*", "GITHUB_TOKEN"]}, "send_env"),
    "proxy_command": ({"proxy_command": "sh -c 'id > {tmp}/ran'"}, "proxy_command"),
    "config": ({"config": ["ssh.cfg"]}, "config"),
    "nested": ({"sftp_client_kwargs": {"send_env": ["AWS_*"]}}, "sftp_client_kwargs.send_env"),
    "agent": ({"agent_forwarding": True}, "agent_forwarding"),
    "pkcs11": ({"pkcs11_provider": "evil.so"}, "pkcs11_provider"),
    "keysign": ({"client_host_keysign": "./keysign.sh", "client_host_keys": ["host.pub"]},
                "client_host_keysign"),
}


def _clone(make_repo: Any, tmp_path: Path, url: str, options: dict[str, Any]) -> Repo:
    evil = make_repo("evil")
    evil.spec({"make": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}})
    evil.gen({"ssh.cfg": f"Host *\n  ProxyCommand sh -c 'id > {tmp_path}/ran'\n",
              "keysign.sh": f"#!/bin/sh\nid > {tmp_path}/ran\n"})
    (evil.path / "keysign.sh").chmod(0o755)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                    str(evil.path / "host")], check=True)
    evil.run("init", check=True)
    evil.commit("spec")
    ci: Repo = evil.clone_to(tmp_path / "ci")
    ci.run("repro", check=True)
    body = json.loads(json.dumps(options).replace("{tmp}", str(tmp_path)))
    ci.gen({".gitpipe/config.yaml": {"remotes": {"store": {
        "url": url, "username": "anyone", "password": "anything", **body}}}})
    return ci


@pytest.mark.parametrize("case", sorted(OPTIONS))
@pytest.mark.parametrize("command", ["push", "pull", "status"])
def test_a_committed_ssh_option_that_reaches_this_machine_is_refused(
        make_repo: Any, tmp_path: Path, case: str, command: str) -> None:
    options, where = OPTIONS[case]
    ci = _clone(make_repo, tmp_path, "ssh://127.0.0.1:9/store", options)
    before = snapshot(tmp_path)
    done = ci.run(command, env={"AWS_SECRET_ACCESS_KEY": SECRET})
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert "Traceback" not in said, said
    assert f".gitpipe/config.yaml: remotes.store.{where} " in done.stderr, said
    assert "never part of the committed config" in done.stderr, said
    assert not (tmp_path / "ran").exists()
    assert_only_changed(before, snapshot(tmp_path), [f"ci/{name}" for name in STATE])


def test_the_users_own_file_may_set_them(repo: Repo) -> None:
    repo.spec({"make": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}})
    repo.gen({".gitpipe/config.local.yaml": {"remotes": {"store": {
        "url": "ssh://127.0.0.1:9/store", "send_env": ["LANG"]}}}})
    done = repo.run("status")
    assert done.returncode == 0, done.stdout + done.stderr


SERVER = """
import asyncio, json, sys
import asyncssh

log, root = sys.argv[1], sys.argv[2]

class Server(asyncssh.SSHServer):
    def begin_auth(self, username): return True
    def password_auth_supported(self): return True
    def validate_password(self, username, password): return True
    def host_based_auth_supported(self): return True

class Sftp(asyncssh.SFTPServer):
    def __init__(self, chan):
        with open(log, "a") as out:
            out.write(json.dumps(dict(chan.get_environment())) + "\\n")
        super().__init__(chan, chroot=root)

async def main():
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.listen("127.0.0.1", 0, server_host_keys=[key],
                                   server_factory=Server, sftp_factory=Sftp)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Future()

asyncio.run(main())
"""


@pytest.fixture
def ssh_server(tmp_path: Path) -> Iterator[tuple[int, Path, Path]]:
    """An SFTP server on 127.0.0.1 taking any password: (port, its log of
    the variables each session was sent, its root)."""
    pytest.importorskip("sshfs")
    pytest.importorskip("asyncssh")
    here = tmp_path / "server"
    (here / "root").mkdir(parents=True)
    (here / "server.py").write_text(SERVER)
    server = subprocess.Popen([sys.executable, str(here / "server.py"), str(here / "env.log"),
                               str(here / "root")], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        yield int(server.stdout.readline()), here / "env.log", here / "root"
    finally:
        server.kill()
        server.wait()


@pytest.mark.parametrize("case", ["send_env", "nested", "proxy_command", "config", "keysign"])
def test_a_committed_ssh_remote_sends_no_secret_and_runs_nothing(
        make_repo: Any, tmp_path: Path, ssh_server: tuple[int, Path, Path], case: str) -> None:
    port, log, root = ssh_server
    ci = _clone(make_repo, tmp_path, f"ssh://127.0.0.1:{port}/store", OPTIONS[case][0])
    before = snapshot(tmp_path, skip=(".git", "server"))
    done = ci.run("push", env={"AWS_SECRET_ACCESS_KEY": SECRET, "GITHUB_TOKEN": SECRET})
    said = done.stdout + done.stderr
    assert "Traceback" not in said, said
    sent = log.read_text() if log.exists() else ""
    assert SECRET not in sent, sent
    assert not (tmp_path / "ran").exists(), (tmp_path / "ran").read_text()
    assert done.returncode == 2, said
    assert not list(root.rglob("*")), said
    assert_only_changed(before, snapshot(tmp_path, skip=(".git", "server")),
                        [f"ci/{name}" for name in STATE])
