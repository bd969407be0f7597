"""Params files in YAML, JSON or TOML, chosen by the file's extension (as DVC does).

YAML is read with YAML 1.2's numbers (`1e-3` is a number); JSON and TOML keep
what YAML refuses too: a key written twice is an error, not a silent winner.
"""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

from gitpipe.core.errors import BadInputError
from gitpipe.core.yamlio import (
    MAX_NUMBER_CHARS,
    Overflowed,
    check_bounds,
    overflowed,
    parse_plain,
    refuse_oversized,
)


def parse_params(text: str, path: str, source: str | None = None) -> Any:
    """The data of params (or metrics) file `path` from its text, by its
    extension; BadInputError naming `source` (default: the path) and the line
    on a syntax error; the path, from the spec, as a terminal shows it plainly."""
    from gitpipe.trust.checks import printable

    source = source or printable(path)
    refuse_oversized(text, source)
    kind = params_format(path)
    # A byte order mark (some Windows editors write one) is no part of the data;
    # YAML drops it by itself.
    text = text.removeprefix("\ufeff")
    if kind == "json":
        data = _parse_json(text, source)
    elif kind == "toml":
        data = _parse_toml(text, source)
    else:
        data = parse_plain(text, source, yaml12_numbers=True)
    _refuse_overflowed(data, source)
    return data


def params_format(path: str) -> str:
    """How params file `path` is read, by what follows the last `.` of its
    name (all of it without one): `json`, `toml`, or else `yaml`. The same
    text reads as other data in another (`Infinity` is a number in JSON,
    text in YAML), so what remembers a parse names the format too."""
    extension = path.rpartition("/")[2].rpartition(".")[2].lower()
    return extension if extension in ("json", "toml") else "yaml"


def _refuse_overflowed(data: Any, source: str, key: str = "") -> None:
    """BadInputError naming the key of the first number too large for a float
    (`1e400`), which would otherwise be read, hashed and compared as infinity."""
    if isinstance(data, Overflowed):
        raise BadInputError(
            f"{source}: key {key!r}: {data.text} is beyond a number's range "
            "(it would read as infinity)",
            hint="write a number within ±1.8e308, or infinity as such ('.inf' in YAML, "
                 "'inf' in TOML)")
    if isinstance(data, dict):
        for name, value in data.items():
            _refuse_overflowed(value, source, f"{key}.{name}" if key else str(name))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            _refuse_overflowed(value, source, f"{key}[{index}]")


def _once_each_key(path: str) -> Any:
    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key, value in pairs:
            if key in data:
                raise BadInputError(f"{path}: key {key!r} is written twice in one object",
                                    hint="keep one of them")
            data[key] = value
        return data
    return build


NEWLINE = "\n"


def _long_number(text: str, path: str, kind: str) -> BadInputError:
    """The error for a number longer than yamlio allows, at its line."""
    found = re.search(f"[0-9_]{{{MAX_NUMBER_CHARS + 1},}}", text)
    line = f":{text.count(NEWLINE, 0, found.start()) + 1}" if found else ""
    return BadInputError(f"{path}{line}: invalid {kind}: a number of more than "
                         f"{MAX_NUMBER_CHARS:,} characters")


def _bounded_int(text: str, path: str) -> Any:
    """json's `parse_int`: refuses a number longer than yamlio allows, which
    Python could not turn into an int (over 4,300 digits) or print."""

    def parse(digits: str) -> int:
        if len(digits) > MAX_NUMBER_CHARS:
            raise _long_number(text, path, "JSON")
        return int(digits)
    return parse


def _parse_json(text: str, path: str) -> Any:
    try:
        data = json.loads(text, object_pairs_hook=_once_each_key(path),
                          parse_int=_bounded_int(text, path), parse_float=_marked_float)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise BadInputError(f"{path}: invalid JSON: nested too deeply") from None
    if _SURROGATE_ESCAPE.search(text):
        _refuse_surrogates(data, path)
    return data


# JSON alone writes half a character: `\ud800` unpaired is read as a lone
# surrogate, which no file can hold (YAML and TOML refuse it as they read).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_surrogates(data: Any, source: str, key: str = "") -> None:
    """BadInputError naming the key of the first text (or key) holding a lone
    surrogate: the lock cannot record it, nor a terminal show it, so it is
    refused where read, before any command runs rather than after."""
    if isinstance(data, str) and _SURROGATE.search(data):
        raise _half_character(source, key, data)
    if isinstance(data, dict):
        for name, value in data.items():
            where = f"{key}.{name}" if key else str(name)
            if isinstance(name, str) and _SURROGATE.search(name):
                raise _half_character(source, where, name)
            _refuse_surrogates(value, source, where)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            _refuse_surrogates(value, source, f"{key}[{index}]")


def _half_character(source: str, key: str, text: str) -> BadInputError:
    from gitpipe.trust.checks import shown

    return BadInputError(f"{source}: key {shown(key)}: {shown(text)} holds a \\u escape of "
                         "half a character, which is no text",
                         hint="write the character itself, or both halves of its \\u pair")


def _marked_float(text: str) -> float:
    """A float as json and tomllib read it, marked when it overflowed."""
    return overflowed(text, float(text))


def _toml_module() -> Any:
    """tomllib, or its backport on Python 3.10; None when neither is there."""
    for name in ("tomllib", "tomli"):
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    return None


def _parse_toml(text: str, path: str) -> Any:
    toml = _toml_module()
    if toml is None:
        raise BadInputError(f"{path}: reading TOML needs Python 3.11 or the tomli package",
                            hint="pip install tomli, or write the file as YAML or JSON")
    try:
        return check_bounds(toml.loads(text, parse_float=_marked_float), path)
    except toml.TOMLDecodeError as exc:
        raise BadInputError(f"{path}: invalid TOML: {exc}") from None
    except ValueError:  # int() refused a number of more than 4,300 digits
        raise _long_number(text, path, "TOML") from None
    except RecursionError:
        raise BadInputError(f"{path}: invalid TOML: nested too deeply") from None
