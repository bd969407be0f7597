"""Sizes a reader can hold at once: no module of gitpipe over 400 lines, no
function over 60; past that a module or function is doing more than one thing."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "gitpipe"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def long_modules() -> list[str]:
    """'path (N lines)' for each module over the limit."""
    found = []
    for path in _modules():
        lines = len(path.read_text().splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(f"{_name(path)} ({lines} lines)")
    return found


def function_sizes(source: str) -> Iterator[tuple[int, str, int]]:
    """(line, name, lines) of every function and method in `source`, counted
    from its `def` to its last line: a nested function counts in its
    enclosing one, and on its own."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.lineno, node.name, (node.end_lineno or node.lineno) - node.lineno + 1


def long_functions() -> list[str]:
    """'path:line name (N lines)' for each function or method over the limit."""
    return [f"{_name(path)}:{line} {name} ({lines} lines)"
            for path in _modules() for line, name, lines in function_sizes(path.read_text())
            if lines > MAX_FUNCTION_LINES]


def test_no_module_is_over_400_lines() -> None:
    assert long_modules() == []


def test_no_function_is_over_60_lines() -> None:
    assert long_functions() == []


def test_a_function_counts_from_its_def_to_its_last_line() -> None:
    body = [f"x{i} = {i}" for i in range(MAX_FUNCTION_LINES - 2)]
    lines = ["@decorator", "def fits():", *(f"    {b}" for b in body), "    return 1",
             "class C:", "    def over(self):", *(f"        {b}" for b in body),
             "        def inner():", "            pass"]
    fits, over = 2, MAX_FUNCTION_LINES + 3
    assert sorted(function_sizes("\n".join(lines))) == [
        (fits, "fits", MAX_FUNCTION_LINES), (over, "over", MAX_FUNCTION_LINES + 1),
        (over + MAX_FUNCTION_LINES - 1, "inner", 2)]
