"""foreach/matrix/vars expansion: node names and rendered commands as DVC documents
them for the same dvc.yaml (dvc.org "dvc.yaml: foreach stages", "matrix stages",
"dictionary unpacking"; DVC's matrix PR #9725)."""

from __future__ import annotations

import datetime as dt

import pytest

from gitpipe.core.errors import SpecError
from gitpipe.core.yamlio import parse_yaml
from gitpipe.pipeline.items import foreach_items, matrix_items
from gitpipe.pipeline.model import Pipeline, tasks_of
from gitpipe.pipeline.parse import parse_pipeline
from gitpipe.pipeline.templates import TemplateError, lookup, render, to_text

TODAY = dt.date(2024, 6, 1)


def parse(text: str, files: dict[str, str] | None = None) -> Pipeline:
    return parse_pipeline(parse_yaml(text, "gitpipe.yaml"), "gitpipe.yaml",
                          (files or {}).get)


def nodes(pipeline: Pipeline) -> dict[str, str]:
    """Task name → rendered command, for every stage."""
    return {t.name: t.cmd for s in pipeline.stages for t in tasks_of(s, TODAY)}


def test_foreach_over_a_list_names_nodes_by_value() -> None:
    pipeline = parse("""
stages:
  cleanups:
    foreach: [raw1, labels1, raw2]
    do:
      cmd: clean.py "${item}"
      outs: ["${item}.cln"]
""")
    assert nodes(pipeline) == {"cleanups@raw1": 'clean.py "raw1"',
                               "cleanups@labels1": 'clean.py "labels1"',
                               "cleanups@raw2": 'clean.py "raw2"'}
    task = tasks_of(pipeline.stages[0], TODAY)[1]
    assert [o.path for o in task.outs] == ["labels1.cln"]


def test_foreach_over_a_mapping_names_nodes_by_key_as_in_dvc_lock() -> None:
    pipeline = parse("""
stages:
  build:
    foreach:
      uk: {epochs: 3, thresh: 10}
      us: {epochs: 10, thresh: 15}
    do:
      cmd: python train.py '${key}' ${item.epochs} ${item.thresh}
      outs:
        - model-${key}.hdfs
""")
    assert nodes(pipeline) == {"build@uk": "python train.py 'uk' 3 10",
                               "build@us": "python train.py 'us' 10 15"}


def test_foreach_over_a_list_of_mappings_names_nodes_by_index() -> None:
    pipeline = parse("""
stages:
  test:
    foreach:
      - {os: win, pyv: 3.8}
      - {os: linux, pyv: 3.10}
    do:
      cmd: run ${item.os} ${item.pyv}
""")
    assert nodes(pipeline) == {"test@0": "run win 3.8", "test@1": "run linux 3.1"}


def test_matrix_names_join_values_in_order_and_composites_by_name_and_index() -> None:
    pipeline = parse("""
stages:
  train:
    matrix:
      model: [cnn, xgb]
      feature: [feature1, feature2]
    cmd: ./train.py --feature ${item.feature} ${item.model}
    outs:
      - ${item.model}-${item.feature}.pkl
""")
    assert nodes(pipeline) == {
        "train@cnn-feature1": "./train.py --feature feature1 cnn",
        "train@cnn-feature2": "./train.py --feature feature2 cnn",
        "train@xgb-feature1": "./train.py --feature feature1 xgb",
        "train@xgb-feature2": "./train.py --feature feature2 xgb"}
    keys = [key for key, _ in matrix_items({
        "os": ["windows"], "pyv": ["3.9"], "dict": [{"arg1": 1}], "lst": [[1, 2]]})]
    assert keys == ["windows-3.9-dict0-lst0"]  # DVC's example in PR #9725


def test_values_render_as_dvc_renders_them() -> None:
    assert [to_text(v) for v in (True, False, 1, 0.001, 1e-05, "x")] == \
        ["true", "false", "1", "0.001", "1e-05", "x"]
    options = {"foo": "foo", "bar": 2, "bool": True, "bool-false": False,
               "list": [1, 2], "nested": {"foo": "a b"}}
    assert to_text(options, in_cmd=True) == \
        "--foo foo --bar 2 --bool --list 1 2 --nested.foo 'a b'"
    with pytest.raises(TemplateError, match="list cannot be written"):
        to_text([1, 2])
    with pytest.raises(TemplateError, match="into 'cmd' only"):
        to_text({"a": 1})
    assert [k for k, _ in foreach_items([True, 2, "x"])] == ["true", "2", "x"]


