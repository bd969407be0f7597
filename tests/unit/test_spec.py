"""spec.parse_pipeline on YAML text: every field, and errors that name file:line."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from gitpipe.core.errors import BadInputError, SpecError
from gitpipe.core.yamlio import parse_plain, parse_yaml
from gitpipe.pipeline.model import Out, ParamRef, Pipeline, Stage, Task
from gitpipe.pipeline.parse import parse_pipeline
from gitpipe.pipeline.stage import parse_duration


def parse(text: str) -> Pipeline:
    return parse_pipeline(parse_yaml(text, "gitpipe.yaml"), "gitpipe.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse(text)
    return info.value.problems


FULL = """\
stages:
  prepare:
    cmd: python prepare.py
    deps: [src/prepare.py, data/raw.csv]
    outs: [data/clean.csv]
  train:
    cmd: python train.py
    wdir: ml
    deps:
      - train.py
      - ../data/clean.csv
    params:
      - train.lr
      - evaluate
      - {conf/model.yaml: [layers, dropout]}
    outs: [model/, weights.bin]
    metrics: [metrics.json]
    env: {SEED: 42, MODE: fast}
    retries: 2
    timeout: 30s
    always_changed: true
    frozen: true
    persist: true
"""


def test_all_fields_are_parsed() -> None:
    pipeline = parse(FULL)
    assert pipeline.names() == ["prepare", "train"]
    train = pipeline.stage("train")
    assert train == Stage(
        name="train",
        cmd="python train.py",
        deps=("ml/train.py", "data/clean.csv"),
        params=(
            ParamRef("ml/params.yaml", "train.lr"),
            ParamRef("ml/params.yaml", "evaluate"),
            ParamRef("ml/conf/model.yaml", "layers"),
            ParamRef("ml/conf/model.yaml", "dropout"),
        ),
        outs=(Out("ml/model", is_dir=True), Out("ml/weights.bin"),
              Out("ml/metrics.json", is_dir=False, cache=False)),
        wdir="ml",
        env=(("MODE", "fast"), ("SEED", "42")),
        retries=2,
        timeout=30.0,
        always_changed=True,
        frozen=True,
        persist=True,
        line=train.line,
    )


def test_defaults() -> None:
    prepare = parse(FULL).stage("prepare")
    assert prepare.deps == ("src/prepare.py", "data/raw.csv")
    assert prepare.outs == (Out("data/clean.csv", is_dir=False, cache=True),)
    assert prepare.params == ()
    assert (prepare.wdir, prepare.env, prepare.retries, prepare.timeout) == (".", (), 0, None)
    assert not (prepare.always_changed or prepare.frozen or prepare.persist)


def test_stage_lines_are_recorded() -> None:
    pipeline = parse(FULL)
    assert set(pipeline.stage_lines) == {"prepare", "train"}
    assert pipeline.stage_lines["prepare"] < pipeline.stage_lines["train"]


@pytest.mark.parametrize(("value", "seconds"), [("30s", 30.0), ("2h", 7200.0), ("90", 90.0),
                                                 ("5m", 300.0)])
def test_timeout_forms(value: str, seconds: float) -> None:
    stage = parse(f"stages:\n  a:\n    cmd: x\n    timeout: {value}\n").stage("a")
    assert stage.timeout == seconds


def test_params_default_file_without_wdir_and_single_key_file_form() -> None:
    stage = parse("stages:\n  a:\n    cmd: x\n    params: [lr, {other.yaml: seed}]\n").stage("a")
    assert stage.params == (ParamRef("params.yaml", "lr"), ParamRef("other.yaml", "seed"))


def test_cmd_list_and_string_forms() -> None:
    stage = parse("stages:\n  a:\n    cmd: [make a, make b]\n    outs: out\n").stage("a")
    assert stage.cmd == "make a && make b"
    assert stage.outs == (Out("out"),)


def test_task_of_stage_mirrors_the_stage() -> None:
    stage = parse(FULL).stage("train")
    task = Task.of(stage)
    assert (task.name, task.cmd, task.deps, task.outs, task.env) == (
        "train", stage.cmd, stage.deps, stage.outs, stage.env)
    assert Task(stage, "2024-01-01", "c", (), (), ()).name == "train@2024-01-01"


# errors ----------------------------------------------------------------------------

def test_unknown_field_suggests_the_right_one() -> None:
    found = problems("stages:\n  train:\n    cmd: x\n    dpes: [a]\n")
    assert found == ["gitpipe.yaml:4: stage 'train': unknown field 'dpes' "
                     "(did you mean 'deps'?)"]


def test_unknown_field_without_near_miss() -> None:
    found = problems("stages:\n  train:\n    cmd: x\n    zzzzzz: 1\n")
    assert found == ["gitpipe.yaml:4: stage 'train': unknown field 'zzzzzz'"]


def test_missing_cmd_names_the_stage_and_a_line_inside_it() -> None:
    found = problems("stages:\n  ok:\n    cmd: x\n  train:\n    deps: [a]\n")
    assert len(found) == 1
    assert found[0].startswith("gitpipe.yaml:")
    assert found[0].endswith(": stage 'train': missing 'cmd'")
    line = int(found[0].split(":")[1])
    assert line in (4, 5)


def test_missing_cmd_points_at_the_stage_name_line() -> None:
    found = problems("stages:\n  train:\n\n    # a comment\n    deps: [a]\n")
    assert found == ["gitpipe.yaml:2: stage 'train': missing 'cmd'"]


def test_bad_timeout_and_bad_retries() -> None:
    found = problems("stages:\n  a:\n    cmd: x\n    timeout: soon\n    retries: many\n"
                     "  b:\n    cmd: y\n    retries: -1\n")
    assert found == [
        "gitpipe.yaml:5: stage 'a': 'retries' must be a whole number from 0 to 100, "
        "not 'many'",
        "gitpipe.yaml:4: stage 'a': 'timeout' 'soon' is not a duration like 30s, 5m or 2h",
        "gitpipe.yaml:8: stage 'b': 'retries' must be a whole number from 0 to 100, not -1",
    ]


@pytest.mark.parametrize(("path", "why"), [
    ("../outside.csv", "it resolves outside the repository"),
    ("a/../../b", "it resolves outside the repository"),
    ("/etc/passwd", "absolute paths are not allowed"),
    (".git/config", "paths under '.git/' belong to git or gitpipe"),
    (".gitpipe/cache/x", "paths under '.gitpipe/' belong to git or gitpipe"),
])
def test_bad_paths_name_the_item_line(path: str, why: str) -> None:
    text = f"stages:\n  a:\n    cmd: x\n    deps:\n      - ok.py\n      - {path}\n"
    assert problems(text) == [f"gitpipe.yaml:6: stage 'a': dependency {path!r}: {why}"]


def test_path_escaping_through_wdir() -> None:
    found = problems("stages:\n  a:\n    cmd: x\n    wdir: sub\n    outs: [../../up]\n")
    assert found == ["gitpipe.yaml:5: stage 'a': out '../../up': it resolves outside "
                     "the repository"]


def test_kubernetes_fields_are_parsed_and_checked() -> None:
    from gitpipe.pipeline.model import KubeSpec

    stage = parse("stages:\n  a:\n    cmd: x\n    executor: kubernetes\n"
                     "    image: reg/train:1\n    resources: {cpu: 4, memory: 16Gi, gpu: 1}\n"
                     "    env_from_secret: {AWS_ACCESS_KEY_ID: [aws, id]}\n").stages[0]
    assert stage.executor == "kubernetes"
    assert stage.k8s == KubeSpec("reg/train:1", (("cpu", "4"), ("gpu", "1"),
                                                 ("memory", "16Gi")),
                                 env_from_secret=(("AWS_ACCESS_KEY_ID", "aws", "id"),))
    found = problems("stages:\n  a:\n    cmd: x\n    executor: cloud\n"
                     "    resources: {disk: 1}\n")
    assert found == ["gitpipe.yaml:4: stage 'a': unknown executor 'cloud'; known executors: "
                     "local, kubernetes",
                     "gitpipe.yaml:5: stage 'a': resources: 'disk' is not one of cpu, memory, "
                     "gpu"]


def test_several_problems_reported_at_once() -> None:
    text = ("stages:\n"            # 1
            "  a:\n"               # 2
            "    cmd: x\n"         # 3
            "    dpes: [y]\n"      # 4
            "    timeout: 0\n"     # 5
            "  b:\n"               # 6
            "    cmd: y\n"         # 7
            "    outs: [/abs]\n"   # 8
            "    frozen: maybe\n"  # 9
            "extra: 1\n")          # 10
    found = problems(text)
    assert len(found) == 5
    joined = "\n".join(found)
    for fragment in ["gitpipe.yaml:10: unknown top-level key 'extra'",
                     "gitpipe.yaml:4: stage 'a': unknown field 'dpes'",
                     "gitpipe.yaml:5: stage 'a': 'timeout' 0 is not a duration",
                     "gitpipe.yaml:8: stage 'b': out '/abs': absolute paths are not allowed",
                     "gitpipe.yaml:9: stage 'b': 'frozen' must be true or false, not 'maybe'"]:
        assert fragment in joined


def test_bad_stage_name_and_non_mapping_body() -> None:
    found = problems("stages:\n  ok:\n    cmd: x\n  'bad name':\n    cmd: y\n  c: 3\n")
    assert found == [
        "gitpipe.yaml:4: invalid stage name 'bad name' (ASCII letters, digits, _ . -, "
        "starting with a letter or _)",
        "gitpipe.yaml:6: stage 'c': must be a mapping with at least 'cmd'",
    ]


def test_not_a_pipeline() -> None:
    with pytest.raises(SpecError, match=r"must be a mapping with a 'stages:' key"):
        parse("- a\n- b\n")
    with pytest.raises(SpecError, match=r"gitpipe\.yaml:2: .*'stages:' key \('Stage': "
                                        r"did you mean 'stages'\?\)"):
        parse("vars: {}\nStage:\n  a:\n    cmd: x\n")
    with pytest.raises(SpecError, match=r"gitpipe\.yaml:1: 'stages' must be a non-empty"):
        parse("stages: {}\n")


def test_bad_env_name_reports_its_line() -> None:
    found = problems("stages:\n  a:\n    cmd: x\n    env:\n      OK: 1\n      1BAD: 2\n")
    assert found == ["gitpipe.yaml:6: stage 'a': env '1BAD': must be NAME: scalar (no NUL)"]


def test_invalid_yaml_reports_the_line() -> None:
    with pytest.raises(BadInputError, match=r"^gitpipe\.yaml:4: invalid YAML: "):
        parse("stages:\n  a:\n    cmd: x\n   deps: y\n")
    with pytest.raises(BadInputError, match=r"^gitpipe\.yaml:3: invalid YAML: found character "
                                            r"that cannot start any token\n") as caught:
        parse("stages:\n  a:\n\tcmd: x\n")
    assert caught.value.hint == ("line 3 holds a tab where YAML wants spaces: indent with "
                                 "spaces only")


# parse_duration --------------------------------------------------------------------

@pytest.mark.parametrize(("value", "seconds"), [
    ("30s", 30.0), ("2h", 7200.0), (90, 90.0), (1.5, 1.5), ("1.5m", 90.0), ("10ms", 0.01),
    ("1d", 86400.0), (" 5 s ", 5.0), ("45", 45.0),
])
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", "0", "0s", "-5s", "5x", "h", "1e3", True, False, 0, -1,
                                   None, [1]])
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def test_parse_duration_rejects_nan() -> None:
    with pytest.raises(ValueError):
        parse_duration(math.nan)


DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("page", sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")))
def test_every_pipeline_the_docs_show_is_valid(page: str) -> None:
    # What a user copies from the docs must parse and validate as shown.
    text = (DOCS / page).read_text()
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        if block.lstrip().startswith("stages:"):
            pipeline = parse_pipeline(parse_yaml(block, f"{page} example"))
            assert pipeline.stages


def test_a_stage_written_twice_is_refused_with_both_lines() -> None:
    text = "stages:\n  a:\n    cmd: echo 1\n  a:\n    cmd: echo 2\n"
    with pytest.raises(BadInputError, match=r"spec:4: .*'a' is written twice \(first on line 2\)"):
        parse_yaml(text, "spec")


def test_an_unknown_top_level_key_is_refused() -> None:
    with pytest.raises(SpecError, match="unknown top-level key 'defaults'"):
        parse_pipeline(parse_yaml("defaults: {x: 1}\nstages:\n  a:\n    cmd: echo\n", "spec"))


def test_an_unquoted_template_in_a_flow_list_gets_a_hint() -> None:
    text = "stages:\n  f:\n    cmd: echo\n    deps: [a.py, data/${date}.csv]\n"
    with pytest.raises(BadInputError) as caught:
        parse_yaml(text, "spec")
    assert "spec:4:" in str(caught.value) and "quote values that hold ${...}" in str(caught.value)


MERGED = """\
defaults: &d {lr: 0.1, epochs: 10}
models:
  base: &base
    <<: *d
    epochs: 20
