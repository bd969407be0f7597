"""The seal's records of its directory deps (fastpath/sealdirs.py): a seal
that holds is checked with a stat of each folder and of each file it named,
no folder listed; any change to a folder or to a file in it is still seen.
A status with no seal takes each folder's listing from its record too
(fastpath/heldlistings.py). The answers are held to the unsealed and
from-scratch ones by tests/func/test_property.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gitpipe.fastpath.seal import seal_path
from gitpipe.fastpath.sealdirs import file_for
from tests.conftest import GIT_ENV, Repo

# The sealed status as the console script answers it, counting each folder
# listed by descriptor (the seal's check lists a directory dep's folder so;
# gitpipe's own modules are listed by path for the code signature).
LISTINGS = """
import sys
listed = []
sys.addaudithook(lambda event, args: event in ("os.scandir", "os.listdir")
                 and isinstance(args[0], int) and listed.append(args[0]))
from gitpipe.cli.launch import main
try:
    main(leave_at_once=False)
finally:
    sys.stderr.write(f"LISTED {len(listed)}\\n")
"""


def status(repo: Repo, *args: str,
           **extra: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """(`gitpipe status ARGS` in a fresh interpreter, how many folders it listed)."""
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", "GITPIPE_NO_MONITOR": "1", **extra}
    done = subprocess.run([sys.executable, "-c", LISTINGS, "status", *args], cwd=repo.path,
                          env=env, capture_output=True, text=True)
    marker = [line for line in done.stderr.splitlines() if line.startswith("LISTED ")]
    assert marker, done.stderr
    return done, int(marker[-1].removeprefix("LISTED "))


def recorded(repo: Repo) -> Repo:
    """A built stage reading the folder `data` of three files, its no-op sealed,
    then checked once (which records the folder)."""
    repo.gen({"data/a.txt": "a\n", "data/b.txt": "b\n", "data/c.txt": "c\n"})
    repo.spec({"use": {"cmd": "cat data/* > use.txt", "deps": ["data"], "outs": ["use.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("built")
    repo.age()
    for _ in range(2):
        done, _ = status(repo)
        assert done.stdout == "everything is up to date\n", done.stderr
    sealed = seal_path(str(repo.path), "status")
    assert sealed is not None and os.path.exists(file_for(sealed)), "no record was kept"
    return repo


def test_a_held_seal_lists_no_folder_it_has_a_record_of(repo: Repo) -> None:
    done, listed = status(recorded(repo))
    assert (done.returncode, done.stdout, listed) == (0, "everything is up to date\n", 0)


def _rewrite_in_place(repo: Repo) -> None:
    """Same size, the mtime set back: the folder's times do not move."""
    path = repo.path / "data" / "b.txt"
    before = os.stat(path)
    path.write_text("B\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _added_behind_the_folders_mtime(repo: Repo) -> None:
    folder = repo.path / "data"
    before = os.stat(folder)
    (folder / "d.txt").write_text("d\n")
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))


def _swapped_for_a_copy(repo: Repo) -> None:
    shutil.copytree(repo.path / "data", repo.path / "copy", copy_function=shutil.copy2)
    (repo.path / "copy" / "a.txt").write_text("A\n")
    os.utime(repo.path / "copy" / "a.txt", ns=(0, os.stat(repo.path / "data/a.txt").st_mtime_ns))
    shutil.rmtree(repo.path / "data")
    os.rename(repo.path / "copy", repo.path / "data")


def _linked(repo: Repo) -> None:
    os.unlink(repo.path / "data" / "c.txt")
    os.symlink("a.txt", repo.path / "data" / "c.txt")


def _subfolder(repo: Repo) -> None:
    (repo.path / "data" / "sub").mkdir()
    (repo.path / "data" / "sub" / "e.txt").write_text("e\n")


CHANGES: dict[str, Callable[[Repo], None]] = {
    "a file rewritten in place, its mtime set back": _rewrite_in_place,
    "a file added, the folder's mtime set back": _added_behind_the_folders_mtime,
    "a file removed": lambda r: os.unlink(r.path / "data" / "a.txt"),
    "a file renamed": lambda r: os.rename(r.path / "data" / "a.txt", r.path / "data" / "z.txt"),
    "a file's mode": lambda r: os.chmod(r.path / "data" / "a.txt", 0o755),
    "a file made a link": _linked,
    "a subfolder": _subfolder,
    "rules in the folder": lambda r: (r.path / "data" / ".gitpipeignore").write_text("a.txt\n"),
    "rules above it": lambda r: (r.path / ".gitpipeignore").write_text("data/a.txt\n"),
    "the folder swapped for a copy": _swapped_for_a_copy,
}


def unsealed(repo: Repo) -> Repo:
    """The status seal removed, its records kept: what the first status after
    a stale answer or a run meets."""
    sealed = seal_path(str(repo.path), "status")
    assert sealed is not None
    os.unlink(sealed)
    return repo


@pytest.mark.parametrize("seal", ["held", "removed"])
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_folder_checked_by_its_record_still_sees_a_change(repo: Repo, change: str,
                                                            seal: str) -> None:
    CHANGES[change](recorded(repo) if seal == "held" else unsealed(recorded(repo)))
    done, _ = status(repo, "--check")
    assert done.returncode == 1 and "deps: data/ modified" in done.stdout, done.stdout + done.stderr


def test_a_status_without_its_seal_lists_no_folder_it_has_a_record_of(repo: Repo) -> None:
    done, listed = status(unsealed(recorded(repo)))
    assert (done.returncode, done.stdout, listed) == (0, "everything is up to date\n", 0)


def test_records_are_not_read_without_seals_or_when_other_code_wrote_them(repo: Repo) -> None:
    from gitpipe.fastpath.seal import code_signature

    unsealed(recorded(repo))
    done, listed = status(repo, GITPIPE_NO_SEAL="1")
    assert (done.stdout, listed) == ("everything is up to date\n", 1)
    records = Path(file_for(str(seal_path(str(repo.path), "status"))))
    code = code_signature().encode()
    assert code in records.read_bytes()
    records.write_bytes(records.read_bytes().replace(code, b"other code", 1))
    done, listed = status(repo)  # the seal is still gone: none was written
    assert (done.stdout, listed) == ("everything is up to date\n", 1)


def test_a_record_is_kept_only_where_the_folder_keeps_its_times(repo: Repo,
                                                                tmp_path: Path) -> None:
    """The probe: a folder whose mtime a new name sets, on the device of the
    project's `.gitpipe/`; nothing left behind."""
    from gitpipe.fastpath import sealdirs

    repo.run("init", check=True)
    before = sorted(os.listdir(repo.path / ".gitpipe"))
    device = os.stat(repo.path / ".gitpipe").st_dev
    assert sealdirs.keeps_folder_times(str(repo.path), device)
    assert not sealdirs.keeps_folder_times(str(repo.path), device + 1)
    assert sorted(os.listdir(repo.path / ".gitpipe")) == before
    assert not sealdirs.keeps_folder_times(str(tmp_path / "no project"), device)
