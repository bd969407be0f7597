"""Keys written twice in a YAML document, refused on its composed nodes.

PyYAML lets the last of two equal keys win: two stages of one name, a param
set twice, would be silently lost. yamlio.py's loaders check every mapping
here before anything is built of the document.
"""

from __future__ import annotations

from typing import Any

_STR_TAG = "tag:yaml.org,2002:str"


def _as_text(key: Any) -> tuple[str, str]:
    return ("text", str(key))  # a tuple: never equal to a key itself


def refuse_duplicate_keys(loader: Any, yaml: Any, root: Any) -> None:
    """Every mapping of the document holds each key once, as written.

    Checked on the composed document before anything is constructed: merge
    keys (`<<`) rewrite the mappings they pull in while constructing, and a
    key merged in and then set again is legal. Keys are compared as the dict
    would (`1`, `0x1` and `1.0` are one key), so nothing is silently lost."""
    scalar, mapping = yaml.ScalarNode, yaml.MappingNode
    done: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in done:
            continue
        done.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            todo.extend(item for item in node.value if not isinstance(item, scalar))
        if not isinstance(node, mapping):
            continue
        # Nearly every mapping has string keys only, each once: a set tells.
        texts = [key.value for key, _ in node.value
                 if key.tag == _STR_TAG and isinstance(key, scalar)]
        if len(texts) == len(node.value) and len(set(texts)) == len(texts):
            todo.extend(value for _, value in node.value if not isinstance(value, scalar))
            continue
        first: dict[Any, int] = {}
        for key_node, value_node in node.value:
            todo.append(value_node)
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                todo.append(key_node)
                continue
            # A plain string key is its text; others (1, 0x1, true) as constructed.
            key = (key_node.value if key_node.tag == _STR_TAG
                   else loader.construct_object(key_node))
            # ...and as text too: the spec and the config keep keys as strings
            # (plain()), where '1' and 1 would become one.
            seen = first.get(key) or first.get(_as_text(key))
            if seen is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key_node.value!r} is written twice (first on line "
                    f"{seen})", key_node.start_mark)
            first[key] = first[_as_text(key)] = key_node.start_mark.line + 1
