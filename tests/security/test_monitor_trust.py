"""Attacks on the file-system monitor: a clone cannot aim its cookies out of
the repository, and a socket that is not this user's, or a peer that runs as
another user, never vouches for a seal. Built for real through the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from gitpipe.trust.dotdir import user_cache_dir
from gitpipe.trust.monitorlink import socket_path
from tests.conftest import Repo
from tests.func.test_monitor import built as built_monitored
from tests.func.test_monitor import gitpipe, token_field, vouched
from tests.security.conftest import assert_only_changed, snapshot
from tests.security.test_dotgitpipe import built, commit_link, refused

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify")

# A server that answers every question with the token it is given, bound
# where it is told, as the user it is told (root may drop to another).
FAKE = """
import os, socket, sys
path, reply, uid = sys.argv[1], sys.argv[2], int(sys.argv[3])
if uid >= 0:
    os.setuid(uid)
server = socket.socket(socket.AF_UNIX)
server.bind(path)
server.listen(8)
print("ready", flush=True)
while True:
    client, _ = server.accept()
    client.recv(64)
    client.sendall(reply.encode() + b"\\n")
    client.close()
"""


def test_a_cloned_cookie_folder_link_is_refused(make_repo, tmp_path: Path) -> None:
    attacker = built(make_repo("attacker"))
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("precious\n")
    commit_link(attacker, "tmp", victim)
    clone = attacker.clone_to(tmp_path / "clone")
    before = snapshot(tmp_path)
    done = clone.run("monitor", "start")
    refused(done, "'.gitpipe/tmp' is a symbolic link", "never follows")
    assert_only_changed(before, snapshot(tmp_path))
    assert clone.run("monitor", "status").returncode == 1


def _fake_monitor(path: str, token: str, uid: int) -> subprocess.Popen[str]:
    server = subprocess.Popen([sys.executable, "-c", FAKE, path,
                               "ok " + token.replace(":", " "), str(uid)],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdout.readline() == "ready\n"
    return server


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another user")
@pytest.mark.parametrize("impostor", ["socket of another user", "peer of another user"])
def test_a_monitor_of_another_user_is_never_believed(repo: Repo,
                                                     impostor: str) -> None:
    """Another user's process answering the seal's own token (as if nothing
    changed) is not asked, or not believed: the change is reported."""
    root = built_monitored(repo).path
    assert "monitor started" in gitpipe(root, "monitor", "start")
    token = vouched(root)
    gitpipe(root, "monitor", "stop")
    folder = user_cache_dir(str(root))
    assert folder is not None
    nobody = 65534
    # bound in a short folder (a socket's address holds 107 bytes at most),
    # then moved into place
    open_folder = Path(tempfile.mkdtemp())  # where another user can reach
    open_folder.chmod(0o777)
    if impostor == "socket of another user":
        server = _fake_monitor(str(open_folder / "s"), token, -1)
        os.rename(open_folder / "s", socket_path(folder))
        os.chown(socket_path(folder), nobody, nobody)
    else:
        # bound by a process of another user, made this user's file: only
        # SO_PEERCRED tells
        server = _fake_monitor(str(open_folder / "s"), token, nobody)
        os.rename(open_folder / "s", socket_path(folder))
        os.chown(socket_path(folder), os.getuid(), os.getgid())
    try:
        assert token_field(root) == token
        (root / "params.yaml").write_text("n: 9\n")
        time.sleep(0.05)
        assert "a:" in gitpipe(root, "status")
    finally:
        server.kill()
        server.wait()
        open_folder.rmdir()


def test_a_cloned_gitpipe_package_is_not_what_the_monitor_runs(make_repo,
                                                               tmp_path: Path) -> None:
    """`python -m` imports from its working folder first: a clone holding a
    `gitpipe/` package of its own must not be what `monitor start` runs."""
    attacker = built(make_repo("attacker"))
    marker = tmp_path / "pwned"
    (attacker.path / "gitpipe" / "usecases").mkdir(parents=True)
    (attacker.path / "gitpipe" / "__init__.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n")
    (attacker.path / "gitpipe" / "usecases" / "__init__.py").write_text("")
    (attacker.path / "gitpipe" / "usecases" / "fsmonitor.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n")
    attacker.git("add", "gitpipe")
    attacker.git("commit", "-q", "-m", "a package of its own")
    clone = attacker.clone_to(tmp_path / "clone")
    # the console script, as a user runs it (`python -m` here would itself
    # import the clone's package)
    script = [str(Path(sys.executable).with_name("gitpipe")), "monitor"]
    try:
        done = subprocess.run([*script, "start"], cwd=clone.path, text=True,
                              capture_output=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert not marker.exists()
    finally:
        subprocess.run([*script, "stop"], cwd=clone.path, capture_output=True, check=False)
