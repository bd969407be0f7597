"""The `python:` entries of a stage's `deps` (project/pydeps.py follows them):
each a module file ending in `.py`, joined onto the wdir and kept inside the
repository like any path, or a dotted module name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gitpipe.core.yamlio import LineList, plain

Problem = Callable[[Any, str, Any], None]  # (key or index, message, container)


def python_roots(values: list[Any], normalize: Callable[[str, str], str], wdir: str,
                 problem: Problem) -> tuple[str, ...]:
    """The roots of the `{python: ROOT}` mappings among `values` (the stage's
    `deps` list), each problem reported at its item's line; `normalize(path,
    wdir)` joins a path onto the wdir, ValueError when it leaves the repository."""
    roots: list[str] = []
    for index, raw in enumerate(values):
        if not isinstance(raw, dict):
            continue
        where: Any = (index, values) if isinstance(values, LineList) else ("deps", None)
        root = raw.get("python") if len(raw) == 1 else None
        if not isinstance(root, str) or not root.strip():
            problem(where[0], f"dependency {plain(raw)!r}: a mapping in 'deps' must be "
                    "{python: src/module.py} or {python: pkg.module}", where[1])
            continue
        try:
            roots.append(python_root(root, lambda path: normalize(path, wdir)))
        except ValueError as exc:
            problem(where[0], f"python: {root!r}: {exc}", where[1])
    return tuple(dict.fromkeys(roots))


def python_root(root: str, normalize: Callable[[str], str]) -> str:
    """A root as the Stage keeps it: a normalized path (`pkg.py` names a file,
    not a submodule), or the dotted name; ValueError when it is neither."""
    if "${" in root:
        raise ValueError("a python: dep cannot use ${...}")
    if root.endswith(".py") or "/" in root:
        if not root.endswith(".py"):
            raise ValueError("a module file's name ends in '.py'")
        return normalize(root)
    # Only here: every stage's parse loads this module, few name modules.
    from gitpipe.pipeline.pyimports import is_module_name

    if not is_module_name(root):
        raise ValueError("neither a module file ('src/train.py') nor a dotted module "
                         "name ('pkg.module')")
    return root