def test_a_whole_field_template_keeps_its_value_and_escapes_stay_literal() -> None:
    context = {"flags": [1, 2], "on": True, "lr": 0.1}
    assert render("${flags}", lambda n: lookup(context, n)) == [1, 2]
    assert render("${on}", lambda n: lookup(context, n)) is True
    assert render("lr=${lr} \\${HOME}", lambda n: lookup(context, n)) == "lr=0.1 ${HOME}"
    assert lookup({"a": [{"b": 3}]}, "a[0].b") == lookup({"a": [{"b": 3}]}, "a.0.b") == 3


def test_vars_come_from_params_yaml_inline_and_files_with_keys() -> None:
    pipeline = parse("""
vars:
  - {prefix: out}
  - conf.json:model
stages:
  train:
    foreach: ${models}
    do:
      cmd: fit ${model.layers} ${key} ${item.lr} ${seed}
      outs:
        - ${prefix}/${key}.bin
""", {"params.yaml": "seed: 7\nmodels:\n  small: {lr: 0.1}\n  big: {lr: 1.0e-3}\n",
      "conf.json": '{"model": {"layers": 4}, "other": 1}'})
    assert nodes(pipeline) == {"train@small": "fit 4 small 0.1 7",
                               "train@big": "fit 4 big 0.001 7"}
    assert [p for p, _ in pipeline.inputs] == ["params.yaml", "conf.json"]
    stage = pipeline.stages[0]
    assert [o.path for t in tasks_of(stage, TODAY) for o in t.outs] == \
        ["out/small.bin", "out/big.bin"]


def test_a_stage_without_templates_reads_no_vars_file() -> None:
    read: list[str] = []

    def reader(path: str) -> str | None:
        read.append(path)
        return None

    parse_pipeline(parse_yaml("stages:\n  a:\n    cmd: echo hi\n", "gitpipe.yaml"),
                   "gitpipe.yaml", reader)
    assert read == []


@pytest.mark.parametrize(("body", "message"), [
    ("    foreach: [a, b, a]\n    do:\n      cmd: echo ${item}\n",
     ":3: stage 's': 'foreach' names item 'a' twice"),
    ("    foreach: ['x/y']\n    do:\n      cmd: echo ${item}\n",
     ":3: stage 's': item name 'x/y' cannot name a node"),
    ("    foreach: ['..']\n    do:\n      cmd: echo ${item}\n",
     "item name '..' cannot name a node"),
    ("    foreach: [" + "a" * 130 + "]\n    do:\n      cmd: echo ${item}\n",
     "longer than 120 characters"),
    ("    foreach: [a]\n    do:\n      cmd: echo ${item}\n"
     "      partition: {by: date, start: 2024-01-01}\n",
     ":6: stage 's': a stage has 'partition' or 'foreach', not both"),
    ("    foreach: [{x: 1}, {y: 2}]\n    do:\n      cmd: echo ${item.x}\n",
     ":5: stage 's': cmd of s@1: ${item.x}: 'x' is not defined in ${item}"),
    ("    foreach: [a]\n    do:\n      cmd: echo\n      outs:\n        - ../${item}\n",
     "resolves outside the repository"),
    ("    foreach: {a: ../../x}\n    do:\n      cmd: echo\n      outs:\n        - d/${item}\n",
     ":6: stage 's': outs of s@a: it resolves outside the repository"),
    ("    foreach: [a]\n    do:\n      cmd: echo ${item}\n      wdir: ${item}\n",
     "${item} cannot be used in 'wdir'"),
    ("    foreach: [a]\n    cmd: echo\n    do:\n      cmd: echo\n",
     "its fields go under 'do:'"),
    ("    foreach: 3\n    do:\n      cmd: echo\n", "must be a list or a mapping, not int"),
    ("    matrix: {a: []}\n    cmd: echo\n", "matrix 'a' must be a non-empty list"),
    ("    foreach: ${nope}\n    do:\n      cmd: echo\n", ":3: stage 's': ${nope} is not defined: "
     "params.yaml does not exist"),
    ("    cmd: echo ${nope}\n", ":3: stage 's': ${nope} is not defined: params.yaml does not "
     "exist"),
])
def test_bad_items_are_spec_errors_naming_line_and_stage(body: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse("stages:\n  s:\n" + body)
    assert message in "\n".join(caught.value.problems)


def test_a_missing_vars_file_is_reported_once() -> None:
    with pytest.raises(SpecError) as caught:
        parse("vars:\n  - gone.yaml\nstages:\n  a:\n    cmd: echo ${x}\n"
              "  b:\n    cmd: echo ${y}\n")
    assert caught.value.problems == ["gitpipe.yaml:1: vars file 'gone.yaml' does not exist"]


def test_an_escaped_template_reaches_the_shell_once_unescaped() -> None:
    pipeline = parse("""
vars:
  - {greeting: hi}
stages:
  say:
    foreach: [a]
    do:
      cmd: echo ${greeting} ${item} \\${HOME}
""")
    assert nodes(pipeline) == {"say@a": "echo hi a ${HOME}"}
