"""Edits of a block-style YAML config made line by line, so that comments,
blank lines, key order and indentation outside the edited entries stay as
the user wrote them.

The parser says where each key and value stands (PyYAML's composed nodes);
the edit replaces, inserts or removes those lines and nothing else. What
the editor cannot place (a flow-style mapping on the edited path, a
multi-line scalar being replaced, a merge key) raises LineEditError, and so
does a result that does not read back as the intended data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from gitpipe.core.errors import BadInputError
from gitpipe.core.yamlio import dump_inline, parse_yaml, plain

DEFAULT_STEP = 2


class LineEditError(Exception):
    """The edit is beyond the line editor; the message says why."""


class Change(NamedTuple):
    """One key to set (`value`) or remove (`remove`), by its path of keys."""

    path: tuple[str, ...]
    value: Any = None
    remove: bool = False


def changes_between(old: dict[str, Any], new: dict[str, Any],
                    path: tuple[str, ...] = ()) -> Iterator[Change]:
    """The key-level changes that turn `old` into `new`: removed keys, then new
    or changed ones; a mapping changed into a mapping is changed key by key."""
    for key in old:
        if key not in new:
            yield Change((*path, key), remove=True)
    for key, value in new.items():
        if key not in old:
            yield Change((*path, key), value)
        elif old[key] != value or type(old[key]) is not type(value):
            if isinstance(old[key], dict) and isinstance(value, dict):
                yield from changes_between(old[key], value, (*path, key))
            else:
                yield Change((*path, key), value)


def edit_text(text: str, old: dict[str, Any], new: dict[str, Any]) -> str:
    """`text` (which reads as `old`) edited line by line to read as `new`."""
    for change in changes_between(old, new):
        text = _Document(text).apply(change)
    try:
        result = plain(parse_yaml(text, "the edited config", secret=True)) or {}
    except BadInputError as exc:
        raise LineEditError(f"the edited text does not parse ({exc})") from None
    if result != new:
        raise LineEditError("the edited text does not read back as intended")
    return text


def _compose(text: str) -> Any:
    import yaml

    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise LineEditError(f"invalid YAML ({exc})") from None


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


class _Document:
    """The text as lines, and its composed node tree, for one change."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)
        if self.lines and not self.lines[-1].endswith("\n"):
            self.lines[-1] += "\n"
        self.crlf = "\r\n" in text
        self.root = _compose(text)
        self.step = _indent_step(self.root)

    def text(self) -> str:
        text = "".join(self.lines)
        return re.sub(r"(?<!\r)\n", "\r\n", text) if self.crlf else text

    def apply(self, change: Change) -> str:
        parent_path, key = change.path[:-1], change.path[-1]
        if self.root is None and not parent_path and not change.remove:
            self.lines += _entry_lines(key, change.value, 0, self.step)
            return self.text()
        mapping = self._mapping_at(parent_path)
        entry = _find(mapping, key)
        if change.remove:
            if entry is None:
                raise LineEditError(f"{'.'.join(change.path)} is not written as a key")
            self._remove(parent_path, mapping, entry)
        elif entry is not None:
            self._replace(entry, change.value)
        elif mapping.flow_style and not mapping.value and parent_path:
            # `remotes: {}` gets its first key: the mapping is written as a block.
            self._replace(self._owner(parent_path), {key: change.value})
        else:
            self._insert(mapping, key, change.value)
        return self.text()

    def _owner(self, path: tuple[str, ...]) -> tuple[Any, Any]:
        """The key and value nodes of the entry at `path`."""
        owner = _find(self._mapping_at(path[:-1]), path[-1])
        assert owner is not None  # _mapping_at(path) found it
        return owner

    def _mapping_at(self, path: tuple[str, ...]) -> Any:
        import yaml

        node = self.root
        for key in path:
            entry = _find(node, key) if isinstance(node, yaml.MappingNode) else None
            if entry is None:
                raise LineEditError(f"{'.'.join(path)} is not written as a mapping")
            node = entry[1]
        if not isinstance(node, yaml.MappingNode):
            raise LineEditError(f"{'.'.join(path) or 'the file'} is not written as a mapping")
        return node

    def _insert(self, mapping: Any, key: str, value: Any) -> None:
        if mapping.flow_style or not mapping.value:
            raise LineEditError("a mapping on the edited path is written in flow style")
        column = mapping.value[0][0].start_mark.column
        after = _last_line(mapping, self.lines) + 1
        self.lines[after:after] = _entry_lines(key, value, column, self.step)

    def _remove(self, parent_path: tuple[str, ...], mapping: Any, entry: Any) -> None:
        if mapping.flow_style:
            raise LineEditError("a mapping on the edited path is written in flow style")
        key_node, value_node = entry
        if len(mapping.value) == 1 and parent_path:
            # The last key goes: the mapping stays, written `{}`.
            self._replace(self._owner(parent_path), {})
            return
        first = self._own_line(key_node)
        del self.lines[_comments_above(self.lines, first):_last_line(value_node, self.lines) + 1]

    def _own_line(self, key_node: Any) -> int:
        line = key_node.start_mark.line
        if self.lines[line][:key_node.start_mark.column].strip():
            raise LineEditError("an edited key does not start its line")
        return line

    def _replace(self, entry: Any, value: Any) -> None:
        key_node, value_node = entry
        key_line = self._own_line(key_node)
        column = key_node.start_mark.column
        if value_node.start_mark.line == key_line:
            self._clear_inline(value_node, key_line)
        else:
            start = _comments_above(self.lines, value_node.start_mark.line)
            del self.lines[start:_last_line(value_node, self.lines) + 1]
        if isinstance(value, dict) and value:
            lines = [line for child, item in value.items()
                     for line in _entry_lines(child, item, column + self.step, self.step)]
            self.lines[key_line + 1:key_line + 1] = lines
        else:
            self._put_inline(key_node, key_line, dump_inline(value))

    def _clear_inline(self, value_node: Any, line: int) -> None:
        if _last_line(value_node, self.lines) != line:
            raise LineEditError("an edited value spans several lines")
        text = self.lines[line]
        start, end = value_node.start_mark.column, value_node.end_mark.column
        self.lines[line] = text[:start].rstrip(" ") + _rest(text[end:])

    def _put_inline(self, key_node: Any, line: int, shown: str) -> None:
        text = self.lines[line]
        colon = text.index(":", key_node.end_mark.column) + 1
        self.lines[line] = f"{text[:colon]} {shown}{_rest(text[colon:])}"


