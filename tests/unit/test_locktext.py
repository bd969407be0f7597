"""Differential property: a lock entry written directly (pipeline/locktext.py)
is byte for byte what PyYAML's representer and emitter write for it, for every
value it takes on; what it declines, PyYAML writes as before."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gitpipe.pipeline import lockfile, locktext
from gitpipe.pipeline.lockfile import LockedModule, LockedPath, LockEntry
from gitpipe.pipeline.locktext import entry_text, scalar
from tests.unit.test_lockentries import DIGESTS, NAMES

# Text that YAML reads as something else, or whose quoting turns on one character.
LOOKALIKES = ["", "yes", "No", "ON", "off", "null", "Null", "~", "true", "False", "2024-01-03",
              "2024-01-03 10:00:00", "0x1F", "0o17", "017", "1_000", "1e3", "1.5", ".5", "+1",
              "-1", ".inf", "-.Inf", ".NaN", "<<", "=", "0b101", "12:30:00", "190:20:30", "-",
              "--", "---", "...", "? a", "?a", ":a", "a:", "a: b", "a:b", "a #b", "a#b", "#a",
              "- a", "-a", "@a", "`a", "a,b", "[a", "a]", "{a}", "a{", "'a'", '"a"', "a'b", " a",
              "a ", "a  b", "%a", "!a", "&a", "*a", "|a", ">a", "a|b", "é", "a\nb", "a\tb"]
TEXT = (st.sampled_from(LOOKALIKES)
        | st.text(alphabet=st.sampled_from(list("ab01.-_/ :#?,[]{}&*!|>'\"%@`~=+<eE\t\né")),
                  max_size=12)
        | st.integers().map(str) | st.floats().map(str)
        | st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
        | st.text(alphabet="ab ", min_size=1990, max_size=2010))
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
VALUES: Any = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT | st.integers(), inner,
                                                                 max_size=3),
    max_leaves=8)
PATHS = TEXT.filter(bool)
ENTRIES = st.builds(
    LockEntry, cmd=TEXT, fingerprint=DIGESTS,
    deps=st.lists(st.builds(LockedPath, PATHS, DIGESTS | TEXT, st.none() | st.integers(0, 9),
                            st.booleans(), st.booleans()), max_size=3).map(tuple),
    params=st.dictionaries(TEXT, VALUES, max_size=4),
    outs=st.lists(st.builds(LockedPath, PATHS, DIGESTS, st.integers(0, 2**40), st.booleans(),
                            st.booleans()), max_size=2).map(tuple),
    wdir=st.sampled_from([".", "sub", "a: b", "-"]), env=st.none() | TEXT,
    runtime=st.none() | DIGESTS,
    python=st.lists(st.builds(LockedModule, PATHS, DIGESTS, st.none() | PATHS),
                    max_size=2).map(tuple))


def pyyaml_entry(name: str, entry: LockEntry) -> str:
    text = locktext.dump({name: entry.to_dict()})
    return "".join(f"  {line}\n" if line else "\n" for line in text.split("\n")[:-1])


@settings(max_examples=1500, deadline=None)
@given(TEXT | SCALARS)
def test_a_value_is_written_as_pyyaml_writes_it(value: Any) -> None:
    block, flow = scalar(value), scalar(value, flow=True)
    if block is not None:
        assert f"k: {block}\n" == locktext.dump({"k": value})
    if flow is not None:
        assert f"k:\n- {{p: {flow}}}\n" == locktext.dump({"k": [locktext.Flow({"p": value})]})


@settings(max_examples=1500, deadline=None)
@given(NAMES | TEXT.filter(bool), ENTRIES)
def test_an_entry_written_directly_is_byte_for_byte_pyyaml_s(name: str, entry: LockEntry) -> None:
    direct = entry_text(name, entry.to_dict())
    if direct is not None:
        assert direct == pyyaml_entry(name, entry)
    assert lockfile.render_entry(name, entry) == pyyaml_entry(name, entry)


def test_a_list_met_twice_is_left_to_pyyaml_which_writes_an_alias() -> None:
    shared = [1, 2]
    entry = LockEntry("cmd", "xxh3:00", params={"a": shared, "b": shared})
    assert entry_text("t", entry.to_dict()) is None
    assert "*id001" in lockfile.render_entry("t", entry)


def test_the_usual_entries_are_written_directly() -> None:
    # Without this the differential tests above could pass with a renderer
    # that declines everything.
    entry = LockEntry(
        "sh src/s0100.sh out/s0100.txt data/raw/s0100/* > log 2>&1", "xxh3:90586ad647c8a230",
        deps=(LockedPath("data/raw/s0100", "xxh3:b3c817e6.dir", 2560),
              LockedPath("src/s0100.sh", "git:3aa30b3e", executable=True)),
        params={"s0100.x": 100, "train": {"lr": 0.001, "layers": [64, 32], "name": "resnet",
                                          "on": True, "seed": None, "tags": []}},
        outs=(LockedPath("out/s0100.txt", "xxh3:6967f95d", 21, metric=True),),
        wdir="sub", env="xxh3:11", python=(LockedModule("src/a.py", "git:12", "src/b.py"),))
    direct = entry_text("s0100@2024-01-03", entry.to_dict())
    assert direct is not None and direct == pyyaml_entry("s0100@2024-01-03", entry)
    assert "- {path: out/s0100.txt, hash: 'xxh3:6967f95d', size: 21, metric: true}" in direct
