"""Params files (`params.yaml` and others): load once, select the keys a stage names."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gitpipe.errors import BadInputError, SpecError, did_you_mean
from gitpipe.spec import DEFAULT_PARAMS_FILE, ParamRef, Stage
from gitpipe.statsig import ReadLog, read_noted
from gitpipe.yamlio import cached_parse, parse_plain

_MISSING = object()


def lookup(data: Any, key: str) -> Any:
    """The value at dotted `key` in nested mappings, or _MISSING."""
    if isinstance(data, dict) and key in data:
        return data[key]
    node = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


class ParamsReader:
    """Loads each params file at most once; reads from disk or from any text source.

    `read_text(path) -> str | None` lets `status --rev` read files from a git
    commit instead of the workspace.
    """

    def __init__(self, read_text: Callable[[str], str | None],
                 cache_dir: Path | None = None) -> None:
        self._read_text = read_text
        self._files: dict[str, Any] = {}
        self._cache_dir = cache_dir

    @classmethod
    def from_workspace(cls, root: Path, cache_dir: Path | None = None,
                       reads: ReadLog | None = None) -> ParamsReader:
        def read(path: str) -> str | None:
            try:
                return read_noted(root / path, path, reads)
            except FileNotFoundError:
                return None
        return cls(read, cache_dir)

    def file(self, path: str) -> Any:
        if path not in self._files:
            text = self._read_text(path)
            if text is None:
                self._files[path] = _MISSING
            else:
                self._files[path] = cached_parse(
                    text, path, self._cache_dir, lambda t: parse_plain(t, path)) or {}
        return self._files[path]

    def values(self, stage: Stage) -> dict[str, Any]:
        """{key: value} for every param `stage` names; SpecError naming what is missing."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for ref in stage.params:
            value = self._value(ref, stage, problems)
            if value is not _MISSING:
                values[_display_key(ref)] = canonical(value, f"{ref.file}: param {ref.key!r}")
        if problems:
            raise SpecError(problems)
        return dict(sorted(values.items()))

    def _value(self, ref: ParamRef, stage: Stage, problems: list[str]) -> Any:
        data = self.file(ref.file)
        if data is _MISSING:
            problems.append(f"{ref.file}: stage {stage.name!r}: params file does not exist")
            return _MISSING
        if not isinstance(data, dict):
            raise BadInputError(f"{ref.file}: must be a mapping of parameter names")
        value = lookup(data, ref.key)
        if value is _MISSING:
            hint = did_you_mean(ref.key, _all_keys(data))
            problems.append(f"{ref.file}: stage {stage.name!r}: param {ref.key!r} not found"
                            + (f" ({hint})" if hint else ""))
        return value


def _display_key(ref: ParamRef) -> str:
    return ref.key if ref.file == DEFAULT_PARAMS_FILE else f"{ref.file}:{ref.key}"


def _all_keys(data: Any, prefix: str = "") -> Iterable[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            full = f"{prefix}{key}"
            yield full
            yield from _all_keys(value, full + ".")


def flatten(values: dict[str, Any]) -> dict[str, Any]:
    """Nested param values → {dotted.key: leaf}, for reasons like 'train.lr 0.1 -> 0.5'."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            for sub, leaf in flatten(value).items():
                flat[f"{key}.{sub}"] = leaf
        else:
            flat[key] = value
    return flat


def canonical(value: Any, where: str) -> Any:
    """`value` in the one form that hashes, compares and writes the same in every
    process: mappings with string keys in sorted order, sets as sorted lists,
    -0.0 as 0.0. BadInputError naming `where` for what has no such form.

    NOTE: a YAML set is a Python set, whose order (and so its text) follows
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


def _canonical_mapping(value: dict[Any, Any], where: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key in value:
        if not isinstance(key, (str, int, float, bool, dt.date)) or key != key:
            raise BadInputError(f"{where}: key {key!r} is not a string or number",
                                hint="param keys must be plain names")
        name = str(key)
        if name in result:
            raise BadInputError(f"{where}: two keys read as {name!r}",
                                hint="quote the keys, or rename one")
        result[name] = canonical(value[key], f"{where}.{name}")
    return dict(sorted(result.items()))


def canonical_text(value: Any) -> str:
    """The text a canonical value is hashed and compared as: types kept apart
    (1, 1.0, true and "1" differ), NaN equal to NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_text_of)


def _text_of(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=canonical_text)
    raise TypeError(type(value).__name__)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def same(before: Any, after: Any) -> bool:
    """Do two param values (one from the lock, one from the params file) agree?"""
    # NOTE: two equal scalars of one type have one canonical text (-0.0 and 0.0
    # are both 0.0; NaN is not equal to itself, so it goes the long way): the
    # common case, a param that did not change, needs no text.
    kind = type(before)
    if kind is type(after) and kind in _SCALARS and before == after:
        return True
    try:
        return canonical_text(canonical(before, "")) == canonical_text(canonical(after, ""))
    except BadInputError:  # a lock value with no canonical form equals nothing
        return False