def _rest(tail: str) -> str:
    """What stays after a value removed from a line: its comment, or the line end."""
    return tail if tail.strip() else "\n"


def _find(mapping: Any, key: str) -> tuple[Any, Any] | None:
    import yaml

    for key_node, value_node in mapping.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
            raise LineEditError("a mapping on the edited path holds a merge key or a "
                                "complex key")
        if key_node.value == key:
            return key_node, value_node
    return None


def _last_line(node: Any, lines: list[str]) -> int:
    """The last line that holds part of `node` (not the blank or comment lines
    that may follow it)."""
    import yaml

    if isinstance(node, yaml.ScalarNode) or node.flow_style:
        start, end = node.start_mark.line, node.end_mark
        last = end.line - 1 if end.column == 0 and end.line > start else end.line
        while last > start and not lines[last].strip():
            last -= 1  # the blank lines a block scalar's end takes in
        return min(last, len(lines) - 1)
    children = [part for pair in node.value for part in pair] if isinstance(
        node, yaml.MappingNode) else node.value
    return max(_last_line(child, lines) for child in children)


def _comments_above(lines: list[str], line: int) -> int:
    """The first of the comment lines right above `line`, at its indentation
    (they speak of it and go with it); `line` when there are none."""
    indent = len(lines[line]) - len(lines[line].lstrip())
    while line > 0 and _is_comment(lines[line - 1]) and \
            len(lines[line - 1]) - len(lines[line - 1].lstrip()) == indent:
        line -= 1
    return line


def _entry_lines(key: str, value: Any, column: int, step: int) -> list[str]:
    pad = " " * column
    if isinstance(value, dict) and value:
        return [f"{pad}{dump_inline(key)}:\n"] + [
            line for child, item in value.items()
            for line in _entry_lines(child, item, column + step, step)]
    return [f"{pad}{dump_inline(key)}: {dump_inline(value)}\n"]


def _indent_step(root: Any) -> int:
    """How far the file indents a block mapping inside another (the first
    one found), else DEFAULT_STEP."""
    import yaml

    todo = [root] if isinstance(root, yaml.MappingNode) else []
    while todo:
        node = todo.pop(0)
        for key_node, value_node in node.value:
            if isinstance(value_node, yaml.MappingNode) and not value_node.flow_style \
                    and value_node.value:
                step = value_node.value[0][0].start_mark.column - key_node.start_mark.column
                if step > 0:
                    return int(step)
                todo.append(value_node)
    return DEFAULT_STEP
