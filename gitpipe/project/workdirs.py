"""A stage's `wdir`: an existing directory inside the repository, never made for it.

A typo in `wdir` would otherwise have its command run in a folder that gitpipe
created on the spot (out folders are made before a run), so the stage "works"
and writes somewhere nobody looks. A `wdir` that some stage's out makes is
checked when the stage is about to run instead of up front.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from gitpipe.pipeline.model import SPEC_FILE, Stage
from gitpipe.trust.checks import resolves_inside


def wdir_problem(root: Path, stage: Stage) -> str | None:
    """Why `stage.wdir` cannot be the command's folder now, or None."""
    if stage.wdir == ".":
        return None
    where = f"{SPEC_FILE}: stage {stage.name!r}: wdir {stage.wdir!r}"
    full = root / stage.wdir
    if not resolves_inside(root, full):
        return f"{where} resolves outside the repository (through a symlink)"
    if not os.path.lexists(full):
        return f"{where} does not exist"
    if not full.is_dir():
        return f"{where} is not a directory"
    return None


def _made_by_a_stage(wdir: str, outs: Iterable[str]) -> bool:
    return any(wdir == out or wdir.startswith(out + "/") for out in outs)


def wdir_problems(root: Path, stages: Iterable[Stage]) -> list[str]:
    """Every stage whose wdir is missing, not a folder or outside the repository;
    a wdir inside some stage's out is left for that stage's turn."""
    stages = list(stages)
    outs = [out.path for stage in stages for out in stage.outs]
    problems = []
    for stage in stages:
        problem = wdir_problem(root, stage)
        if problem is None:
            continue
        if problem.endswith("does not exist") and _made_by_a_stage(stage.wdir, outs):
            continue
        problems.append(problem)
    return problems


WDIR_HINT = ("`wdir` names an existing folder, relative to the repository root, where "
             "the command runs; create it (and commit a file in it) or fix the path")
