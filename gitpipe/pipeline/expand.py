"""Before a stage is validated: `${…}` from `vars:` and params files rendered into
its fields, and `foreach:`/`matrix:` turned into its items (pipeline/items.py).

The values come, as in DVC, from `params.yaml` at the root when it exists, then
from each entry of the top-level `vars:` list in order: a file
(`config.yaml`, `config.json`, `config.toml`, or `file.yaml:key1,key2` for
some of its keys) or an inline mapping. Mappings merge; one name given two
different values is an error. They are read only when a stage uses a name
that is not its own (`item`, `key`, a partition's dates), so a pipeline
without templates reads nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import xxhash

from gitpipe.core.errors import GitpipeError, did_you_mean
from gitpipe.core.yamlio import line_of, plain
from gitpipe.pipeline import items as items_module
from gitpipe.pipeline.items import ITEM_NAMES, ItemSpec
from gitpipe.pipeline.model import DEFAULT_PARAMS_FILE
from gitpipe.pipeline.paramformats import parse_params
from gitpipe.pipeline.stage import Collector
from gitpipe.pipeline.templates import TemplateError, has_template, lookup, render_data, root_of

DATE_NAMES = frozenset({"date", "year", "month", "day", "hour"})
ReadFile = Callable[[str], "str | None"]


def digest_of(text: str | None) -> str:
    """How a vars file is remembered: "" when it does not exist."""
    return xxhash.xxh3_64_hexdigest(text.encode()) if text is not None else ""


class VarsError(ValueError):
    """A vars file that cannot be read or merged."""


def _load(path: str, text: str) -> Any:
    """A vars file's data, read as params files are (by extension; YAML 1.2 numbers)."""
    return plain(parse_params(text, path))


def _merge(into: dict[str, Any], new: Mapping[str, Any], where: str, prefix: str = "") -> None:
    for key, value in new.items():
        name = f"{prefix}{key}"
        old = into.get(key)
        if isinstance(old, dict) and isinstance(value, Mapping):
            _merge(old, value, where, name + ".")
        elif key in into and old != value:
            raise VarsError(f"{where}: {name!r} is already defined with another value")
        else:
            into[key] = plain(value)


class Vars:
    """The values `${…}` may name; read on first use, and the files read recorded
    (`inputs`: path and digest) so a remembered pipeline is checked against them."""

    def __init__(self, declared: Any, read_file: ReadFile | None,
                 line: int | None = None) -> None:
        self.declared = declared
        self.line = line
        self.failed = False  # a problem of the vars is reported once, not per stage
        self.read_file = read_file
        self.inputs: list[tuple[str, str]] = []
        # params.yaml, read from the project, does not exist: the likelier
        # cause of a `${…}` no value is found for (`undefined_problem`).
        self.no_default_file = False
        self._values: dict[str, Any] | None = None
        self._error: VarsError | None = None

    @property
    def values(self) -> dict[str, Any]:
        if self._error is not None:
            raise self._error
        if self._values is None:
            self._values = {}
            try:
                self._read_all()
            except VarsError as exc:
                self._error = exc
                raise
        return self._values

    def _read_all(self) -> None:
        assert self._values is not None
        self._read_file(DEFAULT_PARAMS_FILE, None, required=False)
        for entry in self._entries():
            if isinstance(entry, Mapping):
                _merge(self._values, entry, "vars")
            else:
                path, _, keys = str(entry).partition(":")
                self._read_file(path, keys.split(",") if keys else None, required=True)

    def _entries(self) -> list[Any]:
        declared = self.declared
        if declared is None:
            return []
        if isinstance(declared, (Mapping, str)):
            return [declared]
        if not isinstance(declared, list):
            raise VarsError("'vars' must be a list of files and mappings")
        return declared

    def _read_file(self, path: str, keys: list[str] | None, required: bool) -> None:
        from gitpipe.trust.checks import path_problem

        problem = path_problem(path)
        if problem:
            raise VarsError(f"vars file {path!r} {problem}")
        text = self.read_file(path) if self.read_file is not None else None
        self.inputs.append((path, digest_of(text)))
        if text is None:
            if required:
                raise VarsError(f"vars file {path!r} does not exist")
            self.no_default_file = self.read_file is not None
            return
        try:
            data = _load(path, text)
        except GitpipeError as exc:
            raise VarsError(f"vars file {path!r} cannot be read: {exc.message}") from None
        if not isinstance(data, Mapping):
            raise VarsError(f"vars file {path!r} must hold a mapping")
        if keys is not None:
            data = {k.strip(): lookup(data, k.strip()) for k in keys}
        assert self._values is not None
        _merge(self._values, data, f"vars file {path!r}")

    def has(self, name: str) -> bool:
        return root_of(name) in self.values

    def undefined_problem(self, names: list[str]) -> str | None:
        """The problem of `${…}` names no value is found for, where params.yaml
        does not exist (None where it does: each field then says its own)."""
        if not names or not self.no_default_file:
            return None
        besides = " and 'vars:' does not define it" if self.declared is not None else ""
        return (f"${{{names[0]}}} is not defined: {DEFAULT_PARAMS_FILE} does not exist{besides} "
                f"(`${{…}}` takes its values from {DEFAULT_PARAMS_FILE} at the repository "
                "root and from 'vars:')")

    def resolve(self, name: str) -> Any:
        return lookup(self.values, name)