fast:
  <<: *base
"""


@pytest.mark.parametrize("parse", [parse_yaml, parse_plain], ids=["with lines", "fast"])
def test_merge_keys_and_overrides_stay_legal(parse) -> None:
    # A mapping that merges and overrides, pulled into another one further up:
    # the check must see each mapping as written, not as a merge rewrote it.
    data = parse(MERGED, "params.yaml")
    assert data["fast"] == {"lr": 0.1, "epochs": 20}
    assert data["models"]["base"] == {"lr": 0.1, "epochs": 20}


@pytest.mark.parametrize("parse", [parse_yaml, parse_plain], ids=["with lines", "fast"])
def test_keys_that_are_one_key_once_parsed_are_refused(parse) -> None:
    with pytest.raises(BadInputError, match=r"p:3: .*'0x1' is written twice \(first on line 2\)"):
        parse("a: 1\n1: x\n0x1: y\n", "p")


@pytest.mark.parametrize("parse", [parse_yaml, parse_plain], ids=["with lines", "fast"])
def test_keys_that_are_one_key_as_text_are_refused(parse) -> None:
    # '1' and 1 are two dict keys, but params and the parse cache keep keys as
    # text, where one of them would be lost.
    with pytest.raises(BadInputError, match=r"is written twice \(first on line 1\)"):
        parse("'1': a\n1: b\n", "p")
