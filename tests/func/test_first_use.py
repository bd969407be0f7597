"""What a newcomer's own pipeline shows them: one sentence for a stage whose
last run failed, wherever it is said; why a stage failed even when a Ctrl-C
ends the run after it; hints that fit the project; names as status gives
them; a branch switch that removes many outs said in one line."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import GIT_ENV, Repo
from tests.func.terminal import Terminal
from tests.func.test_json import document

NEVER_COMPLETED = "never completed: its last run failed"


def test_repro_says_a_failed_stage_never_completed_as_status_does(repo: Repo) -> None:
    repo.spec({"fit": {"cmd": "exit 4", "outs": ["model.bin"]}}, commit="spec")
    repo.run("init", check=True)
    assert repo.run("repro").returncode == 1
    assert f"fit:\n    {NEVER_COMPLETED}\n" in repo.run("status").stdout
    planned = repo.run("repro", "--dry-run").stdout
    assert f"would run fit: {NEVER_COMPLETED}\n" in planned, planned
    again = repo.run("repro")
    assert f"running fit: {NEVER_COMPLETED}\n" in again.stdout, again.stdout
    assert "new stage" not in again.stdout, again.stdout
    tasks = document(repo.run("repro", "--json"), "repro")["tasks"]
    assert tasks[0]["reasons"] == [NEVER_COMPLETED], tasks


def test_ctrl_c_after_a_failure_still_says_why_it_failed(repo: Repo) -> None:
    # `bad` fails only once `slow` runs: a failure before `slow` started
    # would stop the run with `slow` never begun (cancelled, not interrupted).
    repo.spec({"bad": {"cmd": "until [ -e begun ]; do sleep 0.05; done; echo oops; exit 3",
                       "outs": ["b.txt"]},
               "slow": {"cmd": "touch begun; echo started; sleep 300", "outs": ["s.txt"]}},
              commit="spec")
    repo.run("init", check=True)
    term = Terminal(repo.path, "repro", "-j", "2")
    term.wait_for(b"[slow] started")
    term.wait_for(b"failed")
    term.ctrl_c()
    assert term.finish() == 130
    plain = term.plain()
    why = "error: stage 'bad': command exited with code 3\nhint: the log is "
    assert why in plain.replace("\r\n", "\n"), plain
    assert plain.index("1 failed, 1 interrupted") < plain.index(why.split("\n")[0])
    assert plain.index(why.split("\n")[0]) < plain.index("error: interrupted")



def test_without_a_remote_the_hint_after_a_failed_run_does_not_mention_pull(repo: Repo) -> None:
    repo.spec({"make": {"cmd": "echo made > made.txt", "outs": ["made.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.spec({"make": {"cmd": "rm made.txt && exit 3", "outs": ["made.txt"]}})
    assert repo.run("repro").returncode != 0
    hint = repo.run("status").stdout.splitlines()[-1]
    assert hint == ("hint: 'make' no longer matches gitpipe.lock (changed since, or its "
                    "last run failed): 'gitpipe repro' rebuilds its outs"), hint


def test_a_secret_added_to_env_is_said_to_be_one(repo: Repo) -> None:
    stage = {"cmd": "echo $MODE > o.txt", "outs": ["o.txt"], "env": {"MODE": "fast"}}
    repo.spec({"s": stage}, commit="spec")  # the env before: the last commit's
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.spec({"s": {**stage, "env": {"MODE": "fast", "API_TOKEN": "tok-one-2"}}})
    status = repo.run("status").stdout
    assert "    env changed: API_TOKEN added (a secret)\n" in status, status
    assert "tok-one-2" not in status


def test_a_param_declared_under_its_parent_is_not_added_and_removed(repo: Repo) -> None:
    repo.gen({"params.yaml": "feat:\n  factor: 2\n"})
    stage = {"cmd": "cp params.yaml o.txt", "params": ["feat.factor"], "outs": ["o.txt"]}
    repo.spec({"s": stage}, commit="spec")
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("built")
    repo.spec({"s": {**stage, "params": ["feat"]}})  # every param of feat, factor still 2
    said = "params: feat.factor declared differently, same value (2)"
    status = repo.run("status").stdout
    assert status == f"s:\n    {said}\n1 of 1 stage stale\n", status
    repo.run("repro", check=True)
    assert f"    {said}\n" in repo.run("diff", "HEAD").stdout
    repo.gen({"params.yaml": "feat:\n  factor: 3\n  seed: 1\n"})
    changed = repo.run("diff", "HEAD").stdout
    assert ("    params: feat.factor 2 -> 3\n    params: feat.seed added (1)\n" in changed), changed


def test_diff_names_a_directory_dep_as_status_does(repo: Repo) -> None:
    repo.gen({"data/a.txt": "a"})
    repo.spec({"s": {"cmd": "ls data > o.txt", "deps": ["data/"], "outs": ["o.txt"]}},
              commit="spec")
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("built")
    repo.gen({"data/b.txt": "b"})
    assert "    deps: data/ modified\n" in repo.run("status").stdout
    assert repo.run("diff").stdout == "s:\n    deps: data/ modified\n"
    changed = repo.run("diff", "--show-hash").stdout
    assert "    deps: data/ xxh3:" in changed, changed


def test_an_unknown_partition_is_called_one_and_the_range_is_given(repo: Repo) -> None:
    repo.spec({"day": {"partition": {"by": "date", "start": "2024-01-01", "end": "2024-01-05"},
                       "cmd": "echo ${date} > ${date}.txt", "outs": ["${date}.txt"]}},
              commit="spec")
    repo.run("init", check=True)
    done = repo.run("repro", "day@2024-01-09")
    assert done.returncode == 2
    assert done.stderr == ("error: stage 'day' has no partition '2024-01-09'\n"
                           "hint: its partitions run from 2024-01-01 to 2024-01-05\n"), done.stderr


def test_a_branch_switch_counts_many_removed_outs_on_one_line(repo: Repo) -> None:
    repo.spec({"one": {"cmd": "echo 1 > one.txt", "outs": ["one.txt"]}}, commit="main")
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("main built")
    repo.run("hooks", "install", check=True)
    repo.git("checkout", "-q", "-b", "daily")
    repo.spec({"one": {"cmd": "echo 1 > one.txt", "outs": ["one.txt"]},
               "day": {"partition": {"by": "date", "start": "2024-01-01", "end": "2024-01-08"},
                       "cmd": "echo ${date} > ${date}.txt", "outs": ["${date}.txt"]}})
    repo.run("repro", check=True)
    repo.commit("daily built")
    switched = subprocess.run(["git", "checkout", "-q", "main"], cwd=repo.path, text=True,
                              capture_output=True, check=True,
                              env={**os.environ, **GIT_ENV, "HOME": str(repo.path)})
    assert switched.stderr == (
        "gitpipe: removed 8 outs this branch's lock does not have: 2024-01-01.txt, "
        "2024-01-02.txt, 2024-01-03.txt and 5 more\n"), switched.stderr
    assert not (repo.path / "2024-01-05.txt").exists()


def test_a_stage_that_never_started_says_why(repo: Repo) -> None:
    """`blocked` names the upstream failure; `cancelled` says the run stopped,
    and how to run what the failure does not block: in the table and in the
    JSON's reasons, never as a second error."""
    repo.spec({"a": {"cmd": "exit 1", "outs": ["a.txt"]},
               "b": {"cmd": "cat a.txt > b.txt", "deps": ["a.txt"], "outs": ["b.txt"]},
               "b2": {"cmd": "cat b.txt > b2.txt", "deps": ["b.txt"], "outs": ["b2.txt"]},
               "c": {"cmd": "echo c > c.txt", "outs": ["c.txt"]}}, commit="spec")
    repo.run("init", check=True)
    done = repo.run("repro", "-j", "1")
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[1:] if line.strip()}
    assert rows["b"].endswith("blocked           upstream 'a' did not complete"), done.stdout
    assert rows["b2"].endswith("upstream 'a' did not complete"), done.stdout
    assert "not started: the run stopped at a failure (--keep-going runs what it does not " \
        "block)" in rows["c"], done.stdout
    assert done.stderr.count("error:") == 1, done.stderr
    again = document(repo.run("repro", "-j", "1", "--json"), "repro")
    tasks = {task["task"]: task for task in again["tasks"]}
    assert tasks["b2"]["reasons"] == ["upstream 'a' did not complete"], tasks
    assert tasks["b2"]["message"] is None and tasks["c"]["outcome"] == "cancelled"
