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

MISSING = "does not exist"


def wdir_fault(root: Path, wdir: str) -> str | None:
    """What is wrong with `wdir` as a command's folder now ("does not exist",
    …), or None."""
    if wdir == ".":
        return None
    full = root / wdir
    if not resolves_inside(root, full):
        return "resolves outside the repository (through a symlink)"
    if not os.path.lexists(full):
        return MISSING
    if not full.is_dir():
        return "is not a directory"
    return None


def _sentence(stage: Stage, fault: str) -> str:
    return f"{SPEC_FILE}: stage {stage.name!r}: wdir {stage.wdir!r} {fault}"


def _made_by_a_stage(wdir: str, outs: Iterable[str]) -> bool:
    return any(wdir == out or wdir.startswith(out + "/") for out in outs)


def unusable_wdirs(root: Path, stages: Iterable[Stage], outs: Iterable[str]) -> dict[str, str]:
    """{stage name: fault} for every stage whose wdir is missing, not a folder
    or outside the repository. A missing wdir inside one of `outs` (what the
    stages that run before it write, partitions and items expanded) is left
    for its stage's turn."""
    outs = list(outs)
    found: dict[str, str | None] = {}  # stages often share a wdir: each is looked at once
    faults = {}
    for stage in stages:
        if stage.wdir not in found:
            found[stage.wdir] = wdir_fault(root, stage.wdir)
        fault = found[stage.wdir]
        if fault is None or (fault == MISSING and _made_by_a_stage(stage.wdir, outs)):
            continue
        faults[stage.name] = fault
    return faults


def wdir_problems(root: Path, stages: Iterable[Stage], outs: Iterable[str]) -> list[str]:
    """The sentence for each of `unusable_wdirs`, naming the file and stage."""
    by_name = {stage.name: stage for stage in stages}
    return [_sentence(by_name[name], fault)
            for name, fault in unusable_wdirs(root, by_name.values(), outs).items()]


WDIR_HINT = ("`wdir` names an existing folder, relative to the repository root, where "
             "the command runs; create it (and commit a file in it) or fix the path")
