"""The seal's probe of folder times. Before it records a directory dep's
folder, the sealed `status` asks once whether the file system of `.gitpipe/`
sets a folder's mtime, in a folder it makes there named by its process id, and
removes what it made. A clone's commit can put anything under `.gitpipe/`
beside gitpipe's own parts: a link under that name led the clean-up out of
the repository, which deleted the file it named (`x`) in the folder the link
led to. A process id in a CI container is a small, predictable number."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.conftest import GIT_ENV, RACY_SECONDS
from tests.security.conftest import assert_only_changed, snapshot


def test_a_link_under_the_probes_name_is_neither_followed_nor_removed(make_repo, tmp_path):
    keep = tmp_path / "home" / "keep"
    keep.mkdir(parents=True)
    (keep / "x").write_text("precious\n")
    origin = make_repo("origin")
    origin.gen({"data/a.txt": "1\n", "data/b.txt": "2\n"})
    origin.spec({"make": {"cmd": "cat data/a.txt data/b.txt > out.txt", "deps": ["data"],
                          "outs": ["out.txt"]}})
    origin.commit("pipeline")
    victim = origin.clone_to(tmp_path / "victim")
    victim.run("repro", check=True)
    # A status that waits for a line before it becomes gitpipe: its process id
    # is known before the commit that names it is pulled.
    waiting = subprocess.Popen(
        ["sh", "-c", f"read _ && exec {sys.executable} -m gitpipe status"],
        cwd=victim.path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, **GIT_ENV, "NO_COLOR": "1"})
    os.makedirs(origin.path / ".gitpipe")
    os.symlink(keep, origin.path / ".gitpipe" / f"folder-times-{waiting.pid}.tmp")
    origin.commit("a link where gitpipe probes")
    victim.git("pull", "-q", "--no-rebase")
    victim.age()
    assert victim.run("status", check=True).stdout == "everything is up to date\n"
    time.sleep(RACY_SECONDS)  # the seal that status wrote is past its racy window
    before = snapshot(tmp_path)
    out, err = waiting.communicate("go\n", timeout=300)
    assert waiting.returncode == 0, out + err
    assert out == "everything is up to date\n"
    assert (keep / "x").read_text() == "precious\n"
    assert os.path.islink(victim.path / ".gitpipe" / f"folder-times-{waiting.pid}.tmp")
    assert_only_changed(before, snapshot(tmp_path), ["victim/.gitpipe/state.db"])
