"""What `gitpipe watch` reacts to: only what can make a stage stale."""

from __future__ import annotations

import json
from pathlib import Path

from gitpipe.pipeline.items import ItemSpec
from gitpipe.pipeline.model import Out, ParamRef, Pipeline, Stage
from gitpipe.usecases.watch import Trigger, watched_paths


def pipeline() -> Pipeline:
    return Pipeline((
        Stage("prep", "sh src/prep.sh", deps=("src/", "data/raw.csv"),
              params=(ParamRef("params.yaml", "prep"),), outs=(Out("clean.csv"),)),
        Stage("day", "sh day.sh", deps=("logs/${date}.txt", "model/"),
              params=(ParamRef("conf/train.yaml", "lr"),), outs=(Out("model", is_dir=True),)),
    ))


def test_watched_paths_are_the_spec_params_files_and_deps() -> None:
    assert watched_paths(pipeline()) == (
        ".gitpipeignore", "conf/train.yaml", "data/.gitpipeignore", "data/raw.csv",
        "gitpipe.yaml", "logs/${date}.txt", "logs/.gitpipeignore", "model",
        "params.yaml", "src")


def test_only_changes_that_can_make_a_stage_stale_trigger(tmp_path: Path) -> None:
    trigger = Trigger(tmp_path, pipeline())
    for path in ("gitpipe.yaml", "params.yaml", "conf/train.yaml", "src/prep.sh",
                 "src/lib/util.sh", "data/raw.csv", "logs/2024-01-01.txt"):
        assert trigger.relevant(str(tmp_path / path)) == path
    for path in ("gitpipe.lock", "runs.log", "README.md", "data/other.csv", "srcx/a.sh",
                 "logs/notes.md",
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
    assert trigger.relevant(str(tmp_path / "data" / "a")) == "data/a"
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


def test_a_symlink_that_is_a_dep_counts_when_it_is_made_or_repointed(tmp_path: Path) -> None:
    # The event names the link; resolving it would name its (new) target.
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "in.csv").write_text("x")
    (tmp_path / "input.csv").symlink_to("other/in.csv")
    (tmp_path / "storage").mkdir()
    (tmp_path / "data").symlink_to("storage")
    spec = Pipeline((Stage("t", "true", deps=("input.csv", "data/"), outs=(Out("t.out"),)),))
    trigger = Trigger(tmp_path, spec)
    assert trigger.relevant(str(tmp_path / "input.csv")) == "input.csv"
    (tmp_path / "storage" / "newlink").symlink_to("../other/in.csv")
    assert trigger.relevant(str(tmp_path / "storage" / "newlink")) == "storage/newlink"
    assert trigger.relevant(str(tmp_path / "data" / "newlink")) == "data/newlink"


def test_partition_templates_match_what_they_become(tmp_path: Path) -> None:
    # Outs written per partition are ignored; a template at the top of the
    # project watches its own names only, never the lock.
    spec = Pipeline((
        Stage("feat", "true", deps=("raw_${date}.csv",), outs=(Out("feat/${date}.txt"),)),
        Stage("agg", "true", deps=("feat/",), outs=(Out("agg.txt"),)),
    ))
    trigger = Trigger(tmp_path, spec)
    assert trigger.relevant(str(tmp_path / "raw_2024-01-01.csv")) == "raw_2024-01-01.csv"
    for path in ("feat/2024-01-01.txt", "gitpipe.lock", "raw.csv", "agg.txt"):
        assert trigger.relevant(str(tmp_path / path)) is None, path
    assert trigger.relevant(str(tmp_path / "feat" / "notes.md")) == "feat/notes.md"


def test_a_symlink_loop_is_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to("loop")
    trigger = Trigger(tmp_path, Pipeline((Stage("t", "true", deps=("loop",)),)))
    assert trigger.relevant(str(tmp_path / "loop")) == "loop"
    trigger.relevant(str(tmp_path / "loop" / "x"))  # resolving it raised RuntimeError


def test_a_placeholder_stays_within_one_path_component(tmp_path: Path) -> None:
    spec = Pipeline((Stage("feat", "true", deps=("data/raw/${date}.csv",),
                           outs=(Out("data/${date}.csv"),)),))
    trigger = Trigger(tmp_path, spec)
    assert trigger.relevant(str(tmp_path / "data/raw/2024-01-02.csv")) == \
        "data/raw/2024-01-02.csv"
    assert trigger.relevant(str(tmp_path / "data/2024-01-02.csv")) is None


def test_templated_outs_through_a_linked_directory_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "storage").mkdir()
    (tmp_path / "features").symlink_to("storage")
    spec = Pipeline((
        Stage("feat", "true", deps=("raw/${date}.csv",), outs=(Out("features/${date}.csv"),)),
        Stage("report", "true", deps=("features/",), outs=(Out("report.txt"),)),
    ))
    trigger = Trigger(tmp_path, spec)
    assert trigger.relevant(str(tmp_path / "storage" / "2024-01-02.csv")) is None
    assert trigger.relevant(str(tmp_path / "raw" / "2024-01-02.csv")) == "raw/2024-01-02.csv"


def test_an_out_linked_to_a_dep_does_not_hide_the_dep(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "a.csv").write_text("1")
    (tmp_path / "current.csv").symlink_to("raw/a.csv")
    spec = Pipeline((Stage("pick", "true", deps=("raw/",), outs=(Out("current.csv"),)),))
    trigger = Trigger(tmp_path, spec)
    assert trigger.relevant(str(tmp_path / "raw" / "a.csv")) == "raw/a.csv"


def test_an_item_value_holding_a_slash_is_watched_where_it_renders(tmp_path: Path) -> None:
    # `${item}` may hold a `/`: status reads data/a/b.csv for the item a/b,
    # and the item's out out/a/b.txt is written, not read.
    items = ItemSpec("foreach", ("ab", "c"), (json.dumps({"key": "ab", "item": "a/b"}),
                                              json.dumps({"key": "c", "item": "c"})))
    spec = Pipeline((
        Stage("s", "true", deps=("data/${item}.csv",), outs=(Out("out/${item}.txt"),),
              partition=items),
        Stage("all", "true", deps=("out/",), outs=(Out("all.txt"),)),
    ))
    trigger = Trigger(tmp_path, spec)
    for path in ("data/a/b.csv", "data/c.csv", "out/notes.md"):
        assert trigger.relevant(str(tmp_path / path)) == path
    for path in ("data/a/c.csv", "data/d.csv", "out/a/b.txt", "out/c.txt"):
        assert trigger.relevant(str(tmp_path / path)) is None, path
    assert "data/a/.gitpipeignore" in watched_paths(spec)


def test_the_modules_a_python_dep_stands_for_are_watched(tmp_path: Path) -> None:
    # `python: src/train.py` stands for what it imports, found on each
    # judgement: a module it imports, or one that appears where an import
    # would now find it, makes the stage stale.
    spec = Pipeline((Stage("train", "python src/train.py", python=("src/train.py",),
                           outs=(Out("model.bin"),)),))
    trigger = Trigger(tmp_path, spec)
    for path in ("src/train.py", "src/utils.py", "lib/pkg/__init__.py", "helpers.py"):
        assert trigger.relevant(str(tmp_path / path)) == path
    for path in ("README.md", "model.bin", ".git/hooks/x.py"):
        assert trigger.relevant(str(tmp_path / path)) is None, path
    plain = Trigger(tmp_path, pipeline())
    assert plain.relevant(str(tmp_path / "helpers.py")) is None
