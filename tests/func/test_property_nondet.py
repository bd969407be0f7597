"""Property: with `deterministic: false` declared and taken back at random, the
sealed, unsealed and from-scratch status answers agree, and a repro runs a
stage's dependent exactly when its out changed or, for a non-deterministic
stage, whenever the stage ran (no early cutoff)."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import RACY_SECONDS, Repo, ran_cmd
from tests.func.test_property import assert_sealed, seal_no_op, status_answers

EDITS = st.tuples(st.sampled_from(["dup", "new", "reorder", "flag", "touch"]),
                  st.integers(0, 9))


@dataclass
class CutoffModel:
    """`uniq` writes the sorted distinct lines of data.txt; `after` copies them."""

    lines: list[str] = field(default_factory=lambda: ["b", "a"])
    deterministic: bool = True

    @property
    def data(self) -> str:
        return "".join(f"{line}\n" for line in self.lines)

    @property
    def out(self) -> str:
        return "".join(f"{line}\n" for line in sorted(set(self.lines)))


def _write(repo: Repo, model: CutoffModel) -> None:
    """Only what changed is written: the other files keep the times a seal holds."""
    flag = {} if model.deterministic else {"deterministic": False}
    stages = {
        "uniq": {"cmd": ran_cmd("uniq", "sort -u data.txt > u.txt"), "deps": ["data.txt"],
                 "outs": ["u.txt"], **flag},
        "after": {"cmd": ran_cmd("after", "cat u.txt > after.txt"), "deps": ["u.txt"],
                  "outs": ["after.txt"]},
    }
    repo.gen_changed({"gitpipe.yaml": {"stages": stages}, "data.txt": model.data})


def _edit(repo: Repo, model: CutoffModel, kind: str, value: int) -> None:
    if kind == "dup":
        model.lines.append(model.lines[value % len(model.lines)])
    elif kind == "new":
        model.lines.append(f"l{value}")
    elif kind == "reorder":
        model.lines.reverse()
    elif kind == "flag":
        model.deterministic = not model.deterministic
    if kind == "touch":
        (repo.path / "data.txt").touch()
    else:
        _write(repo, model)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(EDITS, min_size=2, max_size=3))
# data.txt's lines reordered: the same size, other bytes, after a sealed no-op.
@example(edits=[("touch", 0), ("reorder", 0), ("flag", 0)])
def test_nondeterministic_cutoff_sealed_unsealed_and_scratch_agree(edits: list) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "repo").mkdir()
        repo = Repo(Path(tmp) / "repo")
        model = CutoffModel()
        _write(repo, model)
        repo.run("init", check=True)
        repo.commit("start")
        assert repo.run("repro").returncode == 0
        repo.ran()
        seal_no_op(repo)
        ran_with, made = model.data, model.out
        for kind, value in edits:
            _edit(repo, model, kind, value)
            # Not repo.age(): the files not edited keep the times the seal holds.
            time.sleep(RACY_SECONDS)
            answers = status_answers(repo, Path(tmp) / "scratch")
            assert_sealed(repo, not answers[0]["uniq"])
            assert all(answer == answers[0] for answer in answers), (kind, answers)
            # Only the inputs decide staleness; the flag adds a note, never a run.
            assert bool(answers[0]["uniq"]) == (model.data != ran_with), answers
            done = repo.run("repro", "--no-run-cache")
            assert done.returncode == 0, done.stderr
            uniq_ran = model.data != ran_with
            want = ["uniq"] if uniq_ran else []
            if model.out != made or (uniq_ran and not model.deterministic):
                want.append("after")
            assert repo.ran() == want, (kind, value, model, done.stdout)
            assert repo.read("after.txt") == model.out
            seal_no_op(repo)  # the next edit is judged against this seal
            ran_with, made = model.data, model.out
