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


def wdir_fault(root: Path, stage: Stage) -> str | None:
    """What is wrong with `stage.wdir` as the command's folder now ("does not
    exist", …), or None."""
    if stage.wdir == ".":
        return None
    full = root / stage.wdir
    if not resolves_inside(root, full):
        return "resolves outside the repository (through a symlink)"
    if not os.path.lexists(full):
        return MISSING
    if not full.is_dir():
        return "is not a directory"
    return None


MISSING = "does not exist"


def wdir_problem(root: Path, stage: Stage) -> str | None:
    """Why `stage.wdir` cannot be the command's folder now, or None."""
    fault = wdir_fault(root, stage)
    return None if fault is None else _sentence(stage, fault)


def _sentence(stage: Stage, fault: str) -> str:
    return f"{SPEC_FILE}: stage {stage.name!r}: wdir {stage.wdir!r} {fault}"


def _made_by_a_stage(wdir: str, outs: Iterable[str]) -> bool:
    return any(wdir == out or wdir.startswith(out + "/") for out in outs)


def unusable_wdirs(root: Path, stages: Iterable[Stage]) -> dict[str, str]:
    """{stage name: fault} for every stage whose wdir is missing, not a folder
    or outside the repository; a wdir inside some stage's out is left for
    that stage's turn."""
    stages = list(stages)
    outs = [out.path for stage in stages for out in stage.outs]
    faults = {}
    for stage in stages:
        fault = wdir_fault(root, stage)
        if fault is None or (fault == MISSING and _made_by_a_stage(stage.wdir, outs)):
            continue
        faults[stage.name] = fault
    return faults


def wdir_problems(root: Path, stages: Iterable[Stage]) -> list[str]:
    """The sentence for each of `unusable_wdirs`, naming the file and stage."""
    by_name = {stage.name: stage for stage in stages}
    return [_sentence(by_name[name], fault)
            for name, fault in unusable_wdirs(root, by_name.values()).items()]


WDIR_HINT = ("`wdir` names an existing folder, relative to the repository root, where "
             "the command runs; create it (and commit a file in it) or fix the path")
