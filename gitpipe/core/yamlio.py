"""YAML reading with line numbers, and deterministic writing.

Errors must name the YAML line, so mappings and sequences remember where each
key and item stood. The C loader is used when present: the lockfile and specs
are parsed on every `status`, and it is several times faster.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from gitpipe.core.errors import BadInputError
from gitpipe.core.yamltags import expect_kind, refuse_unbuilt, refusing

MAX_ALIASES = 100
# Part of every parse-cache key: it changes with what parsing refuses, so a
# text cached under other rules is parsed, and judged, again.
PARSE_RULES = 7
MAX_BYTES = 16 * 1024 * 1024
# Numbers in specs, params and locks are counts, rates, durations and seeds.
# Python cannot turn an int above 2**1024 into a float (a timeout, a param
# compared as a number) nor print one of more than 4,300 digits, and builds a
# YAML base-60 number (`1:59:59:…`) in quadratic time: a number written in
# more characters is refused before it is built, a built one (TOML's hex)
# above MAX_INT_BITS after.
MAX_NUMBER_CHARS = 300
MAX_INT_BITS = 1000


class Overflowed(float):
    """A number written finite that a float cannot hold (`1e400`): it reads as
    infinity, which is never what was written. Readers that must refuse it
    (params files, by key) find it by its type; `text` is as written."""

    text: str


def overflowed(text: str, value: float) -> float:
    """`value` read from `text`, marked Overflowed when a finite number became
    infinite (`.inf` and `inf` are written as infinity, and stay plain)."""
    if math.isinf(value) and any(ch.isdigit() for ch in text):
        marked = Overflowed(value)
        marked.text = text
        return marked
    return value


class LineDict(dict[Any, Any]):
    """A mapping that remembers the 1-based line of each key."""

    lines: dict[Any, int]
    line: int


class LineList(list[Any]):
    """A sequence that remembers the 1-based line of each item."""

    lines: list[int]
    line: int


# Looks at the composed document (PyYAML's nodes, each with its start_mark)
# before any object is made of it, and raises to refuse it: building the
# objects of a large document costs many times what composing it does.
NodeCheck = Callable[[Any], None]


class _Yaml(NamedTuple):
    module: Any
    base_loader: Any
    base_dumper: Any
    line_loader: Any
    numbers_loader: Any


@functools.cache
def _yaml() -> _Yaml:
    """PyYAML and the loaders built on it, made on first use.

    A no-op `status` reads every YAML file from the parse cache (JSON), and
    importing yaml would cost it more than the rest of its work: the import
    waits until something really parses.
    """
    import yaml

    base_loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    base_dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class OnceEachKey(base_loader):
        """Refuses what PyYAML lets the last one win: a key written twice (two
        stages of one name, a param set twice); see core/yamlkeys.py."""

        def construct_document(self, node: Any) -> Any:
            _check_composed(self, yaml, node)
            return super().construct_document(node)

    def construct_bounded_int(loader: Any, node: Any) -> Any:
        if len(node.value) > MAX_NUMBER_CHARS:
            raise yaml.constructor.ConstructorError(
                None, None, f"a number of {len(node.value):,} characters (at most "
                f"{MAX_NUMBER_CHARS:,})", node.start_mark)
        return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)

    OnceEachKey.add_constructor("tag:yaml.org,2002:int", refusing(construct_bounded_int, yaml))
    refuse_unbuilt(OnceEachKey, yaml, ("float", "bool", "timestamp"))

    class LineLoader(OnceEachKey):
        """Safe loader building LineDict/LineList; refuses alias-heavy (bomb) documents."""

        def __init__(self, stream: Any) -> None:
            super().__init__(stream)
            self.alias_count = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.alias_count += 1
                if self.alias_count > MAX_ALIASES:
                    event = self.peek_event()
                    raise yaml.YAMLError(
                        f"line {event.start_mark.line + 1}: more than {MAX_ALIASES} aliases "
                        "(a YAML bomb?)"
                    )
            return super().compose_node(parent, index)

    class Yaml12Numbers(OnceEachKey):
        """Also reads `1e-3` and `1E5` as numbers, as YAML 1.2 (and DVC) do:
        YAML 1.1 wants a dot and a signed exponent, and calls them strings."""

    def construct_marked_float(loader: Any, node: Any) -> Any:
        return overflowed(node.value, loader.construct_yaml_float(node))

    Yaml12Numbers.add_constructor("tag:yaml.org,2002:float", refusing(construct_marked_float, yaml))
    Yaml12Numbers.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT, list("-+.0123456789"))
    LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
    LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
    return _Yaml(yaml, OnceEachKey, base_dumper, LineLoader, Yaml12Numbers)


_EXPONENT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$")


def _construct_map(loader: Any, node: Any) -> Any:
    """A mapping node as a LineDict (the line loader's constructor)."""
    expect_kind(node, "mapping")
    data = LineDict()
    data.line = node.start_mark.line + 1
    data.lines = {}
    yield data
    loader.flatten_mapping(node)  # merge keys (`<<: *defaults`): merged pairs first
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            from yaml.constructor import ConstructorError

            raise ConstructorError(None, None, "mapping keys must be scalars", key_node.start_mark)
        data[key] = loader.construct_object(value_node, deep=True)
        data.lines[key] = key_node.start_mark.line + 1


def _construct_seq(loader: Any, node: Any) -> Any:
    """A sequence node as a LineList (the line loader's constructor)."""
    expect_kind(node, "sequence")
    data = LineList()
    data.line = node.start_mark.line + 1
    data.lines = [item.start_mark.line + 1 for item in node.value]
    yield data
    data.extend(loader.construct_object(item, deep=True) for item in node.value)


def _check_composed(loader: Any, yaml: Any, root: Any) -> None:
    """The composed document's checks, before anything is built of it: gitpipe's
    own, then the parse's NodeCheck if it was given one (_load)."""
    from gitpipe.core.yamlkeys import refuse_duplicate_keys  # only where YAML is parsed

    refuse_duplicate_keys(loader, yaml, root)
    inspect: NodeCheck | None = getattr(loader, "inspect_node", None)
    if inspect is not None:
        inspect(root)


def _reject_aliases_fast(text: str) -> None:
    # The C composer does not call compose_node per node, so aliases are
    # also bounded by a cheap textual count before parsing.
    if text.count("*") > MAX_ALIASES and text.count("&") > 0:
        stars = sum(1 for token in text.split() if token.startswith("*"))
        if stars > MAX_ALIASES:
            raise _yaml().module.YAMLError(f"more than {MAX_ALIASES} aliases (a YAML bomb?)")


MAX_NODES = 2_000_000


def _expanded_size(data: Any, limit: int) -> int:
    """How many nodes `data` has once aliases are expanded, stopping past `limit`.

    Aliases share objects, so a "billion laughs" document is small in memory
    but explodes in anything that walks it (JSON, validation); sizes are
    memoized per object, so this costs one pass over the distinct objects.
    """
    sizes: dict[int, int] = {}

    def size(node: Any) -> int:
        if not isinstance(node, (dict, list)):
            if isinstance(node, int) and node.bit_length() > MAX_INT_BITS:
                raise _HugeNumber
            return 1
        key = id(node)
        if key not in sizes:
            children = node.values() if isinstance(node, dict) else node
            total = 1
            for child in children:
                total += size(child)
                if total > limit:
                    break
            sizes[key] = total
        return sizes[key]

    return size(data)


class _HugeNumber(Exception):
    """An int above MAX_INT_BITS, met while sizing the parsed data."""


def check_bounds(data: Any, source: str) -> Any:
    """`data` parsed from `source`, if bounded: not nested too deeply, not
    exploding through aliases, no int too large to print (BadInputError)."""
    try:
        size = _expanded_size(data, MAX_NODES)
    except RecursionError:
        raise BadInputError(f"{source}: nested too deeply") from None
    except _HugeNumber:
        raise BadInputError(f"{source}: holds an integer of more than {MAX_INT_BITS:,} bits "
                            "(is it really a number?)") from None
    if size > MAX_NODES:
        raise BadInputError(f"{source}: expands to more than {MAX_NODES:,} values through "
                            "aliases (a YAML bomb?)")
    return data


def _load(text: str, loader_class: Any, inspect: NodeCheck | None) -> Any:
    """yaml.load, with `inspect` shown the composed document first."""
    loader = loader_class(text)
    loader.inspect_node = inspect
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def refuse_oversized(text: str, source: str) -> None:
    """BadInputError for a text larger than a parse takes: asked by the parsers
    and before any answer remembered for a text (a seed made without parsing)."""
    if len(text) > MAX_BYTES:
        raise BadInputError(f"{source}: file is larger than {MAX_BYTES // (1024 * 1024)} MiB")


def parse_yaml(text: str, source: str, inspect: NodeCheck | None = None,
               secret: bool = False) -> Any:
    """Parse YAML text with line info; errors name `source` and the line.
    `inspect` sees the composed document before it is built (NodeCheck).
    `secret`: the text may hold credentials (a config file, an option's
    value), so a hint names its lines and quotes none of them."""
    refuse_oversized(text, source)
    lib = _yaml()
    try:
        _reject_aliases_fast(text)
        return check_bounds(_load(text, lib.line_loader, inspect), source)
    except lib.module.MarkedYAMLError as exc:
        message, hint = _yaml_problem(exc, text, source, secret)
        raise BadInputError(message, hint=hint) from None
    except lib.module.reader.ReaderError as exc:  # a NUL or other control character
        line = text.count("\n", 0, exc.position) + 1
        raise BadInputError(f"{source}:{line}: invalid YAML: character {exc.character:#06x} "
                            f"({exc.reason})") from None
    except (lib.module.YAMLError, RecursionError) as exc:
        raise BadInputError(f"{source}: invalid YAML: {exc}") from None


def _yaml_problem(exc: Any, text: str, source: str,
                  secret: bool) -> tuple[str, str | None]:
    """The message (and hint) for a YAML error: the line where the parser gave
    up, and the line of the construct it was in when that is another one."""
    from gitpipe.core.yamlhints import hint_for  # an error's path only

    mark, context = exc.problem_mark, exc.context_mark
    line = f":{mark.line + 1}" if mark is not None else ""
    message = f"{source}{line}: invalid YAML: {exc.problem}"
    if context is not None and exc.context and (mark is None or context.line != mark.line):
        message += f" ({exc.context} that starts on line {context.line + 1})"
    # A byte order mark is no part of the first line (YAML drops it too).
    lines = text.removeprefix("\ufeff").splitlines()
    return message, hint_for(str(exc.problem), lines, mark, context, secret)


def load_yaml_file(path: Path, source: str) -> Any:
    """Read and parse a YAML file; a missing file is a clear error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInputError(f"{source}: file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{source}: cannot read: {exc}") from None
    return parse_yaml(text, source)


def parse_plain(text: str, source: str, yaml12_numbers: bool = False,
                inspect: NodeCheck | None = None) -> Any:
    """Plain parse; on a YAML error, parse again with lines for the message.
    `yaml12_numbers` reads `1e-3` as a number (params files, as DVC reads them);
    `inspect` sees the composed document before it is built (NodeCheck)."""
    refuse_oversized(text, source)
    try:
        _reject_aliases_fast(text)
        lib = _yaml()
        data = _load(text, lib.numbers_loader if yaml12_numbers else lib.base_loader, inspect)
    except (_yaml().module.YAMLError, RecursionError):
        return parse_yaml(text, source, inspect)
    return check_bounds(data, source)


def dump_yaml(data: Any) -> str:
    """Deterministic YAML: block style, keys in the given order, unicode kept."""
    lib = _yaml()
    text: str = lib.module.dump(
        _bare(data), Dumper=lib.base_dumper, sort_keys=False, default_flow_style=False,
        allow_unicode=True, width=1000,
    )
    return text


def dump_inline(value: Any) -> str:
    """`value` as YAML on one line: a scalar as a key or value takes it, a
    list or mapping in flow style (`[a, b]`, `{}`)."""
    lib = _yaml()

    def dump(style: str | None) -> str:
        text: str = lib.module.dump([_bare(value)], Dumper=lib.base_dumper,
                                    default_flow_style=True,
                                    default_style=style, allow_unicode=True, width=1_000_000)
        return text.strip()[1:-1]  # inside the list's brackets

    shown = dump(None)
    return dump('"') if "\n" in shown else shown


def _bare(value: Any) -> Any:
    """`value` with its line-tracking containers as plain ones, keys as they
    are: the safe dumper represents a dict or list, not a subclass of one (a
    value parsed from the command line, `[{hmac_env: …}]`)."""
    if isinstance(value, dict):
        return {key: _bare(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_bare(item) for item in value]
    return value


def plain(value: Any) -> Any:
    """Strip line-tracking containers so values compare and serialize cleanly."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def line_of(container: Any, key: Any) -> int | None:
    """The line of `key` in a LineDict (or index in a LineList), if known."""
    lines = getattr(container, "lines", None)
    if isinstance(lines, dict):
        return lines.get(key)
    if isinstance(lines, list) and isinstance(key, int) and 0 <= key < len(lines):
        return lines[key]
    return getattr(container, "line", None)
