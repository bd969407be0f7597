"""Changes the file-system monitor's events do not show, and the seals it
must therefore not vouch for: a file with a second name outside the watched
folders (a write through that name reaches no watch of the tree), and a
tree put where a project whose parent folder moved away was (the moved
project's monitor sees nothing of it). Real daemon, real inotify."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitpipe.fastpath.sealwatch import NOT_VOUCHABLE
from tests.conftest import RACY_SECONDS, Repo
from tests.func.test_monitor import (
    built,
    end_monitor,
    gitpipe,
    monitor_pid,
    token_field,
    unsealed,
    vouched,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify")


@pytest.fixture
def placed(tmp_path: Path) -> Iterator[Repo]:
    """A built project one folder below tmp_path, with a running monitor."""
    (tmp_path / "place" / "repo").mkdir(parents=True)
    repo = built(Repo(tmp_path / "place" / "repo"))
    assert "monitor started" in gitpipe(repo.path, "monitor", "start")
    pid = monitor_pid(repo.path)
    yield repo
    gitpipe(repo.path, "monitor", "stop")
    end_monitor(pid, tmp_path / "away" / "repo")
    end_monitor(pid, repo.path)


def test_a_tree_put_where_the_moved_project_was_is_not_vouched_for(placed: Repo,
                                                                    tmp_path: Path) -> None:
    root = placed.path
    vouched(root)
    (tmp_path / "place").rename(tmp_path / "away")  # the watched tree goes with it
    shutil.copytree(tmp_path / "away", tmp_path / "place", symlinks=True)
    (root / "data" / "f1.txt").write_text("9\n")  # in the copy: same size
    expected = unsealed(root)
    assert "a:" in expected

    assert gitpipe(root, "status") == expected


@pytest.mark.parametrize("where", ["params.yaml", "data/f1.txt"])
def test_a_file_with_a_name_outside_the_tree_is_never_vouched_for(
        placed: Repo, tmp_path: Path, where: str) -> None:
    """A file dep (the params file) or a file in a directory dep with a hard
    link outside the tree when the seal is written: written through that
    link (same size), its change reaches no watched folder."""
    root = placed.path
    outside = tmp_path / "outside"
    os.link(root / where, outside)
    gitpipe(root, "repro")
    time.sleep(RACY_SECONDS)
    assert gitpipe(root, "status") == "everything is up to date\n"
    gitpipe(root, "status")
    assert token_field(root) == NOT_VOUCHABLE
    outside.write_text(outside.read_text().replace("1", "2"))
    expected = unsealed(root)
    assert "a:" in expected
    assert gitpipe(root, "status") == expected
