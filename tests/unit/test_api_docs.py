"""Every public name of the Python API says what it does: `gitpipe.Project`'s
methods and properties (its own and those it inherits), `init`, and what the
package exports."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import gitpipe
from gitpipe.usecases import api


def _documented(value: Any) -> bool:
    function = getattr(value, "func", None) or getattr(value, "fget", None) or value
    if isinstance(value, (staticmethod, classmethod)):
        function = value.__func__
    return bool((getattr(function, "__doc__", None) or "").strip())


def public_members(cls: type) -> dict[str, Any]:
    """Public attributes defined by `cls` or a gitpipe class it inherits from, as
    defined (a property, a cached_property, a function), not as looked up."""
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.split(".")[0] != "gitpipe":
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") and (callable(value) or hasattr(value, "__get__")):
                found[name] = value
    return found


def undocumented(cls: type) -> list[str]:
    return sorted(name for name, value in public_members(cls).items() if not _documented(value))


def test_project_methods_and_properties_have_docstrings() -> None:
    members = public_members(gitpipe.Project)
    assert {"status", "repro", "pull", "graph", "cache", "remote"} <= set(members)
    assert undocumented(gitpipe.Project) == []


@pytest.mark.parametrize("name", [*gitpipe.__all__, "init"])
def test_exports_have_docstrings(name: str) -> None:
    value = getattr(api, name) if name == "init" else getattr(gitpipe, name)
    if name == "__version__":
        assert isinstance(value, str)
        return
    assert _documented(value), name
    if inspect.isclass(value):
        assert undocumented(value) == [], name


def test_a_missing_docstring_is_found() -> None:
    class Base:
        def said(self) -> None:
            """Says."""

    class Bare(Base):
        @property
        def silent(self) -> int:
            return 1

        def quiet(self) -> None:
            pass

    Base.__module__ = Bare.__module__ = "gitpipe.example"
    assert undocumented(Bare) == ["quiet", "silent"]
