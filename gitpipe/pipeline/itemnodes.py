"""`foreach` and `matrix` counted on the composed YAML, before it is built.

Building the objects of a list of a few hundred thousand items takes PyYAML
seconds; composing it, a fraction of that. So the parse of gitpipe.yaml shows
its composed document here first (yamlio.NodeCheck), and a stage whose items
are too many by count alone is refused then, with the message and line that
expand.py gives it after building. Only what is certain from the nodes is
refused: a stage that another check reports first (both `foreach` and
`matrix`, a `foreach` without a `do:` mapping, `do` beside `matrix`, an
invalid name), or whose mapping merges keys in (`<<`) or has keys that are
not strings, is left for the full parse to judge. A document that the
full parse would refuse for another reason (a tag on the wrong kind of node
in another stage) may be refused for its count instead: refused either way.
"""

from __future__ import annotations

from typing import Any

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from gitpipe.pipeline.items import too_many
from gitpipe.trust.checks import STAGE_NAME

_TAG = "tag:yaml.org,2002:"
# A tag names a kind of node only on a node of that kind: `!!map x` is a
# scalar whose constructor will refuse it, never a mapping to look into.
_NODES: dict[str, Any] = {"map": MappingNode, "seq": SequenceNode, "str": ScalarNode}


def _is(node: Any, kind: str) -> bool:
    return isinstance(node, _NODES[kind]) and node.tag == _TAG + kind


def _fields(node: Any) -> dict[str, Any] | None:
    """A mapping node's pairs by key text (key node, value node), or None if
    it is not a plain mapping of string keys without merge keys."""
    if not _is(node, "map"):
        return None
    fields = {}
    for key, value in node.value:
        if not _is(key, "str"):
            return None
        fields[key.value] = (key, value)
    return fields


def too_many_items(root: Any) -> list[tuple[int, str, str]]:
    """(line, stage, problem) for each stage of the composed gitpipe.yaml
    whose `foreach` or `matrix` makes too many nodes, in the order written."""
    top = _fields(root)
    stages = top.get("stages") if top else None
    found = []
    for name_node, body in stages[1].value if stages and _is(stages[1], "map") else ():
        named = _is(name_node, "str") and STAGE_NAME.match(name_node.value)
        fields = _fields(body) if named else None
        kind = _kind(fields) if fields else None
        if fields is None or kind is None:
            continue
        key, value = fields[kind]
        problem = too_many(kind, _count(kind, value))
        if problem is not None:
            found.append((key.start_mark.line + 1, name_node.value, problem))
    return found


def _kind(fields: dict[str, Any]) -> str | None:
    """`foreach` or `matrix` where expand.py counts that field first."""
    if "foreach" in fields and "matrix" not in fields:
        only = set(fields) == {"foreach", "do"}
        return "foreach" if only and _is(fields["do"][1], "map") else None
    if "matrix" in fields and "foreach" not in fields and "do" not in fields:
        return "matrix"
    return None


def _count(kind: str, value: Any) -> int:
    """How many items the node makes (0 when unknown until it is built)."""
    if kind == "foreach":
        if _is(value, "seq") or _fields(value) is not None:
            return len(value.value)
        return 0
    fields = _fields(value)
    if fields is None:
        return 0
    count = 1
    for _, values in fields.values():
        count *= len(values.value) if _is(values, "seq") else 1
    return count
