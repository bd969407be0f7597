"""Attacks on the record of running stages in `.gitpipe/project.lock`: a
line whose process group is a number too long for Python to convert (more
than 4300 digits) or too large for the kernel's pid type made every command
that takes the lock stop on an internal error, and the record, truncated only
once the lock is held, stayed: gitpipe refused every run until the user
found the file. A line whose group is no pid is not believed, as any other
line the record cannot vouch for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

BOOT = Path("/proc/sys/kernel/random/boot_id")


def _boot() -> str:
    return BOOT.read_text().strip() if BOOT.exists() else "no-boot-id"


@pytest.mark.parametrize("line", [
    lambda: f"start {'9' * 5000} 1 {_boot()} a",
    lambda: f"start 99999999999999999999999 1 {_boot()} a",
    lambda: f"start {2 ** 31} 1 {_boot()} a",
    lambda: f"end {'9' * 5000}",
], ids=["digits-beyond-python", "beyond-c-long", "beyond-pid", "end-digits"])
def test_a_record_naming_no_pid_is_not_believed(repo: Repo, tmp_path: Path,
                                              line: Callable[[], str]) -> None:
    repo.spec({"a": {"cmd": "echo run > o", "outs": ["o"]}}, commit="spec")
    repo.run("repro", check=True)  # .gitpipe/ made
    (repo.path / "o").unlink()
    (repo.path / ".gitpipe/project.lock").write_text(f"1\n{line()}\n")
    before = snapshot(tmp_path)
    result = repo.run("repro", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "unexpected" not in result.stderr and "kill" not in result.stderr, result.stderr
    assert repo.read("o") == "run\n"
    assert repo.read(".gitpipe/project.lock") == ""
    assert_only_changed(before, snapshot(tmp_path),
                        ["repo/o", "repo/.gitpipe", "repo/gitpipe.lock", "repo/.gitignore"])


def test_a_record_larger_than_memory_is_never_read_whole(repo: Repo, tmp_path: Path) -> None:
    """A sparse record of a tebibyte (the file may hold anything: it is this
    machine's, yet may be planted or grow by accident) was read whole:
    `status` died of MemoryError with a traceback, as did every command that
    takes the lock. Now status reads on, and the lock refuses with a clear
    error naming the file, nothing run."""
    repo.spec({"a": {"cmd": "echo run > o", "outs": ["o"]}}, commit="spec")
    repo.run("repro", check=True)
    (repo.path / "o").unlink()
    record = repo.path / ".gitpipe/project.lock"
    with open(record, "wb") as handle:
        handle.write(f"1\nstart 5 1 {_boot()} a\n".encode())
        handle.truncate(1 << 40)  # sparse: no disk, no memory
    gitpipe_dir = repo.path / ".gitpipe"

    def state() -> tuple[object, ...]:
        # the whole tree but .gitpipe/ by content; there, each entry by size and time
        return (snapshot(tmp_path, skip=(".git", ".gitpipe")),
                sorted((p.name, p.lstat().st_size, p.lstat().st_mtime_ns)
                       for p in gitpipe_dir.iterdir()))

    before = state()
    status = repo.run("status", timeout=120)
    assert status.returncode == 0 and "Traceback" not in status.stderr, status.stderr
    assert "a" in status.stdout and "o" in status.stdout, status.stdout
    refused = repo.run("repro", timeout=120)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith(
        "error: '.gitpipe/project.lock' is 1099511627776 bytes, more than any gitpipe "
        "writes there"), refused.stderr
    assert "hint: if no gitpipe and no stage one started still runs here, remove it" \
        in refused.stderr and "Traceback" not in refused.stderr
    assert not (repo.path / "o").exists()
    assert state() == before
