"""A lock entry's text written directly, byte for byte what PyYAML writes.

`lockfile.render_entry` renders every task's entry once per build; through
PyYAML's representer and emitter that is most of the lock's cost. The entries
are few shapes of simple values, so this module writes them itself when every
value is one whose YAML form is certain: ASCII text without line breaks,
whose quoting follows libyaml's rules (plain when no indicator forbids it and
PyYAML's own resolver reads it back as a string, else single quotes), ints,
bools, None, floats as SafeRepresenter writes them, mappings and lists of
those. Anything else (non-ASCII text, line breaks, long values, nested lists)
returns None and the caller renders with PyYAML, so the lock's text is the
same either way (tests/unit/test_locktext.py compares the two on generated
entries).
"""

from __future__ import annotations

import functools
import re
from typing import Any

# Longer values could meet the emitter's line width (10,000 columns) or its
# 128-character limit on simple keys: left to PyYAML.
_MAX_VALUE = 2000
_MAX_KEY = 100
_MAX_ROW = 8000
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*\Z")
# libyaml's indicators (yaml_emitter_analyze_scalar): first characters that
# forbid a plain scalar anywhere, and characters that forbid it in a flow
# mapping (`{path: …}`) wherever they stand.
_FIRST_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")
_FLOW_INDICATOR = re.compile(r"[,?\[\]{}:]")
_STR_TAG = "tag:yaml.org,2002:str"


@functools.cache
def _resolver() -> Any:
    from yaml.nodes import ScalarNode
    from yaml.resolver import Resolver

    resolver = Resolver()
    return lambda text: resolver.resolve(ScalarNode, text, (True, False))


def _plain_allowed(text: str, flow: bool) -> bool:
    """Whether libyaml may write `text` (printable ASCII, no line break) plain."""
    if text[0] == " " or text[-1] == " " or text.startswith(("---", "...")):
        return False
    first, after = text[0], text[1:2]
    if first in _FIRST_INDICATORS or (first == "-" and after in ("", " ")):
        return False
    if first in "?:" and (flow or after in ("", " ")):
        return False
    if " #" in text:
        return False
    if flow:
        return _FLOW_INDICATOR.search(text) is None
    return ": " not in text and not text.endswith(":")


def _text(text: str, flow: bool) -> str | None:
    if len(text) > _MAX_VALUE or not _PRINTABLE_ASCII.match(text):
        return None
    if text and _plain_allowed(text, flow) and _resolver()(text) == _STR_TAG:
        return text
    return "'" + text.replace("'", "''") + "'"


def _float(value: float) -> str:
    # SafeRepresenter.represent_float's spelling.
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text


def scalar(value: Any, flow: bool = False) -> str | None:
    """`value` as PyYAML writes it (a value in block context, or in a flow
    mapping when `flow`), or None when that is not certain here."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if type(value) is int:
        return str(value)
    if type(value) is float:
        return _float(value)
    if type(value) is str:
        return _text(value, flow)
    return None


def _key(key: Any) -> str | None:
    text = scalar(key)
    return None if text is None or len(text) > _MAX_KEY else text


def _block(value: dict[Any, Any] | list[Any], indent: str, out: list[str],
           lists: set[int]) -> bool:
    """Append the lines of a non-empty mapping (at `indent`) or list (its items
    `- x` at `indent`); False when some value is not certain. `lists`: the
    ids of the lists met so far (one met twice PyYAML writes as an alias)."""
    if not isinstance(value, dict):
        for item in value:
            text = scalar(item)
            if text is None:
                return False
            out.append(f"{indent}- {text}\n")
        return True
    for key, item in value.items():
        name = _key(key)
        if name is None:
            return False
        kind = type(item)
        if kind is list:
            if id(item) in lists:
                return False
            lists.add(id(item))
        if kind in (dict, list) and item:
            out.append(f"{indent}{name}:\n")
            if not _block(item, indent if kind is list else indent + "  ", out, lists):
                return False
            continue
        text = ("{}" if kind is dict else "[]") if kind in (dict, list) else scalar(item)
        if text is None:
            return False
        out.append(f"{indent}{name}: {text}\n")
    return True


def _flow_row(row: dict[str, Any]) -> str | None:
    parts = []
    for key, value in row.items():
        text = scalar(value, flow=True)
        if text is None:
            return None
        parts.append(f"{key}: {text}")
    text = "{" + ", ".join(parts) + "}"
    return text if len(text) <= _MAX_ROW else None


def entry_text(name: str, data: dict[str, Any]) -> str | None:
    """The block `lockfile.render_entry` writes for task `name` whose
    `LockEntry.to_dict()` is `data` (indented under `stages:`), or None."""
    key = _key(name)
    if key is None:
        return None
    out = [f"  {key}:\n"]
    for field, value in data.items():
        if type(value) is list:  # deps, python, outs: one flow mapping a line
            out.append(f"    {field}:\n")
            for row in value:
                text = _flow_row(row)
                if text is None:
                    return None
                out.append(f"    - {text}\n")
        elif type(value) is dict:  # params, sorted
            out.append(f"    {field}:\n")
            if not _block(value, "      ", out, set()):
                return None
        else:
            text = scalar(value)
            if text is None:
                return None
            out.append(f"    {field}: {text}\n")
    return "".join(out)


class Flow(dict[str, Any]):
    """A mapping written on one line: `- {path: a, hash: xxh3:…}`."""


@functools.cache
def _dumper() -> Any:
    """The lock's YAML dumper (made on first write: see yamlio._yaml)."""
    import yaml

    class LockDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        pass

    LockDumper.add_representer(
        Flow, lambda dumper, data: dumper.represent_mapping(
            "tag:yaml.org,2002:map", data.items(), flow_style=True)
    )
    return LockDumper


def dump(data: Any) -> str:
    """`data` as PyYAML writes a lock: block style, a Flow on one line."""
    import yaml

    return str(yaml.dump(data, Dumper=_dumper(), sort_keys=False,
                         default_flow_style=False, allow_unicode=True, width=10_000))
