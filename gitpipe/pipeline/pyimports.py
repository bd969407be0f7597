"""What one Python module imports, read from its syntax tree: the requests a
`python:` dep follows (project/pydeps.py resolves them to files), and the
dynamic imports it cannot follow, for `gitpipe validate`.

Pure: bytes in, names out. Every import statement counts wherever it stands
(inside a function, under `if TYPE_CHECKING:`, in a `try:`): a static
over-approximation, the safe side for staleness.
"""

from __future__ import annotations

from typing import NamedTuple

# The one dynamic form followed: importlib.import_module("pkg.mod") with a
# literal, absolute name. Anything else that imports by value is listed.
_IMPORT_MODULE = "import_module"
_DYNAMIC_CALLS = ("__import__", "exec", "eval")


class ImportRequest(NamedTuple):
    """One import statement: `level` dots, the `module` after them ("" for
    `from . import x`), and the `names` of a from-import, each of which may be
    a submodule."""

    level: int
    module: str
    names: tuple[str, ...] = ()


class ModuleScan(NamedTuple):
    """A module's imports; its dynamic imports as (line, text); why it does
    not parse (None when it does)."""

    imports: tuple[ImportRequest, ...]
    dynamic: tuple[tuple[int, str], ...] = ()
    error: str | None = None


def is_module_name(text: str) -> bool:
    """Whether `text` is an absolute dotted module name (`pkg.mod`)."""
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def scan(source: bytes) -> ModuleScan:
    """The imports of a module's source; a module that does not parse has none,
    and says why (it stays a dep by its bytes)."""
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        return ModuleScan((), (), f"does not parse (line {line}): {getattr(exc, 'msg', exc)}"
                          if line else f"does not parse: {exc}")
    except (RecursionError, MemoryError):
        return ModuleScan((), (), "does not parse: nested too deeply")
    imports: list[ImportRequest] = []
    dynamic: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.extend(ImportRequest(0, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names = tuple(alias.name for alias in node.names if alias.name != "*")
            imports.append(ImportRequest(node.level, node.module or "", names))
        elif isinstance(node, ast.Call):
            _call(node, imports, dynamic)
    dynamic.sort()
    return ModuleScan(tuple(imports), tuple(dynamic))


def _call(node: object, imports: list[ImportRequest], dynamic: list[tuple[int, str]]) -> None:
    import ast

    assert isinstance(node, ast.Call)
    name = _called_name(node.func)
    if name == _IMPORT_MODULE:
        literal = node.args[0] if node.args else None
        if isinstance(literal, ast.Constant) and isinstance(literal.value, str) \
                and is_module_name(literal.value):
            imports.append(ImportRequest(0, literal.value))
            return
        dynamic.append((node.lineno, "importlib.import_module(...) with a name known only "
                                     "when it runs"))
    elif name in _DYNAMIC_CALLS:
        dynamic.append((node.lineno, f"{name}(...)"))


def _called_name(func: object) -> str | None:
    import ast

    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr if func.attr == _IMPORT_MODULE else None
    return None


# The import cache (storage/state.py) keeps a module's requests as text by its
# digest: one line per request, "level<TAB>module<TAB>name,name".

def encode(imports: tuple[ImportRequest, ...], error: str | None) -> str:
    lines = [f"{r.level}\t{r.module}\t{','.join(r.names)}" for r in imports]
    return "\n".join(["!" if error else "", *lines])


def decode(text: str) -> tuple[tuple[ImportRequest, ...], bool] | None:
    """(requests, whether the module did not parse), or None for text this
    code did not write (then the module is scanned again)."""
    head, *lines = text.split("\n")
    requests = []
    for line in lines:
        parts = line.split("\t")
        if len(parts) != 3 or not parts[0].isdigit():
            return None
        names = tuple(parts[2].split(",")) if parts[2] else ()
        if (parts[1] and not is_module_name(parts[1])) or not all(map(str.isidentifier, names)):
            return None
        requests.append(ImportRequest(int(parts[0]), parts[1], names))
    return tuple(requests), head == "!"
