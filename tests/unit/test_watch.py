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
    trigger = Trigger(tmp_path, pipeline())
    for path in ("gitpipe.yaml", "params.yaml", "conf/train.yaml", "src/prep.sh",
                 "src/lib/util.sh", "data/raw.csv", "logs/2024-01-01.txt"):
        assert trigger.relevant(str(tmp_path / path)) == path
    for path in ("gitpipe.lock", "runs.log", "README.md", "data/other.csv", "srcx/a.sh",
                 "model/weights.bin", "clean.csv", ".git/index", ".gitpipe/state.db"):
        assert trigger.relevant(str(tmp_path / path)) is None, path


def test_a_symlinked_dep_is_watched_where_it_leads(tmp_path: Path) -> None:
    # Events name the real file: a dep `data/` that is a link to `storage/`
    # changes as `storage/...`; an out linked elsewhere is ignored there too.
    (tmp_path / "storage").mkdir()
    (tmp_path / "data").symlink_to("storage")
    (tmp_path / "built").mkdir()
    (tmp_path / "model").symlink_to("built")
    spec = Pipeline((Stage("t", "true", deps=("data/",), outs=(Out("model", is_dir=True),)),))
    trigger = Trigger(tmp_path, spec)
    assert trigger.relevant(str(tmp_path / "storage" / "a")) == "storage/a"
    assert trigger.relevant(str(tmp_path / "data" / "a")) == "storage/a"
    assert trigger.relevant(str(tmp_path / "built" / "w")) is None


def test_following_a_new_spec_ignores_its_new_outs(tmp_path: Path) -> None:
    trigger = Trigger(tmp_path, pipeline())
    assert trigger.relevant(str(tmp_path / "e.out")) is None  # not read by anything
    grown = Pipeline((*pipeline().stages,
                      Stage("e", "true", deps=("new.txt",), outs=(Out("e.out"),)),
                      Stage("f", "true", deps=("e.out",), outs=(Out("f.out"),))))
    trigger.follow(grown)
    assert trigger.relevant(str(tmp_path / "new.txt")) == "new.txt"
    assert trigger.relevant(str(tmp_path / "e.out")) is None  # f reads it, e writes it
