"""`foreach` and `matrix` items: a stage's nodes from a list of values, a mapping,
or the product of named lists, named as DVC names them.

They are a stage's partitions in all but origin: `stage@key` is a Task with
its own lock entry, staleness and place under the stage's `concurrency` and
`pool`; `ItemSpec` answers `keys()` as `PartitionSpec` does, and
model.partition_task renders `${item…}` and `${key}` instead of `${date}`.

- `foreach:` a list of scalars → `stage@<value>`; a list holding mappings or
  lists → `stage@0`, `stage@1` (the index); a mapping → `stage@<key>`, with
  `${key}` and `${item}` (the value).
- `matrix:` named lists → one node per combination, `stage@<a>-<b>` (values
  in the order the names are written; a mapping or list value is written as
  its name and index, `model0`); `${item.<name>}` and `${key}`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from gitpipe.pipeline.partitions import PartitionError
from gitpipe.pipeline.templates import to_text

MAX_ITEMS = 100_000
MAX_KEY = 120
ITEM_NAMES = ("item", "key")

# Item keys -> {key: position}, by the identity of the (immutable) tuple of keys;
# the tuple is held with its positions, so its id is never reused while noted.
_POSITIONS: dict[int, tuple[tuple[str, ...], dict[str, int]]] = {}


class ItemSpec(NamedTuple):
    """A stage's items: their keys and each one's `${item}`/`${key}` values as JSON
    (JSON keeps the Stage hashable, picklable and compared by value)."""

    kind: str
    item_keys: tuple[str, ...]
    contexts: tuple[str, ...]

    def keys(self, today: dt.date | None = None, start: str | None = None,
             end: str | None = None) -> list[str]:
        if start is not None or end is not None:
            raise PartitionError(f"the stage's nodes are {self.kind} items, not dates: "
                                 "name them instead (gitpipe repro STAGE@ITEM ...)")
        return list(self.item_keys)

    def variables(self, key: str) -> dict[str, Any]:
        at = self.position(key)
        if at is None:
            raise ValueError(f"no item {key!r}")
        found: dict[str, Any] = json.loads(self.contexts[at])
        return found

    def position(self, key: str) -> int | None:
        """Where `key` stands among the item keys (the first place, as
        tuple.index says), or None: a stage of many items asks once per node
        and once per lock entry, which tuple.index makes quadratic."""
        known = _POSITIONS.get(id(self.item_keys))
        if known is None or known[0] is not self.item_keys:
            places = {k: i for i, k in reversed(list(enumerate(self.item_keys)))}
            known = _POSITIONS[id(self.item_keys)] = (self.item_keys, places)
        return known[1].get(key)

    @property
    def key_name(self) -> str:
        """The variable the spec writes for what follows a node's `@`: `key`
        for a mapping or a matrix; `item` for a `foreach` over plain values
        (the value is the name, and no `${key}` is defined); empty for a list
        of mappings or lists, whose nodes are named by an index no variable
        holds."""
        context = json.loads(self.contexts[0]) if self.contexts else {}
        if "key" in context:
            return "key"
        return "" if _is_composite(context.get("item")) else "item"

    def items(self) -> list[tuple[str, dict[str, Any]]]:
        return [(key, json.loads(text)) for key, text in zip(self.item_keys, self.contexts,
                                                             strict=True)]


def key_names(stages: Iterable[Any]) -> dict[str, str]:
    """Each stage whose node names the spec writes as `${item}` (not `${key}`),
    or not at all (empty: an index), by name: what a line shared by its nodes
    calls them."""
    return {stage.name: stage.partition.key_name for stage in stages
            if isinstance(stage.partition, ItemSpec) and stage.partition.key_name != "key"}


def count_problem(kind: str, value: Any) -> str | None:
    """Why `value` (a `foreach:` or `matrix:` as written) makes too many nodes,
    counted before a single item is made: each costs a key, a rendered
    context and a check, seconds for a few hundred thousand. None when it
    makes few enough, or is not a list or mapping (foreach_items says why)."""
    if kind == "foreach":
        count = len(value) if isinstance(value, (list, Mapping)) else 0
    else:
        count = 1
        for values in value.values() if isinstance(value, Mapping) else ():
            count *= len(values) if isinstance(values, list) else 1
    return too_many(kind, count)


def too_many(kind: str, count: int) -> str | None:
    """Why a `foreach` of `count` items (a `matrix` of `count` combinations)
    is refused, or None."""
    if count <= MAX_ITEMS:
        return None
    made = "items" if kind == "foreach" else "combinations"
    return f"'{kind}' makes {count:,} {made} (at most {MAX_ITEMS:,})"


def _is_composite(value: Any) -> bool:
    return isinstance(value, (Mapping, list))


def foreach_items(value: Any) -> list[tuple[str, dict[str, Any]]]:
    """(key, context) per item of a `foreach:` value; ValueError if it is not a
    non-empty list or mapping."""
    if isinstance(value, Mapping):
        pairs = [(to_text(k), {"item": v, "key": to_text(k)}) for k, v in value.items()]
    elif isinstance(value, list):
        if any(_is_composite(v) for v in value):
            pairs = [(str(i), {"item": v}) for i, v in enumerate(value)]
        else:
            pairs = [(to_text(v), {"item": v}) for v in value]
    else:
        raise ValueError(f"'foreach' must be a list or a mapping, not {type(value).__name__}")
    return pairs


def matrix_items(value: Any) -> list[tuple[str, dict[str, Any]]]:
    """(key, context) per combination of a `matrix:` of named lists."""
    if not isinstance(value, Mapping) or not value:
        raise ValueError("'matrix' must be a mapping of names to lists")
    for name, values in value.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"matrix {name!r} must be a non-empty list")
    names = list(value)
    problem = count_problem("matrix", value)
    if problem is not None:
        raise ValueError(problem)
    pairs = []
    for combination in itertools.product(*(enumerate(value[n]) for n in names)):
        fragments = [f"{n}{i}" if _is_composite(v) else to_text(v)
                     for n, (i, v) in zip(names, combination, strict=True)]
        key = "-".join(fragments)
        pairs.append((key, {"item": {n: v for n, (_, v) in zip(names, combination,
                                                                strict=True)}, "key": key}))
    return pairs


def build(kind: str, pairs: list[tuple[str, dict[str, Any]]]) -> ItemSpec:
    """The ItemSpec of checked pairs; ValueError for none, too many, or a repeated key."""
    if not pairs:
        raise ValueError(f"'{kind}' has no items")
    if len(pairs) > MAX_ITEMS:
        raise ValueError(f"'{kind}' makes {len(pairs):,} items (at most {MAX_ITEMS:,})")
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise ValueError(f"'{kind}' names item {key!r} twice")
        seen.add(key)
    return ItemSpec(kind, tuple(k for k, _ in pairs),
                    tuple(json.dumps(c, default=str) for _, c in pairs))


def key_problem(stage: str, key: str) -> str | None:
    """Why `stage@key` cannot name a node (it names lock entries, run-cache keys and
    log files, and comes from git), or None."""
    from gitpipe.trust.checks import task_problem

    if len(key) > MAX_KEY:
        return f"item name {key[:40]!r}… is longer than {MAX_KEY} characters"
    if key in (".", "..") or task_problem(f"{stage}@{key}") is not None:
        return (f"item name {key!r} cannot name a node: only ASCII letters, digits and "
                f". _ : + - (no spaces, '/' or '@'); name the items with a mapping, e.g. "
                f"foreach: {{{_plain_key(key)}: {key!r}}}, and outs with ${{key}}")
    return None


def _plain_key(key: str) -> str:
    """A name of ASCII letters for an item `key` that holds others ('São Paulo':
    'sao-paulo'), for the example a refusal gives."""
    import re
    import unicodedata

    folded = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_.+-]+", "-", folded.lower()).strip("-") or "item1"
