"""The frame of every JSON document a command prints with `--json`: its schema
version and kind, values made plain JSON, and the document of an error.

docs/reference/json.md describes the documents; its schemas/gitpipe.schema.json holds
their JSON Schema. Each layer builds its own part (a Reason, a StatusReport,
a Report); this module is what they share.
"""

from __future__ import annotations

import math
from typing import Any

from gitpipe.core.errors import EXIT_FAILED, GitpipeError

# One number for every kind. Adding a field keeps it; removing or changing
# the meaning of one bumps it (docs/reference/json.md, "Versioning").
SCHEMA_VERSION = 1


def header(kind: str) -> dict[str, Any]:
    """The first two fields of every document: `{"schema": 1, "kind": kind}`."""
    return {"schema": SCHEMA_VERSION, "kind": kind}


def plain(value: Any) -> Any:
    """`value` as JSON can hold it: dates and times as ISO 8601 text, tuples as
    lists, non-finite floats and anything else as their text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def error_document(kind: str, exc: BaseException) -> dict[str, Any]:
    """What `--json` prints when the command fails before it has a result: the
    message and hint printed on stderr, the problems of a spec, the exit code."""
    if isinstance(exc, GitpipeError):
        message, hint, code = exc.message, exc.hint, exc.exit_code
    else:
        message, hint, code = f"unexpected {type(exc).__name__}: {exc}", None, EXIT_FAILED
    error: dict[str, Any] = {"message": message, "hint": hint, "exit_code": code,
                             "problems": list(getattr(exc, "problems", None) or [message])}
    return {**header(kind), "ok": False, "error": error}
