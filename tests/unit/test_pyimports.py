"""pipeline/pyimports.py: the import statements of a module's source, the
dynamic imports it cannot follow, and the import cache's text form."""

from __future__ import annotations

from gitpipe.pipeline.pyimports import ImportRequest, decode, encode, is_module_name, scan


def test_every_import_statement_counts_wherever_it_stands() -> None:
    source = b"""\
import os, a.b as ab
from c import d, e as f
from . import g
from ..h.i import j
from .k import *
if TYPE_CHECKING:
    import typed
try:
    import fast
except ImportError:
    pass
def later():
    from inner import x
class C:
    import in_class
"""
    found = scan(source)
    assert found.error is None and found.dynamic == ()
    assert set(found.imports) == {
        ImportRequest(0, "os"), ImportRequest(0, "a.b"), ImportRequest(0, "c", ("d", "e")),
        ImportRequest(1, "", ("g",)), ImportRequest(2, "h.i", ("j",)), ImportRequest(1, "k"),
        ImportRequest(0, "typed"), ImportRequest(0, "fast"), ImportRequest(0, "inner", ("x",)),
        ImportRequest(0, "in_class"),
    }


def test_a_literal_import_module_is_followed_and_the_rest_is_listed_by_line() -> None:
    source = b"""\
import importlib
importlib.import_module("pkg.mod")
importlib.import_module(name)
importlib.import_module(".rel", "pkg")
import_module("../../etc")
__import__("x")
exec("import y")
"""
    found = scan(source)
    assert ImportRequest(0, "pkg.mod") in found.imports
    assert [line for line, _ in found.dynamic] == [3, 4, 5, 6, 7]
    assert found.dynamic[3] == (6, "__import__(...)") and found.dynamic[4] == (7, "exec(...)")


def test_a_module_that_does_not_parse_has_no_imports_and_says_why() -> None:
    assert scan(b"def (:\n").error == "does not parse (line 1): invalid syntax"
    assert scan(b"x = 1\0\n").error is not None
    nested = scan(b"x = " + b"(" * 100_000 + b")" * 100_000)
    assert nested.imports == () and nested.error is not None


def test_the_cache_text_round_trips_and_foreign_text_is_not_trusted() -> None:
    imports = (ImportRequest(0, "a.b"), ImportRequest(2, "", ("c", "d")))
    assert decode(encode(imports, None)) == (imports, False)
    assert decode(encode((), "does not parse")) == ((), True)
    for foreign in ("\n0\ta/../b\t", "\nx\ta\t", "\n0\ta\tb,../c", "\n0\ta"):
        assert decode(foreign) is None, foreign


def test_module_names_are_dotted_identifiers() -> None:
    assert is_module_name("pkg.mod") and is_module_name("été.x")
    for bad in ("", "pkg..mod", ".pkg", "pkg/mod", "../x", "a.b-c", "a.1b"):
        assert not is_module_name(bad), bad
