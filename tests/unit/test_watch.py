"""What `gitpipe watch` reacts to: only what can make a stage stale."""

from __future__ import annotations

from pathlib import Path

from gitpipe.spec import Out, ParamRef, Pipeline, Stage
from gitpipe.watch import Trigger, watched_paths


def pipeline() -> Pipeline:
    return Pipeline((
        Stage("prep", "sh src/prep.sh", deps=("src/", "data/raw.csv"),
              params=(ParamRef("params.yaml", "prep"),), outs=(Out("clean.csv"),)),
        Stage("day", "sh day.sh", deps=("logs/${date}.txt", "model/"),
              params=(ParamRef("conf/train.yaml", "lr"),), outs=(Out("model", is_dir=True),)),
    ))


def test_watched_paths_are_the_spec_params_files_and_deps() -> None:
    assert watched_paths(pipeline()) == (
        "conf/train.yaml", "data/raw.csv", "gitpipe.yaml", "logs", "model", "params.yaml",
        "src")


def test_only_changes_that_can_make_a_stage_stale_trigger(tmp_path: Path) -> None:
    spec = pipeline()
    outs = [out.path for stage in spec.stages for out in stage.outs]
    trigger = Trigger(tmp_path, outs, watched_paths(spec))
    for path in ("gitpipe.yaml", "params.yaml", "conf/train.yaml", "src/prep.sh",
                 "src/lib/util.sh", "data/raw.csv", "logs/2024-01-01.txt"):
        assert trigger.relevant(str(tmp_path / path)) == path
    for path in ("gitpipe.lock", "runs.log", "README.md", "data/other.csv", "srcx/a.sh",
                 "model/weights.bin", "clean.csv", ".git/index", ".gitpipe/state.db"):
        assert trigger.relevant(str(tmp_path / path)) is None, path
