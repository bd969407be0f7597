"""Property: after any sequence of edits, repro reruns exactly the stages whose inputs
changed (or whose outs were damaged), and every out equals a from-scratch build."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitpipe.scheduler import Outcome
from tests.conftest import Repo, ran_cmd

RAW = ["r0.txt", "r1.txt", "r2.txt"]


@dataclass
class StageModel:
    name: str
    raw: list[str]
    upstream: list[int]
    salt: int = 0

    @property
    def out(self) -> str:
        return f"{self.name}.out"


@dataclass
class Model:
    """What a correct build produces, and what each stage last ran with."""

    stages: list[StageModel]
    raw: dict[str, str] = field(default_factory=lambda: {r: f"{r}\n" for r in RAW})
    params: dict[str, int] = field(default_factory=dict)
    last_inputs: dict[str, tuple] = field(default_factory=dict)

    def dep_paths(self, stage: StageModel) -> list[str]:
        return [*stage.raw, *(self.stages[i].out for i in stage.upstream)]

    def build(self) -> tuple[dict[str, str], dict[str, tuple]]:
        outs: dict[str, str] = {}
        inputs = {}
        for stage in self.stages:
            text = "".join(self.raw.get(p) or outs[p] for p in self.dep_paths(stage))
            key = (text, self.params[stage.name], stage.salt)
            inputs[stage.name] = key
            outs[stage.out] = text + f"{stage.name}: {self.params[stage.name]}\n" + \
                f"salt {stage.salt}\n"
        return outs, inputs


def stage_cmd(model: Model, stage: StageModel) -> str:
    deps = " ".join(model.dep_paths(stage)) or "/dev/null"
    body = (f"cat {deps} > {stage.out} && grep '^{stage.name}:' params.yaml >> {stage.out} "
            f"&& echo 'salt {stage.salt}' >> {stage.out}")
    return ran_cmd(stage.name, body)


def write_spec(repo: Repo, model: Model) -> None:
    stages = {}
    for stage in model.stages:
        stages[stage.name] = {"cmd": stage_cmd(model, stage), "deps": model.dep_paths(stage),
                              "params": [stage.name], "outs": [stage.out]}
    repo.spec(stages)
    params = "".join(f"{name}: {value}\n" for name, value in model.params.items())
    repo.gen({"params.yaml": params, **model.raw})


@st.composite
def pipelines(draw: st.DrawFn) -> Model:
    count = draw(st.integers(1, 5))
    stages = []
    for i in range(count):
        raw = draw(st.lists(st.sampled_from(RAW), unique=True, max_size=2))
        upstream = draw(st.lists(st.integers(0, i - 1), unique=True, max_size=2)) if i else []
        stages.append(StageModel(f"s{i}", sorted(raw), sorted(upstream)))
    model = Model(stages)
    model.params = {s.name: 0 for s in stages}
    return model


EDITS = st.tuples(
    st.sampled_from(["raw", "param", "cmd", "touch", "delete_out", "edit_out", "same_raw"]),
    st.integers(0, 100), st.integers(0, 3),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=pipelines(), edits=st.lists(EDITS, min_size=1, max_size=5))
def test_repro_reruns_exactly_what_changed(model: Model, edits: list) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repo(Path(tmp))
        write_spec(repo, model)
        repo.commit("start")
        assert repo.project().repro().ok
        _, model.last_inputs = model.build()
        repo.ran()
        for kind, pick, value in edits:
            damaged = apply_edit(repo, model, kind, pick, value)
            expected_outs, inputs = model.build()
            want = {s.name for s in model.stages
                    if inputs[s.name] != model.last_inputs[s.name] or s.out in damaged}
            report = repo.project().repro()
            assert report.ok, [r.message for r in report.failed]
            redone = {r.task for r in report.results
                      if r.outcome in (Outcome.RAN, Outcome.RESTORED)}
            assert redone == want, (kind, pick, value)
            ran = repo.ran()
            assert set(ran) <= want and len(ran) == len(set(ran))
            for path, text in expected_outs.items():
                assert (repo.path / path).read_text() == text
            model.last_inputs = inputs


def apply_edit(repo: Repo, model: Model, kind: str, pick: int, value: int) -> set[str]:
    """Apply one edit to the repository and the model; returns outs damaged by hand."""
    stage = model.stages[pick % len(model.stages)]
    raw = RAW[pick % len(RAW)]
    if kind == "raw":
        model.raw[raw] = f"{raw} v{value}\n"
        repo.gen({raw: model.raw[raw]})
    elif kind == "same_raw":
        repo.gen({raw: model.raw[raw]})  # rewritten, same bytes: new mtime only
    elif kind == "param":
        model.params[stage.name] = value
        write_spec(repo, model)
    elif kind == "cmd":
        stage.salt += 1
        write_spec(repo, model)
    elif kind == "touch":
        path = repo.path / raw
        path.touch()
    elif kind == "delete_out":
        (repo.path / stage.out).unlink()
        return {stage.out}
    elif kind == "edit_out":
        (repo.path / stage.out).write_text("vandalized\n")
        return {stage.out}
    return set()
