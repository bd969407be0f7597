"""The duplicate-key check's shortcut (a mapping of string keys only, each
once, told by a set) judges every document as the key-by-key comparison does."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gitpipe.core import yamlkeys
from gitpipe.core.yamlio import _yaml

KEYS = ["a", "'a'", '"a"', "b", "1", "'1'", "0x1", "1.0", "true", "'true'", "null", "~",
        "'~'", "!!str 1", "[x]", "{k: v}", "!!str [x]", "!!str {k: v}", "!!map z"]
SCALARS = st.sampled_from(["1", "x", "'y'", "null", "*anchor", "!!map x", "!!seq y"])


def _mapping(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(st.sampled_from(KEYS), children)
    merge = st.sampled_from(["<<: *anchor", "<<: {a: 1}", "<<: [{b: 2}, *anchor]"])
    items = st.lists(st.one_of(pair.map(": ".join), merge), max_size=5)
    return items.map(lambda parts: "{" + ", ".join(parts) + "}")


DOCUMENTS = st.recursive(SCALARS, lambda inner: st.one_of(
    _mapping(inner), st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]")),
    max_leaves=12)


def _verdict(text: str) -> str | None:
    loader: Any = _yaml().base_loader(text)
    try:
        node = loader.get_single_node()
        yamlkeys.refuse_duplicate_keys(loader, yaml, node)
    except Exception as exc:  # a tag on the wrong kind of node fails in PyYAML's own ways
        return f"{type(exc).__name__}: {exc}"
    finally:
        loader.dispose()
    return None


@settings(max_examples=400, deadline=None)
@given(DOCUMENTS)
def test_the_set_shortcut_judges_as_the_key_by_key_check(document: str) -> None:
    text = f"x: &anchor {{c: 3}}\ny: {document}\n"
    shortcut = _verdict(text)
    with patch.object(yamlkeys, "_STR_TAG", "no tag"):  # every mapping key by key
        reference = _verdict(text)
    assert shortcut == reference, text


def test_a_string_key_written_twice_is_still_named() -> None:
    assert "'a' is written twice (first on line 1)" in str(_verdict("a: 1\nb: 2\na: 3\n"))
    assert "'1' is written twice" in str(_verdict("1: x\n'1': y\n"))