def expand_stage(name: str, body: Mapping[str, Any], context: Vars,
                 errors: Collector) -> tuple[Any, ItemSpec | None] | None:
    """The stage's body with vars rendered, and its items; None after reporting."""
    line = getattr(body, "line", None)
    try:
        if "foreach" in body or "matrix" in body:
            return _expand_items(name, body, context, errors)
        if not has_template(body):
            return body, None
        dated = "partition" in body
        undefined: list[str] = []

        def keep(ref: str) -> bool:
            if dated and ref in DATE_NAMES:
                return True
            return _undefined(ref, context, undefined)

        rendered = render_data(body, context.resolve, keep)
        if problem := context.undefined_problem(undefined):
            errors.add(_line_using(body, undefined[0]) or line, problem, name)
            return None
        return rendered, None
    except TemplateError as exc:
        errors.add(line, str(exc), name)
        return None
    except VarsError as exc:
        if not context.failed:
            errors.add(context.line, str(exc))
            context.failed = True
        return None


def _expand_items(name: str, body: Mapping[str, Any], context: Vars,
                  errors: Collector) -> tuple[Any, ItemSpec | None] | None:
    kind = "foreach" if "foreach" in body else "matrix"
    template = _template(name, body, kind, errors)
    if template is None:
        return None
    raw = body[kind]
    # Counted as written, then as rendered (`foreach: ${list}`): a list too
    # long is refused before any item of it is looked at.
    problem = items_module.count_problem(kind, raw)
    values = raw
    if problem is None and has_template(raw):
        values, problem = _rendered_items(raw, context)
        problem = problem or items_module.count_problem(kind, values)
    if problem is not None:
        errors.add(line_of(body, kind), problem, name)
        return None
    try:
        pairs = (items_module.foreach_items(plain(values)) if kind == "foreach"
                 else items_module.matrix_items(plain(values)))
        spec = items_module.build(kind, pairs)
    except ValueError as exc:
        errors.add(line_of(body, kind), str(exc), name)
        return None
    bad = [p for p in (items_module.key_problem(name, k) for k in spec.item_keys) if p]
    if bad:
        errors.add(line_of(body, kind), bad[0] + (f" (and {len(bad) - 1} more)"
                                                  if len(bad) > 1 else ""), name)
        return None

    undefined: list[str] = []

    def keep(ref: str) -> bool:
        return root_of(ref) in ITEM_NAMES or _undefined(ref, context, undefined)

    rendered = render_data(template, context.resolve, keep) if has_template(template) \
        else template
    if problem := context.undefined_problem(undefined):
        errors.add(_line_using(template, undefined[0]) or line_of(body, kind), problem, name)
        return None
    return rendered, spec


def _line_using(body: Mapping[str, Any], ref: str) -> int | None:
    """The line of the first field of `body` whose text names `${ref}`."""
    return next((line_of(body, key) for key, value in body.items()
                 if has_template(value) and ref in str(value)), None)


def _rendered_items(raw: Any, context: Vars) -> tuple[Any, str | None]:
    """`foreach:` or `matrix:` as written, its `${…}` rendered; or the problem
    of a name no value is found for where params.yaml does not exist (with
    params.yaml, the name's own TemplateError)."""
    undefined: list[str] = []
    kept: list[str] = []

    def left(ref: str) -> bool:
        if _undefined(ref, context, undefined):
            kept.append(ref)
            return True
        return False

    values = render_data(raw, context.resolve, left)
    if problem := context.undefined_problem(undefined):
        return None, problem
    if kept:  # rendered again without leaving it: its TemplateError names it
        values = render_data(raw, context.resolve)
    return values, None


def _undefined(ref: str, context: Vars, found: list[str]) -> bool:
    """Whether `${ref}` is left as it is (no value is found for it); the names
    no item or partition defines either, nor nearly (`${dtae}`: its field
    says `did you mean 'date'?`), are noted in `found`."""
    if context.has(ref):
        return False
    root = root_of(ref)
    if root not in _OWN_NAMES and did_you_mean(root, _OWN_NAMES) is None:
        found.append(ref.strip())
    return True


_OWN_NAMES = (*ITEM_NAMES, *sorted(DATE_NAMES))


def _template(name: str, body: Any, kind: str, errors: Collector) -> Any:
    """The stage body each item is made from: `do:` for foreach, the rest for matrix."""
    if "foreach" in body and "matrix" in body:
        errors.add(line_of(body, "matrix"), "a stage has 'foreach' or 'matrix', not both", name)
        return None
    if kind == "matrix":
        if "do" in body:
            errors.add(line_of(body, "do"), "'do' goes with 'foreach'; a 'matrix' stage "
                       "writes its fields beside 'matrix'", name)
            return None
        template = type(body)((k, v) for k, v in body.items() if k != "matrix")
        for attribute in ("line", "lines"):
            if hasattr(body, attribute):
                setattr(template, attribute, getattr(body, attribute))
        return template
    extra = [k for k in body if k not in ("foreach", "do")]
    if extra or not isinstance(body.get("do"), dict):
        where = extra[0] if extra else "foreach"
        errors.add(line_of(body, where), "a 'foreach' stage holds 'foreach' and 'do' only; "
                   "its fields go under 'do:'", name)
        return None
    return body["do"]
