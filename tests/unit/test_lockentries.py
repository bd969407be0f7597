"""Differential property: a lock read entry by entry (pipeline/lockentries.py)
is exactly `lockfile.parse` of the whole text, for locks as gitpipe writes
them, for the same locks damaged line by line, and across many versions read
by one parser (entries remembered from one version to the next)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gitpipe.pipeline import lockfile
from gitpipe.pipeline.lockentries import EntryParser, entry_texts
from gitpipe.pipeline.lockfile import LockedModule, LockedPath, LockEntry

NAMES = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_.-]{0,6}(@[A-Za-z0-9_.:+-]{1,8})?\Z")
TRICKY = st.text(alphabet=st.sampled_from(list("ab :#&*|>-'\"{}[],\n\t!%@`~é")), max_size=24)
DIGESTS = st.builds(lambda n, d: f"xxh3:{n:032x}{'.dir' if d else ''}",
                    st.integers(0, 2**128 - 1), st.booleans())
PATHS = st.sampled_from(["a.txt", "data/b.csv", "out dir/c", "x: y", "#z", "&w", "*v"])
VALUES: Any = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY, inner, max_size=3),
    max_leaves=6)
ENTRIES = st.builds(
    LockEntry, cmd=TRICKY, fingerprint=DIGESTS.filter(lambda d: not d.endswith(".dir")),
    deps=st.lists(st.builds(LockedPath, PATHS, DIGESTS, st.none() | st.integers(0, 9)),
                  max_size=2).map(tuple),
    params=st.dictionaries(TRICKY, VALUES, max_size=3),
    outs=st.lists(st.builds(LockedPath, PATHS, DIGESTS, st.integers(0, 9), st.booleans(),
                            st.booleans()), max_size=2).map(tuple),
    wdir=st.sampled_from([".", "sub", "a: b"]), env=st.none() | TRICKY,
    python=st.lists(st.builds(LockedModule, st.sampled_from(["src/a.py", "b.py"]),
                              DIGESTS.filter(lambda d: not d.endswith(".dir")),
                              st.none() | st.just("src/a.py")), max_size=2).map(tuple))
LOCKS = st.dictionaries(NAMES, ENTRIES, max_size=4)
NASTY = ["  &x a:", "  b: *x", "    cmd: *x", "---", "...", "  # comment", "\tcmd: x",
         "  a: {cmd: x,", "  fingerprint: y}", "extra: 1", "    cmd: |+", "", "   ",
         "  c:", "    cmd: 'open", "  a:", "schema: 2", "  - x", "    <<: *x"]


def outcome(read: Any, text: str) -> Any:
    try:
        return ("entries", read(text))
    except Exception as exc:  # any error: it must be the same error
        return ("error", type(exc).__name__, str(exc))


@settings(max_examples=300, deadline=None)
@given(st.lists(LOCKS, min_size=1, max_size=4))
def test_rendered_locks_read_the_same_entry_by_entry(versions: list[dict[str, LockEntry]]) -> None:
    parser = EntryParser()
    for entries in versions:
        text = lockfile.render(entries)
        assert outcome(parser.parse, text) == outcome(lockfile.parse, text)
        if "&" not in text:
            assert entry_texts(text) is not None or not entries


@settings(max_examples=400, deadline=None)
@given(LOCKS, st.lists(st.tuples(st.integers(0, 60), st.sampled_from(["drop", "dup", "in",
                                                                      "out", "nasty"]),
                                 st.sampled_from(NASTY)), min_size=1, max_size=4))
def test_damaged_locks_read_the_same_or_fail_the_same(entries: dict[str, LockEntry],
                                                      edits: list[tuple[int, str, str]]) -> None:
    lines = lockfile.render(entries).split("\n")
    for at, how, nasty in edits:
        index = at % len(lines)
        if how == "drop":
            del lines[index]
        elif how == "dup":
            lines.insert(index, lines[index])
        elif how == "in":
            lines[index] = " " + lines[index]
        elif how == "out":
            lines[index] = lines[index][1:]
        else:
            lines.insert(index, nasty)
        if not lines:
            lines = [""]
    text = "\n".join(lines)
    parser = EntryParser()
    parser.parse(lockfile.render(entries))  # entries remembered from an intact version
    assert outcome(parser.parse, text) == outcome(lockfile.parse, text)


FP = "fingerprint: xxh3:" + "0" * 32
HAND_WRITTEN = [
    # Kept trailing newlines of a block scalar, last in the text and in the middle.
    f"schema: 1\nstages:\n  a:\n    {FP}\n    cmd: |+\n      x\n\n\n",
    f"schema: 1\nstages:\n  a:\n    {FP}\n    cmd: |+\n      x\n\n  b:\n    {FP}\n    cmd: y\n",
    # One stage twice (the whole text refuses it), spelled alike and not.
    f"schema: 1\nstages:\n  a:\n    {FP}\n    cmd: x\n  a:\n    {FP}\n    cmd: y\n",
    f"schema: 1\nstages:\n  a:\n    {FP}\n    cmd: x\n  'a':\n    {FP}\n    cmd: y\n",
    # A flow mapping carried over a line at the entries' indent.
    f"schema: 1\nstages:\n  a: {{cmd: x,\n  {FP}}}\n",
    # No newline at the end; a comment between entries.
    f"schema: 1\nstages:\n  a:\n    {FP}\n    cmd: x\n  # note\n  b:\n    {FP}\n    cmd: y",
]


def test_hand_written_locks_read_the_same() -> None:
    for text in HAND_WRITTEN:
        parser = EntryParser()
        for _ in range(2):  # the second time, from what the first remembered
            assert outcome(parser.parse, text) == outcome(lockfile.parse, text), text


def test_an_anchor_or_another_shape_is_read_whole() -> None:
    assert entry_texts("schema: 1\nstages:\n  a: &x {cmd: c, fingerprint: f}\n") is None
    assert entry_texts("stages:\n  a:\n    cmd: c\nschema: 1\n") is None
    assert entry_texts("schema: 1\nstages:\n  a:\n    cmd: c\r\n") is None
    assert entry_texts("schema: 1\nstages:\n  a:\n    cmd: c\n  b:\n    cmd: d\n") == [
        "  a:\n    cmd: c\n", "  b:\n    cmd: d\n"]
