"""YAML values that PyYAML cannot build, refused at their line.

PyYAML's constructors raise plain Python errors (ValueError, KeyError,
AttributeError) on an explicit tag over text not of its kind (`!!int x`,
`!!bool maybe`, `!!map x`) and on a date that does not exist (`2024-02-30`,
which YAML reads as a date unquoted): yamlio.py's loaders turn each into a
ConstructorError at the node's line, which it words as any invalid YAML.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def refuse_unbuilt(loader_class: Any, yaml: Any, kinds: tuple[str, ...]) -> None:
    """The loader's constructors of these scalar kinds, each with a value it
    cannot build refused at its line (refusing)."""
    for kind in kinds:
        tag = f"tag:yaml.org,2002:{kind}"
        loader_class.add_constructor(tag, refusing(loader_class.yaml_constructors[tag], yaml))


def refusing(construct: Callable[[Any, Any], Any], yaml: Any) -> Callable[[Any, Any], Any]:
    """`construct`, with a value it cannot build refused at its line: an
    explicit tag on text that is not of its kind (`!!int x`, `!!bool maybe`)
    or a date that does not exist (`2024-02-30`, which YAML reads as a date)
    makes PyYAML's constructors raise plain Python errors."""
    def construct_or_refuse(loader: Any, node: Any) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, KeyError, AttributeError, TypeError, OverflowError) as exc:
            kind = node.tag.rpartition(":")[2]
            why = f" ({exc})" if isinstance(exc, ValueError) and kind == "timestamp" else ""
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a valid {_KIND_WORDS.get(kind, kind)}{why}",
                node.start_mark) from None
    return construct_or_refuse


_KIND_WORDS = {"int": "integer", "float": "number", "bool": "boolean", "timestamp": "date"}


def expect_kind(node: Any, word: str) -> None:
    """Refuse a `!!map` or `!!seq` tag on a node of another kind, at its line
    (`word`: "mapping" or "sequence", a node's `id`)."""
    if node.id != word:
        from yaml.constructor import ConstructorError

        tag = "!!" + node.tag.rpartition(":")[2]
        raise ConstructorError(None, None, f"{tag} is a {word}'s tag, on a {node.id}",
                               node.start_mark)
