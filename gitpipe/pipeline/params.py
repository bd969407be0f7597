"""Params files (`params.yaml` and others): load once, select the keys a stage names."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gitpipe.core.errors import BadInputError, GitpipeError, SpecError, did_you_mean
from gitpipe.core.parsecache import cached_parse
from gitpipe.hashing.canonical import canonical, key_text, label, same
from gitpipe.hashing.statsig import ReadLog
from gitpipe.pipeline.model import DEFAULT_PARAMS_FILE, ParamRef, Stage
from gitpipe.pipeline.paramformats import params_format, parse_params
from gitpipe.trust.checks import printable

_MISSING = object()


def lookup(data: Any, key: str) -> Any:
    """The value at dotted `key` in nested mappings, or _MISSING."""
    if isinstance(data, dict) and key in data:
        return data[key]
    node = data
    for part in key.split("."):
        node = _child(node, part)
        if node is _MISSING:
            return _MISSING
    return node


def _child(node: Any, part: str) -> Any:
    """The item of `node` named `part`: a string key, else the one key of
    another type written so (`1`, `true`, `2024-03-01`), or _MISSING."""
    if not isinstance(node, dict):
        return _MISSING
    if part in node:
        return node[part]
    named = [key for key in node if not isinstance(key, str) and key_text(key) == part]
    return node[named[0]] if len(named) == 1 else _MISSING


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
        # As the spec's vars files are read: never through a symlink that
        # leads outside the repository (a clone's params.yaml -> ~/.config/…
        # would show a secret in status and record it in the committed lock).
        from gitpipe.pipeline.parse import project_reader

        return cls(project_reader(root, reads), cache_dir)

    def file(self, path: str) -> Any:
        if path not in self._files:
            text = self._read_text(path)
            if text is None:
                self._files[path] = _MISSING
            else:
                self._files[path] = cached_parse(
                    text, path, self._cache_dir, lambda t: parse_params(t, path),
                    reader=f"params-{params_format(path)}") or {}
        return self._files[path]

    def values(self, stage: Stage) -> dict[str, Any]:
        """{key: value} for every param `stage` names; SpecError naming what is missing."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for ref in stage.params:
            value = self._value(ref, stage, problems)
            if value is not _MISSING:
                values[_display_key(ref)] = canonical(
                    value, f"{printable(ref.file)}: param {ref.key!r}")
        if problems:
            raise SpecError(problems)
        return dict(sorted(values.items()))

    def _value(self, ref: ParamRef, stage: Stage, problems: list[str]) -> Any:
        data = self.file(ref.file)
        if data is _MISSING:
            problems.append(f"{printable(ref.file)}: stage {stage.name!r}: "
                            "params file does not exist" + _other_default(self._read_text, ref))
            return _MISSING
        if not isinstance(data, dict):
            raise BadInputError(f"{printable(ref.file)}: must be a mapping of parameter names")
        value = lookup(data, ref.key)
        if value is _MISSING:
            hint = did_you_mean(ref.key, _all_keys(data))
            problems.append(f"{printable(ref.file)}: stage {stage.name!r}: param "
                            f"{ref.key!r} not found" + (f" ({hint})" if hint else ""))
        return value


OTHER_PARAMS_NAMES = ("params.yml", "params.json", "params.toml")  # DVC reads these too


def _other_default(read_text: Callable[[str], str | None], ref: ParamRef) -> str:
    """Where the default params.yaml is missing and a file of another name
    DVC users keep params in is there: what to write instead."""
    if ref.file != DEFAULT_PARAMS_FILE:
        return ""
    for name in OTHER_PARAMS_NAMES:
        try:
            there = read_text(name) is not None
        except GitpipeError:  # a link out, a folder: no hint, the missing file's error stands
            continue
        if there:
            return (f" ({name} is there: name it in the stage's params as "
                    f"'- {name}: [{ref.key}]', or rename it {DEFAULT_PARAMS_FILE})")
    return ""


def _display_key(ref: ParamRef) -> str:
    return ref.key if ref.file == DEFAULT_PARAMS_FILE else f"{ref.file}:{ref.key}"


def _all_keys(data: Any, prefix: str = "") -> Iterable[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            full = f"{prefix}{key}"
            yield full
            yield from _all_keys(value, full + ".")


Leaf = tuple[str, ...]


def leaves(values: dict[str, Any]) -> dict[Leaf, Any]:
    """Nested param values → {path: leaf}, each path the param's name and then
    a label per key (see label), so that a key `1` and a key "1", or a key
    "lr.x" and lr → x, are different leaves."""
    found: dict[Leaf, Any] = {}
    for name, value in values.items():
        _collect((name,), value, found)
    return found


def _collect(path: Leaf, value: Any, found: dict[Leaf, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _collect((*path, label(key)), item, found)
    else:
        found[path] = value


def dotted(path: Leaf) -> str:
    """A leaf's path as shown: `train.lr`, `train[1]`, `train["lr.x"]`."""
    return path[0] + "".join(part if part.startswith("[") else f".{part}"
                             for part in path[1:])


def flatten(values: dict[str, Any]) -> dict[str, Any]:
    """Nested param values → {dotted.key: leaf}, for reasons like 'train.lr 0.1 -> 0.5'."""
    return {dotted(path): leaf for path, leaf in leaves(values).items()}


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Any = _Absent()


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(dotted name, old, new) for each leaf that differs between two param
    value sets, in name order; ABSENT stands for a leaf one side lacks."""
    old, new = leaves(before), leaves(after)
    found = []
    for path in sorted(set(old) | set(new)):
        was, now = old.get(path, ABSENT), new.get(path, ABSENT)
        if was is ABSENT or now is ABSENT or not same(was, now):
            found.append((dotted(path), was, now))
    return _redeclared(found)


def _redeclared(found: list[tuple[str, Any, Any]]) -> list[tuple[str, Any, Any]]:
    """`found`, a leaf declared under another name (`feat.factor`, then the
    whole of `feat`) one change from its old value to its new one, which may
    be the same: not an `added` and a `removed` of one dotted name."""
    removed = {name: was for name, was, now in found if now is ABSENT}
    moved = {name for name, was, now in found if was is ABSENT} & removed.keys()
    if not moved:
        return found
    return [(name, removed[name], now) if name in moved else (name, was, now)
            for name, was, now in found if not (name in moved and now is ABSENT)]
