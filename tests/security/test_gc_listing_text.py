"""What gc lists comes from a remote anyone who pushes can write: a run-cache
entry's key holding escape sequences is shown escaped, as every name a remote
lists is (`trust.printable`), never obeyed by the terminal. The whole temp
tree is compared before and after."""

from __future__ import annotations

from pathlib import Path

from tests.security.conftest import assert_only_changed, snapshot
from tests.security.test_gc import allowed, project_with_remote

# Clears the screen and sets the terminal's title: what a `cat` of it obeys.
EVIL = "\x1b[2J\x1b]0;owned\x07fake"


def test_gc_dry_run_shows_a_planted_run_entry_s_key_escaped(
        make_repo, tmp_path: Path) -> None:
    """A writer of the shared folder plants `runs/<ESC…>/x`: gc plans to
    remove it (it is no run entry) and its dry run printed the key raw."""
    origin = project_with_remote(make_repo, str(tmp_path / "store"))
    planted = tmp_path / "store" / "runs" / EVIL / "x"
    planted.parent.mkdir(parents=True)
    planted.write_text("no run entry\n")
    before = snapshot(tmp_path)
    done = origin.run("gc", "-r", "store", "-A", "--dry-run")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "\x1b" not in done.stdout + done.stderr, repr(done.stdout)
    assert "would remove run-cache entry" in done.stdout and "owned" in done.stdout
    assert_only_changed(before, snapshot(tmp_path), allowed(origin, fetched=True))
