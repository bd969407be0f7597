"""The local executor's watch: the thread that waits for a command also reads its
output (no thread per command), with a pidfd or, where the system has none,
looking at the command in steps; a backgrounded child holding the pipe does
not hold the run, and a timed-out command's last words still reach its log."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gitpipe.executors import local
from gitpipe.executors.base import Context, RunResult
from tests.conftest import Repo
from tests.reliability.test_processes import alive


def run_stage(repo: Repo, stage: dict[str, object],
              lines: list[tuple[str, int]] | None = None) -> tuple[RunResult, str]:
    repo.spec({"s": stage})
    project = repo.project()
    [task] = [project.graph.nodes[node]["task"] for node in project.graph]

    def sink(name: str, line: str) -> None:
        if lines is not None:
            lines.append((line, threading.get_ident()))

    executor = local.LocalExecutor(Context(project, sink=sink))
    log = repo.path / "s.log"
    return executor.run_in(project.root, task, log), log.read_text()


@pytest.fixture(params=["pidfd", "steps"])
def watch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "steps":
        monkeypatch.setattr(local, "_exit_fd", lambda pid: None)
    return str(request.param)


def test_a_commands_output_is_read_by_the_thread_that_waits_for_it(repo: Repo,
                                                                   watch: str) -> None:
    lines: list[tuple[str, int]] = []
    threads = threading.active_count()
    result, log = run_stage(repo, {"cmd": "echo one; echo two; printf 'last'"}, lines)
    assert result.ok, result
    assert log == "one\ntwo\nlast"
    assert [line for line, _ in lines] == ["one", "two", "last"]
    assert {ident for _, ident in lines} == {threading.get_ident()}
    assert threading.active_count() == threads


def test_a_backgrounded_child_holding_the_pipe_does_not_hold_the_run(repo: Repo,
                                                                     watch: str) -> None:
    result, log = run_stage(repo, {"cmd": "sleep 300 & echo $! > bg.pid; echo started"})
    assert result.ok, result
    assert log == "started\n"
    assert not alive(int(Path(repo.path / "bg.pid").read_text()))


def test_a_timed_out_commands_last_words_reach_its_log(repo: Repo, watch: str) -> None:
    cmd = "trap 'echo stopping; exit 3' TERM; echo started; sleep 300 & wait"
    result, log = run_stage(repo, {"cmd": cmd, "timeout": "1s"})
    assert result.timed_out and not result.ok, result
    assert result.message == "timed out after 1s"
    assert log == "started\nstopping\n"
