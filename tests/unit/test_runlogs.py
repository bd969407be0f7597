"""Log names: each run of a task gets a log of its own, which retention lists."""

from __future__ import annotations

from pathlib import Path

from gitpipe.storage.runlogs import log_path, old_logs


def test_a_second_run_in_the_same_second_gets_a_log_of_its_own(tmp_path: Path) -> None:
    """The first run's log exists when the second run is named (the runs of a
    task are one after another): the second is neither appended to it nor
    named by it, and retention keeps the newest of them."""
    first = log_path(tmp_path, "train")
    first.write_text("first run\n")
    second = log_path(tmp_path, "train")
    second.write_text("second run\n")
    third = log_path(tmp_path, "train")
    assert len({first, second, third}) == 3
    assert not third.exists()
    third.write_text("third run\n")
    assert old_logs(tmp_path, keep=3) == []
    assert {path.name for path in old_logs(tmp_path, keep=1, task="train")} <= {
        first.name, second.name, third.name}
    assert len(old_logs(tmp_path, keep=1, task="train")) == 2


def test_a_dangling_link_at_the_name_is_not_reused(tmp_path: Path) -> None:
    """A link planted where the log would go is never written through."""
    planted = log_path(tmp_path, "train")
    planted.symlink_to(tmp_path / "elsewhere")
    assert log_path(tmp_path, "train") != planted
