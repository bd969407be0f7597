"""Values in the one form that hashes, compares and prints the same in every
process: the params a stage reads, as its fingerprint and its reasons see them.

Beside the digests because a fingerprint hashes these forms; the params layer
reads files and picks keys, and asks here what two values are.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from gitpipe.core.errors import BadInputError


def label(key: Any) -> str:
    """How a mapping key is named in a reason: a string as it is, unless it
    holds `.`, `[`, `]` or `"` (then `["lr.x"]`), any other type in brackets
    (`[1]`, `[true]`, `[2024-03-01]`). No two keys get one label."""
    if isinstance(key, str) and key and not any(mark in key for mark in '.[]"'):
        return key
    return f"[{key_text(key)}]"


def key_text(key: Any) -> str:
    """A key as YAML writes it, strings quoted: distinct for distinct keys."""
    if isinstance(key, str):
        return json.dumps(key, ensure_ascii=False)
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, dt.date):
        return key.isoformat()
    return repr(key)


def canonical(value: Any, where: str) -> Any:
    """`value` in the one form that hashes, compares and writes the same in every
    process: mappings in a fixed key order, keys of the type YAML gave them
    (`1` and "1" are different params for the command), sets as sorted lists,
    -0.0 as 0.0. BadInputError naming `where` for what has no such form.

    A YAML set is a Python set, whose order (and so its text) follows
    PYTHONHASHSEED; NaN never equals itself. Both made a stage stale on every
    run; `same` compares canonical texts, in which NaN is one text.
    """
    if value is None or isinstance(value, (bool, int, str, bytes, dt.date)):
        return value
    if isinstance(value, float):
        return 0.0 if value == 0.0 else value
    if isinstance(value, dict):
        return _canonical_mapping(value, where)
    if isinstance(value, (list, tuple)):
        return [canonical(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        items = [canonical(item, f"{where} (a set)") for item in value]
        return sorted(items, key=canonical_text)
    raise BadInputError(f"{where}: a value of type {type(value).__name__} cannot be "
                        "compared between runs", hint="use a number, string, list or mapping")


def _canonical_mapping(value: dict[Any, Any], where: str) -> dict[Any, Any]:
    for key in value:
        if not isinstance(key, (str, int, float, dt.date)) or key != key:
            raise BadInputError(f"{where}: key {key!r} is not a string or number",
                                hint="param keys must be plain names")
    return {key: canonical(value[key], f"{where}.{label(key)}")
            for key in sorted(value, key=_key_order)}


def _key_order(key: Any) -> tuple[bool, str]:
    """Strings first, by themselves; keys of other types after, by their text."""
    return (True, key_text(key)) if not isinstance(key, str) else (False, key)


def is_plain(value: Any) -> bool:
    """Is a canonical value made only of what JSON writes as itself: strings,
    numbers, booleans, null, lists and mappings with string keys?"""
    if isinstance(value, dict):
        return all(isinstance(key, str) and is_plain(item) for key, item in value.items())
    if isinstance(value, list):
        return all(is_plain(item) for item in value)
    return value is None or isinstance(value, (bool, int, float, str))


def typed(value: Any) -> Any:
    """A canonical value as JSON that keeps every type apart: scalars as JSON
    has them (1, 1.0, true and "1" differ), lists as arrays, and each other
    thing as a one-key object naming its type (`{"map": [[key, value], …]}`,
    `{"date": …}`), so no two values share a text."""
    if isinstance(value, dict):
        pairs = [[typed(key), typed(item)] for key, item in value.items()]
        return {"map": sorted(pairs, key=lambda pair: _text(pair[0]))}
    if isinstance(value, list):
        return [typed(item) for item in value]
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    return value


def untyped(value: Any) -> Any:
    """A canonical value as fingerprints hashed it before keys kept their type:
    keys and timestamps as their `str()`. Only to recognise such a lock entry."""
    if isinstance(value, dict):
        return {str(key): untyped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [untyped(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def canonical_text(value: Any) -> str:
    """The text a canonical value is compared as: types kept apart (1, 1.0,
    true and "1" differ, as do keys `1` and "1"), NaN equal to NaN."""
    return _text(typed(value))


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def same(before: Any, after: Any) -> bool:
    """Do two param values (one from the lock, one from the params file) agree?"""
    # Two equal scalars of one type have one canonical text (-0.0 and 0.0
    # are both 0.0; NaN is not equal to itself, so it goes the long way): the
    # common case, a param that did not change, needs no text.
    kind = type(before)
    if kind is type(after) and kind in _SCALARS and before == after:
        return True
    try:
        return canonical_text(canonical(before, "")) == canonical_text(canonical(after, ""))
    except BadInputError:  # a lock value with no canonical form equals nothing
        return False
