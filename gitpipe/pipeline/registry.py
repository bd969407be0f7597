"""Executors by name: the built-in ones and those installed packages register
under the entry point group `gitpipe.executors`.

A name maps to "module:attr", the executor's class (see
`gitpipe.executors.base.Executor`); nothing is imported until a stage needs
it. The registry sits with the spec, below the executors, because validating
gitpipe.yaml, the CLI's `--executor` and a stage's fingerprint all ask it;
it names the executors' modules as strings and never imports them itself.

Installed packages' metadata is read only for a name that is not built in,
or to list every name (an error message, `--help`): a no-op `status` reads
none of it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from gitpipe.core.errors import BadInputError
from gitpipe.pipeline.model import DEFAULT_EXECUTOR

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from gitpipe.pipeline.model import Stage

GROUP = "gitpipe.executors"
DEFAULT = DEFAULT_EXECUTOR
# A package that registers one of these names does not replace the built-in.
BUILTIN = {
    "local": "gitpipe.executors.local:LocalExecutor",
    "kubernetes": "gitpipe.executors.kubernetes.plugin:KubernetesExecutor",
}

Pairs = tuple[tuple[str, str], ...]


class UnknownExecutorError(BadInputError):
    """A stage or `--executor` names an executor nobody registered."""


@lru_cache(maxsize=1)
def _installed() -> dict[str, list[EntryPoint]]:
    """The executors installed packages register, by name (read once a process):
    every registration of a name, so that two packages claiming one name are an
    error when it is used, not a silent choice of one of them."""
    from importlib.metadata import entry_points

    found: dict[str, list[EntryPoint]] = {}
    for point in entry_points(group=GROUP):
        if point.name not in BUILTIN:
            found.setdefault(point.name, []).append(point)
    return found


def _registered_by(point: EntryPoint) -> str:
    dist = point.dist
    package = f"{dist.name} {dist.version}" if dist is not None else "an unnamed package"
    return f"{package} ({point.value})"


def known() -> list[str]:
    """Every executor name: the built-in ones first, then the installed ones."""
    return [*BUILTIN, *sorted(_installed())]


def is_known(name: str) -> bool:
    return name in BUILTIN or name in _installed()


def unknown_message(name: object) -> str:
    return f"unknown executor {name!r}; known executors: {', '.join(known())}"


def check(name: str) -> str:
    """`name`, or UnknownExecutorError naming it and every known executor."""
    if not is_known(name):
        raise UnknownExecutorError(unknown_message(name),
                                   hint=f"install the package that provides it (entry point "
                                        f"group {GROUP!r}), or fix the name")
    return name


def target(name: str) -> str:
    """Where the executor's class is, as "module:attr"."""
    if name in BUILTIN:
        return BUILTIN[name]
    check(name)
    points = _installed()[name]
    if len(points) > 1:
        raise BadInputError(f"executor {name!r} is registered by several installed packages: "
                            f"{'; '.join(_registered_by(point) for point in points)}",
                            hint="uninstall all but one of them")
    return str(points[0].value)


def load(name: str) -> Any:
    """The executor's class; BadInputError when it is unknown or cannot be imported."""
    where = target(name)
    module, _, attr = where.partition(":")
    try:
        found: Any = importlib.import_module(module)
        for part in attr.split(".") if attr else ():
            found = getattr(found, part)
    except Exception as exc:  # a broken plugin fails the run with its name, not a traceback
        raise BadInputError(f"executor {name!r}: cannot load {where!r}: "
                            f"{type(exc).__name__}: {exc}") from None
    return found


def runtime_inputs(stage: Stage, config: Callable[[], Mapping[str, Any]],
                   executor: str | None = None) -> Pairs:
    """What `executor` (by default the stage's own: `repro --executor` names
    another) adds to the stage's fingerprint, as sorted (name, value) pairs.

    The default executor adds nothing, and is answered without importing it,
    so that judging a pipeline of local stages loads no executor; `config`
    (the project's config) is read only for the others.
    """
    name = executor or stage.executor
    if name == DEFAULT:
        return ()
    pairs = load(name).runtime_inputs(stage, config())
    return tuple(sorted((str(name), str(value)) for name, value in pairs))
