"""A cloned repository's `.gitpipeignore`, read as git reads a .gitignore:
lines end at a newline alone. Split at every character Python counts as a
line break, `# where the samples come from\\x1c*.csv` (one comment to git, to
an editor and to a reviewer) also held the rule `*.csv`: the dep's CSV files
did not count, and a changed one left the stage "up to date", sealed or
not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.security.conftest import assert_only_changed, snapshot


@pytest.mark.parametrize("separator", ["\x1c", "\x0b", "\u2028", "\x85"])
def test_a_comment_holds_no_rule(make_repo, tmp_path: Path, separator: str) -> None:
    origin = make_repo("origin")
    origin.gen({"data/samples.csv": "a,b\n1,2\n", "data/README": "samples\n",
                "data/.gitpipeignore": f"# where the samples come from{separator}*.csv\n"})
    origin.spec({"make": {"cmd": "cat data/samples.csv > out.txt", "deps": ["data"],
                          "outs": ["out.txt"]}})
    origin.commit("pipeline")
    victim = origin.clone_to(tmp_path / "victim")
    victim.run("repro", check=True)
    victim.age()
    assert victim.run("status", check=True).stdout == "everything is up to date\n"
    (victim.path / "data/samples.csv").write_text("a,b\n1,3\n")
    before = snapshot(tmp_path)
    for env in ({}, {"GITPIPE_NO_SEAL": "1"}):
        done = victim.run("status", env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("make:\n"), (env, done.stdout)
        assert "data" in done.stdout
    assert_only_changed(before, snapshot(tmp_path), ["victim/.gitpipe/state.db"])
