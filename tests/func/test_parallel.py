"""Parallel execution, proven from timestamps the stage commands write."""

from __future__ import annotations

import pytest

from gitpipe.engine.reports import ReproOptions
from tests.conftest import Repo

STAMP = 'python3 -c "import time; print(time.time())" >> {log}'


def interval_stage(name: str, seconds: float = 0.6) -> dict:
    """A stage that writes its start and end times around a sleep."""
    log = f"times/{name}"
    cmd = f"mkdir -p times && {STAMP.format(log=log)} && sleep {seconds} && " \
          f"{STAMP.format(log=log)} && echo {name} > {name}.out"
    return {"cmd": cmd, "outs": [f"{name}.out"]}


def intervals(repo: Repo, names: list[str]) -> dict[str, tuple[float, float]]:
    found = {}
    for name in names:
        start, end = (float(x) for x in repo.read(f"times/{name}").split())
        found[name] = (start, end)
    return found


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def max_concurrent(spans: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    active = best = 0
    for _, delta in events:
        active += delta
        best = max(best, active)
    return best


@pytest.mark.parametrize("jobs", [1, 2, 4])
def test_independent_stages_run_up_to_jobs_at_once(repo: Repo, jobs: int) -> None:
    names = [f"s{i}" for i in range(4)]
    repo.spec({n: interval_stage(n) for n in names}, commit="spec")
    assert repo.project().repro(options=ReproOptions(jobs=jobs)).ok
    spans = list(intervals(repo, names).values())
    assert max_concurrent(spans) == jobs


def test_dependent_stages_never_overlap(repo: Repo) -> None:
    first = interval_stage("first")
    second = interval_stage("second")
    second["deps"] = ["first.out"]
    repo.spec({"first": first, "second": second}, commit="spec")
    assert repo.project().repro(options=ReproOptions(jobs=4)).ok
    got = intervals(repo, ["first", "second"])
    assert got["first"][1] <= got["second"][0]


def test_diamond_branches_overlap_and_join_waits(repo: Repo) -> None:
    root = interval_stage("root", 0.1)
    left, right = interval_stage("left"), interval_stage("right")
    left["deps"] = right["deps"] = ["root.out"]
    join = interval_stage("join", 0.1)
    join["deps"] = ["left.out", "right.out"]
    repo.spec({"root": root, "left": left, "right": right, "join": join}, commit="spec")
    assert repo.project().repro(options=ReproOptions(jobs=2)).ok
    got = intervals(repo, ["root", "left", "right", "join"])
    assert overlaps(got["left"], got["right"])
    assert got["join"][0] >= max(got["left"][1], got["right"][1])
    assert got["root"][1] <= min(got["left"][0], got["right"][0])


def test_a_failure_starts_no_command_that_waits_for_a_slot(repo: Repo) -> None:
    """With -j 2, stages are judged beside the two running commands and wait for
    a slot (engine/slots.py); without --keep-going, one that is still waiting
    when a stage fails never starts its command: it is cancelled, as a stage
    the scheduler never reached is."""
    waiting = [f"w{i}" for i in range(4)]
    stages = {"bad": {"cmd": "sleep 0.5 && exit 1", "outs": ["bad.out"]},
              "gate": {"cmd": "echo go > gate.out", "outs": ["gate.out"]}}
    for name in waiting:
        stages[name] = {"cmd": f"echo {name} > {name}.out && sleep 1.5", "deps": ["gate.out"],
                        "outs": [f"{name}.out"]}
    repo.spec(stages, commit="spec")
    done = repo.run("repro", "-j", "2", timeout=60)
    assert done.returncode == 1, done.stderr
    started = [name for name in waiting if (repo.path / f"{name}.out").exists()]
    # gate's slot went to one waiting stage while bad ran; bad's slot to none.
    assert len(started) <= 1, started
    assert "Traceback" not in done.stderr
    table = done.stdout + done.stderr
    for name in set(waiting) - set(started):
        assert any(name in line and "cancelled" in line for line in table.splitlines()), table


def test_a_command_that_starts_after_the_stop_is_cancelled_as_it_starts(repo: Repo) -> None:
    """Ctrl-C cancels the commands running now; a worker thread that was just
    starting one (its process made, not yet tracked) must not leave it to run
    to its end while the run waits for it."""
    from gitpipe.executors.base import Context
    from gitpipe.executors.local import LocalExecutor

    repo.spec({"slow": {"cmd": "sleep 30; echo done > late.txt"}})
    project = repo.project()
    [task] = [project.graph.nodes[node]["task"] for node in project.graph]
    executor = LocalExecutor(Context(project))
    executor.cancel_all()
    result = executor.run_in(project.root, task, repo.path / "slow.log")
    assert result.cancelled and result.returncode != 0, result
    assert not (repo.path / "late.txt").exists()


def test_an_in_flight_set_made_without_cancel_works_as_before() -> None:
    """A third-party executor written before `stop` makes `InFlight()` and
    cancels what `snapshot` gives it: that still works."""
    from gitpipe.executors.base import InFlight

    running: InFlight[str] = InFlight()
    with running.tracking("a"):
        assert running.snapshot() == ["a"]
        running.stop()
        with running.tracking("b"):
            assert sorted(running.snapshot()) == ["a", "b"]
    assert running.snapshot() == []
