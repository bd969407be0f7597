"""wildmatch.py's gitignore pattern translation, and the order ignore.py applies rules in."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitpipe.core.errors import IgnoreRulesError
from gitpipe.hashing.ignore import (
    DEFAULT_LAST,
    DEFAULT_PATTERNS,
    PROJECT_MARKER,
    Ignore,
    ancestors_in_project,
    default_ignored,
    defaults_may_ignore,
    forget_outer_rules,
    parse_rules,
)
from gitpipe.hashing.wildmatch import translate
from gitpipe.pipeline.model import SPEC_FILE, Out, Pipeline, Stage
from gitpipe.usecases.watch import Trigger, watched_paths


@pytest.mark.parametrize(("pattern", "path", "matches"), [
    ("*.pyc", "a.pyc", True), ("*.pyc", "a.py", False),
    ("foo/*.txt", "foo/a.txt", True), ("foo/*.txt", "foo/b/a.txt", False),
    ("**/foo/*.txt", "foo/x/foo/y.txt", True), ("**/foo", "a/b/foo", True),
    ("**/foo", "foo", True), ("a/**", "a/b/c", True), ("a/**", "a", False),
    ("a/**/b", "a/b", True), ("a/**/b", "a/x/y/b", True),
    ("a?c", "abc", True), ("a?c", "a/c", False),
    ("[ab]x", "bx", True), ("[!ab]x", "cx", True), ("[!ab]x", "ax", False),
    (r"\*x", "*x", True), (r"\*x", "ax", False), ("*x*/y", "axbxc/y", True),
])
def test_translate(pattern: str, path: str, matches: bool) -> None:
    assert bool(re.match(translate(pattern), path)) is matches


# Each checked against `git check-ignore --no-index` (git's wildmatch).
@pytest.mark.parametrize(("pattern", "path", "matches"), [
    ("[!]]x", "ax", True), ("[!]]x", "]x", False), ("[]]x", "]x", True), ("[]a]x", "ax", True),
    ("[[:digit:]]", "5", True), ("[[:digit:]]", "a", False),
    ("[[:alpha:][:digit:]]x", "5x", True), ("[[:alpha:][:digit:]]x", "_x", False),
    ("[[:punct:]]x", "_x", True), ("[[:punct:]]x", "[x", True), ("[[:space:]]x", " x", True),
    ("[[:upper:]]", "a", False), ("[[:xdigit:]]", "F", True), ("[[:xdigit:]]", "g", False),
    ("[[:lower:]-z]x", "-x", True), ("d[[:a]x", "d:x", True), ("d[[:a]x", "d[x", True),
    ("[[:foo:]]", "f", False), ("a[b", "a[b", False),
    ("[z-a]", "b", False), ("[!z-a]q", "bq", True),
    ("[a-c-e]y", "-y", True), ("[a-c-e]y", "dy", False),
    (r"[\]]x", "]x", True), (r"[a\-c]x", "-x", True), (r"[a\-c]x", "bx", False),
    ("[-a]x", "-x", True), ("[a-]x", "-x", True), ("[^a]x", "ax", False), ("[!a]/x", "//x", False),
])
def test_classes_as_git_reads_them(pattern: str, path: str, matches: bool) -> None:
    assert bool(re.match(translate(pattern), path)) is matches


def test_a_pattern_regex_cannot_compile_matches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gitpipe.hashing.wildmatch.translate", lambda pattern: "[z-a]")
    assert parse_rules("x\n", "f") == ()


def test_many_stars_do_not_backtrack_for_ever() -> None:
    started = time.monotonic()
    assert not re.match(translate("*a" * 15 + "*b"), "a" * 250)
    assert time.monotonic() - started < 1


def test_the_last_matching_rule_decides_and_defaults_come_first(tmp_path: Path) -> None:
    (tmp_path / PROJECT_MARKER).write_text("stages: {}\n")
    (tmp_path / ".gitpipeignore").write_text("/data/skip/\n*.tmp\n!keep.tmp\n!*.pyc\n")
    (tmp_path / "data").mkdir()
    rules = Ignore.above(str(tmp_path / "data"))
    assert rules.ignored("skip", "skip", True)
    assert not rules.ignored("skip", "skip", False)  # a directory-only rule
    assert not rules.ignored("sub/skip", "skip", True)  # anchored at the root
    assert rules.ignored("x.tmp", "x.tmp", False)
    assert not rules.ignored("keep.tmp", "keep.tmp", False)
    assert not rules.ignored("m.pyc", "m.pyc", False)  # a default taken back
    assert rules.ignored("__pycache__", "__pycache__", True)


def test_the_named_root_rules_below_another_gitpipe_yaml(tmp_path: Path) -> None:
    (tmp_path / PROJECT_MARKER).write_text("stages: {}\n")
    (tmp_path / ".gitpipeignore").write_text("*.tmp\n")
    (tmp_path / "ex" / "data").mkdir(parents=True)
    (tmp_path / "ex" / PROJECT_MARKER).write_text("stages: {}\n")
    data, ex = str(tmp_path / "ex" / "data"), str(tmp_path / "ex")
    try:
        forget_outer_rules(str(tmp_path))
        assert ancestors_in_project(data) == (str(tmp_path), ex)
        assert ancestors_in_project(ex) == (str(tmp_path),)
        assert ancestors_in_project(str(tmp_path)) == ()
        assert Ignore.above(data).ignored("n.tmp", "n.tmp", False)
        forget_outer_rules()  # no root named: the nearest gitpipe.yaml is taken for it
        assert ancestors_in_project(data) == (ex,)
        assert not Ignore.above(data).ignored("n.tmp", "n.tmp", False)
    finally:
        forget_outer_rules()


def test_siblings_share_the_rules_above_only_where_no_file_above_holds_one(
        tmp_path: Path) -> None:
    (tmp_path / PROJECT_MARKER).write_text("stages: {}\n")
    for name in ("a", "b"):
        (tmp_path / "data" / name).mkdir(parents=True)
    a, b = str(tmp_path / "data" / "a"), str(tmp_path / "data" / "b")
    try:
        forget_outer_rules(str(tmp_path))
        assert Ignore.above(a) is Ignore.above(b) and not Ignore.above(a).custom
        # an anchored rule above rules over one sibling only: no sharing
        (tmp_path / ".gitpipeignore").write_text("/data/a/skip\n")
        forget_outer_rules(str(tmp_path))
        assert Ignore.above(a).ignored("skip", "skip", False)
        assert not Ignore.above(b).ignored("skip", "skip", False)
        assert Ignore.above(f"{b}/../a").ignored("skip", "skip", False)  # as abspath has it
    finally:
        forget_outer_rules()


def test_bad_rules_name_their_file_and_line() -> None:
    with pytest.raises(IgnoreRulesError, match=r"^x/.gitpipeignore:2: more than 4 '\*\*'"):
        parse_rules("ok\n" + "**/" * 5 + "x\n", "x/.gitpipeignore")
    assert parse_rules("# c\n\n  \n", "f") == ()


def test_the_project_marker_is_the_spec_file() -> None:
    assert PROJECT_MARKER == SPEC_FILE


@pytest.mark.parametrize("name", ["__pycache__", "a.pyc", ".pyc", ".ipynb_checkpoints",
                                  ".DS_Store", "x.py", "pyc", "__pycache__x", "a.pyc.bak"])
@pytest.mark.parametrize("is_dir", [False, True])
def test_the_inline_defaults_are_the_default_patterns(name: str, is_dir: bool) -> None:
    rules = parse_rules("\n".join(DEFAULT_PATTERNS), "defaults")
    by_rules = any(regex.match(name) for regex, _, dir_only, _ in rules
                   if is_dir or not dir_only)
    assert default_ignored(name, is_dir) is by_rules
    if by_rules:
        assert name[-1] in DEFAULT_LAST


@pytest.mark.parametrize("name", ["__pycache__", "a.pyc", ".pyc", ".ipynb_checkpoints",
                                  ".DS_Store", "x.py", "pyc", "__pycache__x", "a.pyc.bak"])
def test_a_directory_the_defaults_may_touch_is_screened_name_by_name(name: str) -> None:
    """The walkers skip the test per name only where no name can be a default."""
    names = ["data.csv", name, "z"]
    if default_ignored(name, True) or default_ignored(name, False):
        assert defaults_may_ignore(names)
    assert not defaults_may_ignore(["data.csv", "x.py", "pyc", "a.pyc.bak", "__pycache__x"])
    assert not defaults_may_ignore([])


def test_watch_reruns_when_the_rules_above_a_directory_dep_change(tmp_path: Path) -> None:
    spec = Pipeline((Stage("t", "true", deps=("a/b/data/", "raw/${date}/day/"),
                           outs=(Out("t.out"),)),))
    paths = watched_paths(spec)
    for rules in (".gitpipeignore", "a/.gitpipeignore", "a/b/.gitpipeignore",
                  "raw/.gitpipeignore", "raw/${date}/.gitpipeignore"):
        assert rules in paths
    trigger = Trigger(tmp_path, spec)
    for path in (".gitpipeignore", "a/b/.gitpipeignore", "a/b/data/.gitpipeignore",
                 "raw/2024-01-01/.gitpipeignore"):
        assert trigger.relevant(str(tmp_path / path)) == path
    for path in ("a/c/.gitpipeignore", "a/.gitpipeignore.bak", "other/.gitpipeignore"):
        assert trigger.relevant(str(tmp_path / path)) is None, path



def _backtracking(pattern: str) -> str:
    """The pattern's plain regex, every wildcard as it reads (no atomic
    group): the meaning translate must keep, at any cost."""
    from gitpipe.hashing.wildmatch import _WILD, _pieces

    return "(?s:" + "".join(_WILD[text] if kind == "wild" else text
                            for kind, text in _pieces(pattern)) + r")\Z"


@given(st.lists(st.sampled_from(["a", "b", "*", "?", "/", "**/", "[ab]"]), min_size=1,
                max_size=9).map("".join).filter(lambda p: not p.startswith("/")
                                                  and not p.endswith("/")),
       st.lists(st.sampled_from(["a", "b", "/"]), max_size=12).map("".join))
@settings(max_examples=3000, deadline=None)
def test_translate_means_what_the_backtracking_regex_means(pattern: str, path: str) -> None:
    assert bool(re.match(translate(pattern), path)) is \
        bool(re.match(_backtracking(pattern), path)), translate(pattern)


def test_many_double_stars_on_a_deep_path_are_linear() -> None:
    """Four `**/` (as many as a pattern may hold) over a path 2,000 folders
    deep: the backtracking regex would take hours."""
    rule = re.compile(translate("**/a/**/a/**/a/**/a/b"))
    assert not rule.match("a/" * 2000 + "c")
    assert rule.match("a/" * 2000 + "b")
    assert rule.match("x/a/y/a/z/a/a/b") and not rule.match("x/a/y/a/z/a/b")
