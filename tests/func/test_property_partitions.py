"""Property: backfills of random sub-ranges after random edits of partition inputs
run exactly the stale partitions of the range, write what a from-scratch build
writes, and leave `status` answering alike sealed, unsealed and from scratch.

A stale partition whose input is back to a value it was once built from is
restored from the run-cache instead of run (its fingerprint, the run-cache's
key, is that run's); every other stale partition runs.

It covers the partition names and `${…}` values the planner makes (key_of and
variables' fast forms; tests/unit/test_partitions.py compares them with
strftime and strptime): hourly ranges across midnight, daily ones across a
month's end and a leap day.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import RACY_SECONDS, Repo, ran_cmd
from tests.func.test_property import assert_sealed, seal_no_op, status_answers

RANGES = {
    "daily": ("2024-02-27", "2024-03-02", dt.timedelta(days=1), "%Y-%m-%d"),
    "hourly": ("2024-02-29T22", "2024-03-01T02", dt.timedelta(hours=1), "%Y-%m-%dT%H"),
}


@dataclass
class Partitioned:
    """The raw input of each partition, what each partition last ran with, and
    every input each partition was ever built from (what the run-cache holds)."""

    freq: str
    raw: dict[str, str] = field(default_factory=dict)
    built: dict[str, str] = field(default_factory=dict)
    ever_built: dict[str, set[str]] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        start, end, step, form = RANGES[self.freq]
        moment, stop = dt.datetime.strptime(start, form), dt.datetime.strptime(end, form)
        keys = []
        while moment <= stop:
            keys.append(moment.strftime(form))
            moment += step
        return keys


def _write(repo: Repo, model: Partitioned) -> None:
    """Only what changed is written: the other files keep the times a seal holds."""
    start, end, _, _ = RANGES[model.freq]
    body = ("mkdir -p out && cat raw/${date}.txt > out/${date}.txt && "
            "echo ${year}/${month}/${day} >> out/${date}.txt")
    spec = {"p": {"partition": {"by": "date", "start": start, "end": end, "freq": model.freq},
                  "cmd": ran_cmd("p@${date}", body),
                  "deps": ["raw/${date}.txt"], "outs": ["out/${date}.txt"]}}
    repo.gen_changed({"gitpipe.yaml": {"stages": spec},
                      **{f"raw/{key}.txt": text for key, text in model.raw.items()}})


def _expected_out(model: Partitioned, key: str) -> str:
    return model.raw[key] + f"{key[:4]}/{key[5:7]}/{key[8:10]}\n"


def _backfill(repo: Repo, model: Partitioned, chosen: list[str]) -> None:
    """Backfill the partitions `chosen`: exactly the stale ones run, or are
    restored where the run-cache holds a run with their input; every out is
    what a from-scratch build writes."""
    done = repo.run("backfill", "p", "--start", chosen[0], "--end", chosen[-1])
    assert done.returncode == 0, done.stderr
    stale = [k for k in chosen if model.built.get(k) != model.raw[k]]
    cached = [k for k in stale if model.raw[k] in model.ever_built.get(k, ())]
    ran = sorted(f"p@{k}" for k in stale if k not in cached)
    assert sorted(repo.ran()) == ran, (chosen, done.stdout)
    restored = [line.split()[1].rstrip(":") for line in done.stdout.splitlines()
                if line.startswith("restored ")]
    assert sorted(restored) == sorted(f"p@{k}" for k in cached), done.stdout
    for key in chosen:
        model.built[key] = model.raw[key]
        model.ever_built.setdefault(key, set()).add(model.raw[key])
        assert repo.read(f"out/{key}.txt") == _expected_out(model, key)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(freq=st.sampled_from(sorted(RANGES)), built_first=st.booleans(),
       steps=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 4),
                                st.integers(0, 9)), min_size=1, max_size=3))
# A partition's input set back to what it was two backfills before: restored.
@example(freq="daily", built_first=False, steps=[(3, 0, 3, 6), (3, 0, 4, 0), (3, 4, 0, 6)])
# Every partition built and the no-op sealed; then one input edited (its size
# kept) and a backfill of others: the status that follows is not the seal's.
@example(freq="hourly", built_first=True, steps=[(2, 3, 4, 5)])
def test_backfills_run_exactly_the_stale_partitions(freq: str, built_first: bool,
                                                    steps: list) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "repo").mkdir()
        repo = Repo(Path(tmp) / "repo")
        model = Partitioned(freq)
        keys = model.keys
        model.raw = {key: f"raw {key} v0\n" for key in keys}  # every edit keeps the size
        _write(repo, model)
        repo.commit("start")
        if built_first:
            _backfill(repo, model, keys)
            seal_no_op(repo)
        for edited, first, last, value in steps:
            model.raw[keys[edited]] = f"raw {keys[edited]} v{value}\n"
            _write(repo, model)
            lo, hi = sorted((first, last))
            _backfill(repo, model, keys[lo:hi + 1])
            # Not repo.age(): the files not written keep the times a seal holds.
            time.sleep(RACY_SECONDS)
            answers = status_answers(repo, Path(tmp) / "scratch", key="task")
            assert all(answer == answers[0] for answer in answers), answers
            assert sorted(answers[0]) == sorted(f"p@{k}" for k in keys)
            stale = [k for k in keys if model.built.get(k) != model.raw[k]]
            assert [k for k in keys if answers[0][f"p@{k}"]] == stale
            assert_sealed(repo, not stale)
