"""Shell completion of stage names and partitions, read from gitpipe.yaml.

Completion runs on every Tab press, so it reads only the spec and never
raises: a broken or missing gitpipe.yaml completes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    import datetime as dt

    from gitpipe.pipeline.model import Pipeline, Stage
    from gitpipe.project.root import Project

# A daily range of several years is still a short list for a shell; beyond
# this a partition is typed, not picked.
MAX_PARTITIONS = 5_000


def _project(ctx: click.Context) -> Project:
    """The project `-C` names, or the one around the current directory."""
    from gitpipe.project.root import Project

    return Project(ctx.find_root().params.get("directory") or ".")


def _pipeline(ctx: click.Context) -> tuple[Pipeline, dt.date] | None:
    """The project's pipeline and the date its partitions are expanded for;
    None when it cannot be read."""
    try:
        project = _project(ctx)
        return project.pipeline, project.today
    except Exception:  # a completion must never fail the shell
        return None


def _partitions(stage: Stage, today: dt.date) -> list[str]:
    if stage.partition is None:
        return []
    try:
        keys = stage.partition.keys(today)
    except Exception:  # a bad range completes nothing
        return []
    return keys[-MAX_PARTITIONS:]


def _candidates(ctx: click.Context, incomplete: str, tasks: bool,
                partitioned_only: bool = False) -> list[str]:
    found = _pipeline(ctx)
    if found is None:
        return []
    pipeline, today = found
    stages = [s for s in pipeline.stages if s.partition is not None or not partitioned_only]
    name, at, _ = incomplete.partition("@")
    if at and tasks:
        for stage in stages:
            if stage.name == name:
                return [f"{name}@{key}" for key in _partitions(stage, today)
                        if f"{name}@{key}".startswith(incomplete)]
        return []
    return [stage.name for stage in stages if stage.name.startswith(incomplete)]


def tasks(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Stage names, and `stage@partition` once the `@` is typed."""
    return _candidates(ctx, incomplete, tasks=True)


def partitioned_stages(ctx: click.Context, param: click.Parameter,
                       incomplete: str) -> list[str]:
    """The names of partitioned stages (what `backfill` takes)."""
    return _candidates(ctx, incomplete, tasks=False, partitioned_only=True)


def remotes(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The names of the configured remotes."""
    try:
        names = (_project(ctx).config.raw.get("remotes") or {}).keys()
        return sorted(str(n) for n in names if str(n).startswith(incomplete))
    except Exception:  # a completion must never fail the shell
        return []
