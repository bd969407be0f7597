"""An item's position among a stage's item keys, looked up without tuple.index."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from gitpipe.pipeline.items import ItemSpec


def spec_of(keys: list[str]) -> ItemSpec:
    contexts = tuple(json.dumps({"item": i}) for i in range(len(keys)))
    return ItemSpec("foreach", tuple(keys), contexts)


@given(keys=st.lists(st.text(max_size=3), max_size=12), asked=st.text(max_size=3))
def test_a_position_is_where_tuple_index_finds_the_key(keys: list[str], asked: str) -> None:
    spec = spec_of(keys)
    for key in [*keys, asked]:
        want = spec.item_keys.index(key) if key in spec.item_keys else None
        assert spec.position(key) == want
        if want is not None:
            assert spec.variables(key) == {"item": want}


def test_equal_specs_made_apart_each_answer_for_their_own_keys() -> None:
    first, second = spec_of(["a", "b"]), spec_of(["b", "a"])
    assert (first.position("a"), second.position("a")) == (0, 1)
    assert spec_of(["a", "b"]) == first and spec_of(["a", "b"]).position("b") == 1
