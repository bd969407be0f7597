"""Differential property of the file-system monitor: after any sequence of
edits made with the monitor running, the status the console script prints
(its seal vouched for by the monitor, checked against the paths the monitor
saw change, re-armed, or checked with stat calls) is the status without any
seal and the status of a from-scratch copy; and where the monitor vouched
for the seal before the edit, the status took the monitor's word or its
changed paths, never the full stat check.

Real processes and real inotify: the monitor is the daemon `gitpipe monitor
start` starts, the statuses are separate processes, and each edit is made
immediately before the status that must see it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import RACY_SECONDS, Repo
from tests.func.test_monitor import (
    end_monitor,
    gitpipe,
    monitor_pid,
    monitor_token,
    token_field,
    unsealed,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify")

KINDS = ["content", "same_size_same_mtime", "delete", "new_file", "rename", "new_dir",
         "edit_deep", "ignore", "symlink", "param", "unrelated", "script", "outside_name",
         "rename_dir", "swap_dirs", "move_in", "touch_out", "chmod", "replace_conf"]
STEPS = st.lists(st.tuples(st.booleans(), st.sampled_from(KINDS), st.integers(0, 1000)),
                 min_size=1, max_size=5)


def start(root: Path) -> None:
    (root / "data" / "d0").mkdir(parents=True)
    (root / "data" / "d1").mkdir(parents=True)
    for i in range(3):
        (root / "data" / "d0" / f"f{i}.txt").write_text(f"zero {i}\n")
        (root / "data" / "d1" / f"f{i}.txt").write_text(f"one {i}\n")
    (root / "data" / "d1" / "link").symlink_to("f0.txt")
    (root / "script.txt").write_text("v1\n")
    (root / "params.yaml").write_text("n: 1\n")
    (root / "README.md").write_text("notes\n")
    (root / "conf").mkdir()
    (root / "conf" / "p.txt").write_text("p\n")  # a file dep in a folder no stage lists


SPEC = {
    "a": {"cmd": "cat script.txt > a.out && ls -R data/d0 >> a.out",
          "deps": ["script.txt", "data/d0", "conf/p.txt"], "params": ["n"], "outs": ["a.out"]},
    "b": {"cmd": "cat a.out > b.out && ls -R data/d1 >> b.out",
          "deps": ["a.out", "data/d1"], "outs": ["b.out"]},
}


def files_in(root: Path) -> list[Path]:
    return sorted(p for p in (root / "data").rglob("*") if p.is_file() and not p.is_symlink())


def edit(root: Path, kind: str, pick: int) -> None:
    """One edit of the work tree, of `kind`; `pick` chooses what it touches."""
    files = files_in(root)
    target = files[pick % len(files)] if files else None
    if kind == "content" and target:
        with open(target, "a") as handle:
            handle.write(f"more {pick}\n")
    elif kind == "same_size_same_mtime" and target:
        before = target.stat()
        text = target.read_text()
        target.write_text(text[::-1] if text[::-1] != text else text.upper())
        os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    elif kind == "delete" and target:
        target.unlink()
    elif kind == "new_file":
        # its folder made again where a rename_dir before moved it away
        folder = root / "data" / f"d{pick % 2}"
        folder.mkdir(exist_ok=True)
        (folder / f"new{pick}.txt").write_text(f"{pick}\n")
    elif kind == "rename" and target:
        target.rename(target.with_name(f"renamed{pick}.txt"))
    elif kind == "new_dir":
        folder = root / "data" / f"d{pick % 2}" / f"sub{pick}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "g.txt").write_text("g\n")
    elif kind == "edit_deep":
        deep = [p for p in files if p.parent.name.startswith("sub")]
        if deep:
            chosen = deep[pick % len(deep)]
            chosen.write_text(chosen.read_text()[:-1] + "!")  # same size
    elif kind == "ignore":
        rules = root / "data" / "d0" / ".gitpipeignore"
        (root / "data" / "d0" / "x.tmp").write_text("scratch\n")
        if rules.exists():
            rules.unlink()
        else:
            rules.write_text("*.tmp\n")
    elif kind == "symlink":
        # data/d1's link, wherever a folder edit before took it (or a new one)
        link = next((p for p in sorted((root / "data").rglob("link")) if p.is_symlink()),
                    root / "data" / "link")
        was = os.readlink(link) if link.is_symlink() else None
        fresh = link.with_name("link.new")
        fresh.symlink_to(f"f{1 + pick % 2}.txt" if was == "f0.txt" else "f0.txt")
        fresh.replace(link)
    elif kind == "param":
        (root / "params.yaml").write_text(f"n: {pick}\n")
    elif kind == "unrelated":
        (root / "README.md").write_text(f"notes {pick}\n")
    elif kind == "script":
        (root / "script.txt").write_text(f"v{pick}\n")
    elif kind in ("rename_dir", "swap_dirs", "move_in", "touch_out", "chmod", "replace_conf"):
        edit_folders(root, kind, pick)
    elif kind == "outside_name" and outside_name(root).exists():
        # a write through a hard link outside the tree: no event reaches the monitor
        text = outside_name(root).read_text()
        outside_name(root).write_text(text[::-1] if text[::-1] != text else text.upper())


def edit_folders(root: Path, kind: str, pick: int) -> None:
    """Edits of whole folders, and of what the monitor sees only as a stat
    change: every path under both names of a folder moved, one moved in
    from outside the tree, an out touched, a dep's mode flipped."""
    data = root / "data"
    if kind == "rename_dir":
        folder = data / f"d{pick % 2}"
        if folder.exists() and not (data / "moved").exists():
            folder.rename(data / "moved")
            if pick % 3:  # and back: the same files under the same name again
                (data / "moved").rename(folder)
    elif kind == "swap_dirs" and (data / "d0").exists() and (data / "d1").exists():
        (data / "d0").rename(data / "swap")
        (data / "d1").rename(data / "d0")
        (data / "swap").rename(data / "d1")
    elif kind == "move_in":
        outside = root.parent / f"in{pick}"
        (outside / "deeper").mkdir(parents=True, exist_ok=True)
        (outside / "deeper" / "h.txt").write_text(f"{pick}\n")
        target = data / f"d{pick % 2}" / f"in{pick}"
        if (data / f"d{pick % 2}").exists() and not target.exists():
            outside.rename(target)
    elif kind == "touch_out":
        os.utime(root / "a.out")
    elif kind == "replace_conf" and (root / "conf").exists():
        # a folder put in the place of another: the files in it make no event
        fresh = root.parent / f"conf{pick}"
        fresh.mkdir(exist_ok=True)
        (fresh / "p.txt").write_text("q\n" if pick % 2 else "p\n")
        (root / "conf").rename(Path(tempfile.mkdtemp(dir=root.parent)) / "conf")
        fresh.rename(root / "conf")
    elif kind == "chmod":
        mode = (root / "script.txt").stat().st_mode
        (root / "script.txt").chmod(mode ^ 0o100)


