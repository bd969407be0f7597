"""gitpipe: git-native reproducible pipelines.

Only the version lives here so that `import gitpipe` stays cheap; the API is
re-exported lazily (`gitpipe.Project`, `gitpipe.init`) through module `__getattr__`.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `import typing`, a cost every `gitpipe` start would pay
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

__all__ = ["Project", "ReproOptions", "__version__", "init"]


def __getattr__(name: str) -> Any:
    if name == "Project":
        from gitpipe.usecases.api import Project

        return Project
    if name == "init":
        from gitpipe.usecases.api import init

        return init
    if name == "ReproOptions":
        from gitpipe.engine.reports import ReproOptions

        return ReproOptions
    raise AttributeError(f"module 'gitpipe' has no attribute {name!r}")
