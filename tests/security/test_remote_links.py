"""A shared folder remote (a team's NFS share) is written by everyone who
pushes. Object reads and removals there never followed a symlink; a push's
writes did: a link planted at an object's folder (`files/xxh3/04 -> ~/.ssh`)
or a stage's run-cache folder (`runs/make -> ~/.config/autostart`) had the
push write the object or the entry into the folder the link named, outside
the remote. And a record (a run-cache entry, a pack index) was read through
one: to a fifo, `fsck --remote` waited for ever."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.security.conftest import assert_only_changed, snapshot


@pytest.mark.parametrize("planted", ["object", "run-entry"])
def test_a_push_never_writes_through_a_link_in_the_remote(repo, tmp_path: Path,
                                                         planted: str) -> None:
    store, outside = tmp_path / "store", tmp_path / "home" / "outside"
    outside.mkdir(parents=True)
    (outside / "kept").write_text("the user's\n")
    made(repo, store)
    digest = repo.read("gitpipe.lock").split("hash: 'xxh3:")[-1][:32]
    link = store / ("files/xxh3/" + digest[:2] if planted == "object" else "runs/make")
    link.parent.mkdir(parents=True)
    os.symlink(outside, link)
    before = snapshot(tmp_path)
    done = repo.run("push")
    assert done.returncode != 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"{str(link)!r} is not a directory (to {str(outside)!r})" in done.stderr
    assert sorted(os.listdir(outside)) == ["kept"]
    assert os.readlink(link) == str(outside)
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe", "store/files",
                                                     "store/runs", "store/packs"])


@pytest.mark.parametrize("planted", ["folder", "fifo", "hard-link"])
def test_a_push_over_a_planted_file_swaps_the_name_alone(repo, tmp_path: Path,
                                                         planted: str) -> None:
    """What a writer of the folder left at an object's name: a fifo or a hard
    link to a file of the user's is replaced by name (the user's file keeps its
    bytes); a folder is named, with no temp file left and no retry."""
    store, users = tmp_path / "store", tmp_path / "home" / "notes.txt"
    users.parent.mkdir()
    users.write_text("the user's\n")
    made(repo, store)
    digest = repo.read("gitpipe.lock").split("hash: 'xxh3:")[-1][:32]
    target = store / "files" / "xxh3" / digest[:2] / digest[2:]
    target.parent.mkdir(parents=True)
    {"folder": target.mkdir, "fifo": lambda: os.mkfifo(target),
     "hard-link": lambda: os.link(users, target)}[planted]()
    before = snapshot(tmp_path)
    done = repo.run("push", timeout=120)
    assert "Traceback" not in done.stderr
    assert users.read_text() == "the user's\n"
    assert os.listdir(target.parent) == [target.name]
    if planted == "folder":
        assert done.returncode != 0, done.stdout + done.stderr
        assert f"{str(target)!r} is a directory: a folder remote holds regular files only" \
            in done.stderr
        assert "Errno" not in done.stderr
        assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe", "store/runs"])
    else:
        assert done.returncode == 0, done.stdout + done.stderr
        assert target.read_text() == "model"
        assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe", "store/runs",
                                                         str(target.relative_to(tmp_path))])


def test_a_record_is_never_read_through_a_link_in_the_remote(repo, tmp_path: Path) -> None:
    store, fifo = tmp_path / "store", tmp_path / "home" / "fifo"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    made(repo, store)
    repo.run("push", check=True)
    entry = next((store / "runs" / "make").iterdir())
    entry.unlink()
    os.symlink(fifo, entry)
    before = snapshot(tmp_path)
    done = repo.run("fsck", "--remote", "store", timeout=120)
    assert done.returncode != 0, done.stdout + done.stderr
    assert f"runs/make/{entry.name} is not a regular file inside the remote" in done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


def made(repo, store: Path) -> None:
    """One stage run, with `store` as its default folder remote."""
    repo.gen({"gen.py": "open('out.txt', 'w').write('model')\n"})
    repo.spec({"make": {"cmd": "python gen.py", "deps": ["gen.py"], "outs": ["out.txt"]}})
    repo.run("remote", "add", "-d", "store", str(store), check=True)
    repo.run("repro", check=True)
