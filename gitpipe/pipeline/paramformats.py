"""Params files in YAML, JSON or TOML, chosen by the file's extension (as DVC does).

YAML is read with YAML 1.2's numbers (`1e-3` is a number); JSON and TOML keep
what YAML refuses too: a key written twice is an error, not a silent winner.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from gitpipe.core.errors import BadInputError
from gitpipe.core.yamlio import MAX_BYTES, parse_plain


def parse_params(text: str, path: str, source: str | None = None) -> Any:
    """The data of params (or metrics) file `path` from its text, by its
    extension; BadInputError naming `source` (default: the path) and the line
    on a syntax error."""
    source = source or path
    if len(text) > MAX_BYTES:
        raise BadInputError(f"{source}: file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    extension = path.rpartition("/")[2].rpartition(".")[2].lower()
    if extension == "json":
        return _parse_json(text, source)
    if extension == "toml":
        return _parse_toml(text, source)
    return parse_plain(text, source, yaml12_numbers=True)


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


def _parse_json(text: str, path: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_once_each_key(path))
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise BadInputError(f"{path}: invalid JSON: nested too deeply") from None


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
        return toml.loads(text)
    except toml.TOMLDecodeError as exc:
        raise BadInputError(f"{path}: invalid TOML: {exc}") from None
