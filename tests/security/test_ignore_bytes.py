"""A `.gitpipeignore` pattern matched as git matches it: on a name's UTF-8
bytes. git's `?` is one byte and `[...]` a set of bytes, so `?.tmp` leaves
`é.tmp` (two bytes before the dot) in, and `??.tmp` takes it; gitpipe read
them as characters, so a clone's `?.tmp` (to git's reading, which the docs
promise, one-letter scratch files) also hid every edit of `é.tmp` in a dep
folder: `status` said up to date, `repro` skipped. `git check-ignore
--no-index` on real files is the oracle."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitpipe.hashing.ignore import Ignore, parse_rules
from tests.conftest import Repo

NAMES = ["é", "a", "xé", "éé", "ab", "€", "a€", "é.tmp", "a.tmp", "ä-z"]
PATTERNS = ["?", "??", "???", "[é]", "[!a]", "[^a]", "x?", "?é", "[a-é]", "*?", "?*?",
            "[[:alpha:]]?", "\\é", "[\\é]", "?.tmp", "??.tmp"]


def _git_ignores(folder: Path, names: list[str]) -> set[str]:
    done = subprocess.run(["git", "check-ignore", "--no-index", "-z", "--stdin"], cwd=folder,
                          input=b"\0".join(name.encode() for name in names) + b"\0",
                          capture_output=True)
    assert done.returncode in (0, 1), done.stderr
    return {name.decode() for name in done.stdout.split(b"\0") if name}


def _compare(folder: Path, pattern: str, names: list[str]) -> None:
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    (folder / ".gitignore").write_text(pattern + "\n")
    for name in names:
        (folder / name).write_text("x\n")
    rules = Ignore(((parse_rules(pattern + "\n", "f"), "", 0),))
    ours = {name for name in names if rules.ignored(name, name, False)}
    assert ours == _git_ignores(folder, names), pattern


@pytest.mark.parametrize("pattern", PATTERNS)
def test_a_pattern_takes_the_names_git_takes(tmp_path: Path, pattern: str) -> None:
    _compare(tmp_path, pattern, NAMES)


_PATTERN_PARTS = st.sampled_from(["a", "é", "€", "?", "*", "[é]", "[!a]", "[a-é]", "-", "x"])
_NAME_PARTS = st.sampled_from(["a", "é", "€", "x", "-", "ä"])


@settings(max_examples=60, deadline=None)
@given(st.lists(_PATTERN_PARTS, min_size=1, max_size=5).map("".join),
       st.lists(st.lists(_NAME_PARTS, min_size=1, max_size=4).map("".join),
                min_size=1, max_size=8, unique=True))
def test_random_patterns_take_the_names_git_takes(pattern: str, names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _compare(Path(folder), pattern, names)


def test_an_edit_git_would_not_hide_makes_the_stage_stale(repo: Repo) -> None:
    repo.gen({"data/é.tmp": "1\n", "data/.gitpipeignore": "?.tmp\n"})
    repo.spec({"s": {"cmd": "cat data/* > o.txt", "deps": ["data"], "outs": ["o.txt"]}},
              commit="a scratch rule")
    repo.run("repro", check=True)
    (repo.path / "data" / "é.tmp").write_text("2\n")
    done = repo.run("status")
    assert "s:" in done.stdout and "modified" in done.stdout, done.stdout + done.stderr
