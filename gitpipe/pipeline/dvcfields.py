"""What a key DVC's dvc.yaml knows but gitpipe.yaml does not is told instead of
a bare "unknown": where the same thing is said in gitpipe (docs/howto/dvc.md
holds the whole table; `gitpipe import dvc` translates a dvc.yaml)."""

from __future__ import annotations

from collections.abc import Iterable

from gitpipe.core.errors import did_you_mean

GUIDE = "docs/howto/dvc.md"

# A stage's fields.
STAGE_INSTEAD = {
    "plots": "gitpipe has no plots: list the file under 'metrics:' ('gitpipe metrics show' "
             "and 'gitpipe report' show its numbers) or under 'outs:'",
}

# The file's top-level keys.
TOP_INSTEAD = {
    "plots": "gitpipe has no plots: list a stage's numbers under its 'metrics:' "
             "('gitpipe metrics show' and 'gitpipe report' show them)",
    "metrics": "metrics files are listed under each stage's 'metrics:'",
    "params": "params are listed under each stage's 'params:' (keys of params.yaml, "
              "or FILE: [KEY, ...] for another file)",
    "artifacts": "gitpipe has no artifacts registry: a stage's outs are its artifacts "
                 "('gitpipe log PATH' gives an out's history)",
    "datasets": "gitpipe has no datasets: data a pipeline reads is a stage's dep",
}


def stage_field_hint(key: str, fields: Iterable[str]) -> str:
    """Why `key` is no stage field, where DVC's dvc.yaml has it, else a near
    miss, as ` (…)` to follow "unknown field 'x'"; empty when there is neither."""
    said = STAGE_INSTEAD.get(key)
    hint = f"{said}; see {GUIDE}" if said else did_you_mean(key, fields)
    return f" ({hint})" if hint else ""


def top_key_hint(key: str) -> str | None:
    """Why `key` is no top-level key, where DVC's dvc.yaml has it; else None."""
    said = TOP_INSTEAD.get(key)
    return f"{said}; see {GUIDE}" if said else None