# A change to the tree in every case: the monitor's token moves.
CHANGING = {"content", "same_size_same_mtime", "new_file", "new_dir", "ignore", "symlink",
            "param", "unrelated", "script", "rename_dir", "move_in", "touch_out", "chmod"}


def outside_name(root: Path) -> Path:
    """A second name, outside the tree, that a file of data/d1 has in some examples."""
    return root.parent / "outside.txt"


def from_scratch(root: Path, scratch: Path) -> str:
    """The status of a copy of the tree with no seal, parse cache or stat cache."""
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(root, scratch, symlinks=True)
    for state in (scratch / ".gitpipe").glob("state.db*"):
        state.unlink()
    return unsealed(scratch)


def seal_vouched(root: Path, linked: bool) -> None:
    gitpipe(root, "repro")
    time.sleep(RACY_SECONDS)
    gitpipe(root, "status")
    gitpipe(root, "status")
    if gitpipe(root, "status") == "everything is up to date\n" and not linked:
        # the seal holds by the monitor's word: the path under test
        assert token_field(root) == monitor_token(root)


def traced(root: Path, trace: Path) -> tuple[str, list[str]]:
    """A status's output, and the way its seal check went (sealwatch.TRACE)."""
    trace.unlink(missing_ok=True)
    said = gitpipe(root, "status", env={"GITPIPE_TRACE_MONITOR": str(trace)})
    return said, trace.read_text().splitlines() if trace.exists() else []


def route_taken(route: list[str], kind: str) -> bool:
    """Whether a status whose seal the monitor vouched for before the edit
    `kind` took the monitor's word, or stat-ed only what it saw change."""
    if route == ["held by the token"]:
        return kind not in CHANGING
    return (len(route) == 2 and route[0] == "token moved"
            and route[1].startswith(("held: ", "judged: ")))


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(steps=STEPS, linked=st.booleans())
@example(steps=[(True, "outside_name", 0)], linked=True)
@example(steps=[(False, "swap_dirs", 0), (False, "symlink", 0)], linked=False)
@example(steps=[(True, "swap_dirs", 0), (True, "rename_dir", 1), (False, "move_in", 2)],
         linked=False)
@example(steps=[(True, "touch_out", 0), (False, "chmod", 0), (True, "rename_dir", 3)],
         linked=False)
@example(steps=[(True, "replace_conf", 1), (True, "replace_conf", 2)], linked=False)
@example(steps=[(True, "rename_dir", 0), (False, "new_file", 0), (False, "new_dir", 2)],
         linked=False)
def test_a_monitored_status_is_the_unsealed_and_the_from_scratch_status(steps: list,
                                                                        linked: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        repo = Repo(root)
        start(root)
        if linked:  # before any seal: a link made later is no event (see staleness.md)
            os.link(root / "data" / "d1" / "f2.txt", outside_name(root))
        repo.spec(SPEC)
        repo.commit("start")
        gitpipe(root, "repro")
        assert "monitor started" in gitpipe(root, "monitor", "start")
        pid = monitor_pid(root)
        try:
            for number, (seal_first, kind, pick) in enumerate(steps):
                if seal_first or number == 0:
                    seal_vouched(root, linked)
                vouched = token_field(root) == monitor_token(root)
                edit(root, kind, pick)
                answered, route = traced(root, Path(tmp) / "trace")
                assert answered == unsealed(root), (kind, pick)
                assert answered == from_scratch(root, Path(tmp) / "scratch"), (kind, pick)
                if vouched:
                    assert route_taken(route, kind), (kind, pick, route)
                again, route = traced(root, Path(tmp) / "trace")
                assert again == answered, (kind, pick)
                if not linked:  # sealed with the monitor's token, or not sealed at all
                    assert route in ([], ["held by the token"]), (kind, pick, route)
        finally:
            gitpipe(root, "monitor", "stop")
            end_monitor(pid, root)
