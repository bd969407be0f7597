"""repro on real git repositories: what runs, in what order, and what the lock records."""

from __future__ import annotations

import os
import shutil

import pytest

from gitpipe.engine.reports import ReproOptions
from gitpipe.engine.scheduler import Outcome
from tests.conftest import Repo, ran_cmd


def chain(repo: Repo) -> Repo:
    """raw.txt → prepare → clean.txt → train → model.txt; params train.lr."""
    repo.gen({
        "raw.txt": "1\n2\n3\n",
        "params.yaml": {"train": {"lr": 0.1, "epochs": 3}},
        "src/train.sh": "cat clean.txt > model.txt\n",
    })
    repo.spec({
        "prepare": {"cmd": ran_cmd("prepare", "sort -r raw.txt > clean.txt"),
                    "deps": ["raw.txt"], "outs": ["clean.txt"]},
        "train": {"cmd": ran_cmd("train", "sh src/train.sh"),
                  "deps": ["src/train.sh", "clean.txt"], "params": ["train.lr"],
                  "outs": ["model.txt"]},
    }, commit="pipeline")
    return repo


def test_first_repro_runs_everything_in_order_then_noop(repo: Repo) -> None:
    chain(repo)
    report = repo.project().repro()
    assert [r.outcome for r in report.results] == [Outcome.RAN, Outcome.RAN]
    assert repo.ran() == ["prepare", "train"]
    assert repo.read("model.txt") == "3\n2\n1\n"
    again = repo.project().repro()
    assert [r.outcome for r in again.results] == [Outcome.SKIPPED, Outcome.SKIPPED]
    assert repo.ran() == []


def test_param_change_reruns_only_the_stage_that_reads_it(repo: Repo) -> None:
    chain(repo)
    repo.project().repro()
    repo.ran()
    repo.gen({"params.yaml": {"train": {"lr": 0.5, "epochs": 3}}})
    report = repo.project().repro()
    assert repo.ran() == ["train"]
    train = report.results[1]
    assert train.reasons == ("params: train.lr 0.1 -> 0.5",)


def test_unread_param_change_reruns_nothing(repo: Repo) -> None:
    chain(repo)
    repo.project().repro()
    repo.ran()
    repo.gen({"params.yaml": {"train": {"lr": 0.1, "epochs": 99}}})
    repo.project().repro()
    assert repo.ran() == []


def test_early_cutoff_upstream_rerun_with_same_output(repo: Repo) -> None:
    chain(repo)
    repo.project().repro()
    repo.ran()
    # A different raw file whose sorted output is identical: prepare reruns,
    # clean.txt comes out byte-identical, so train must not rerun.
    repo.gen({"raw.txt": "2\n1\n3\n"})
    report = repo.project().repro()
    assert repo.ran() == ["prepare"]
    assert [r.outcome for r in report.results] == [Outcome.RAN, Outcome.SKIPPED]


def test_code_dep_change_reruns_stage(repo: Repo) -> None:
    chain(repo)
    repo.project().repro()
    repo.ran()
    repo.gen({"src/train.sh": "cat clean.txt clean.txt > model.txt\n"})
    report = repo.project().repro()
    assert repo.ran() == ["train"]
    assert report.results[1].reasons == ("deps: src/train.sh modified",)
    assert repo.read("model.txt") == "3\n2\n1\n3\n2\n1\n"


def test_targets_run_only_what_they_need(repo: Repo) -> None:
    chain(repo)
    repo.spec({
        "prepare": {"cmd": ran_cmd("prepare", "sort -r raw.txt > clean.txt"),
                    "deps": ["raw.txt"], "outs": ["clean.txt"]},
        "train": {"cmd": ran_cmd("train", "sh src/train.sh"),
                  "deps": ["src/train.sh", "clean.txt"], "params": ["train.lr"],
                  "outs": ["model.txt"]},
        "other": {"cmd": ran_cmd("other", "echo x > other.txt"), "outs": ["other.txt"]},
    })
    repo.project().repro(["train"])
    assert repo.ran() == ["prepare", "train"]
    assert not (repo.path / "other.txt").exists()


def test_force_reruns_up_to_date_stages(repo: Repo) -> None:
    chain(repo)
    repo.project().repro()
    repo.ran()
    report = repo.project().repro(options=ReproOptions(force=True))
    assert repo.ran() == ["prepare", "train"]
    assert report.results[0].reasons == ("forced",)


def test_modified_out_is_restored_from_the_run_cache(repo: Repo) -> None:
    chain(repo)
    repo.project().repro()
    repo.ran()
    (repo.path / "model.txt").write_text("hand edited\n")
    report = repo.project().repro()
    assert repo.ran() == []
    assert report.results[1].outcome is Outcome.RESTORED
    assert report.results[1].reasons == ("outs: model.txt modified",)
    assert repo.read("model.txt") == "3\n2\n1\n"


def test_modified_out_reruns_without_the_run_cache(repo: Repo) -> None:
    chain(repo)
    repo.project().repro()
    repo.ran()
    (repo.path / "model.txt").write_text("hand edited\n")
    repo.project().repro(options=ReproOptions(run_cache=False))
    assert repo.ran() == ["train"]
    assert repo.read("model.txt") == "3\n2\n1\n"


def test_outs_deleted_before_run_unless_persist(repo: Repo) -> None:
    repo.spec({
        "append": {"cmd": "echo line >> out.txt", "outs": ["out.txt"], "always_changed": True},
        "keep": {"cmd": "echo line >> kept.txt", "outs": ["kept.txt"], "persist": True,
                 "always_changed": True},
    }, commit="spec")
    repo.project().repro()
    repo.project().repro()
    assert repo.read("out.txt") == "line\n"
    assert repo.read("kept.txt") == "line\nline\n"


def test_a_persist_stage_is_not_restored_from_an_earlier_run(repo: Repo) -> None:
    # Its outs are inputs of its own run: the run-cache's entry for the same
    # deps was made from other outs, and would stand in for a run that appends.
    repo.gen({"in.txt": "1\n"})
    repo.spec({"log": {"cmd": ran_cmd("log", "cat in.txt >> log.txt"), "deps": ["in.txt"],
                       "outs": ["log.txt"], "persist": True}})
    for value in ("1", "2", "1"):
        repo.gen({"in.txt": f"{value}\n"})
        done = repo.run("repro")
        assert done.returncode == 0, done.stderr
        assert repo.ran() == ["log"], done.stdout
    assert repo.read("log.txt") == "1\n2\n1\n"
    # Its own lock entry's outs still stand for it (a checkout's restore).
    (repo.path / "log.txt").unlink()
    done = repo.run("repro")
    assert "restored log: from the cache, as gitpipe.lock records" in done.stdout
    assert repo.ran() == [] and repo.read("log.txt") == "1\n2\n1\n"


def test_failure_blocks_downstream_and_keeps_finished_work(repo: Repo) -> None:
    repo.spec({
        "a": {"cmd": ran_cmd("a", "echo a > a.txt"), "outs": ["a.txt"]},
        "bad": {"cmd": ran_cmd("bad", "exit 3"), "deps": ["a.txt"], "outs": ["bad.txt"]},
        "after": {"cmd": ran_cmd("after", "cp bad.txt after.txt"), "deps": ["bad.txt"],
                  "outs": ["after.txt"]},
    }, commit="spec")
    report = repo.project().repro()
    outcomes = {r.task: r.outcome for r in report.results}
    assert outcomes == {"a": Outcome.RAN, "bad": Outcome.FAILED, "after": Outcome.BLOCKED}
    assert "exited with code 3" in report.results[1].message
    assert "a" in repo.project().lock_entries
    assert "bad" not in repo.project().lock_entries
    repo.ran()
    repo.project().repro()
    assert repo.ran() == ["bad"]  # a is not rerun


def test_keep_going_runs_independent_stages(repo: Repo) -> None:
    repo.spec({
        "bad": {"cmd": ran_cmd("bad", "exit 1"), "outs": ["bad.txt"]},
        "good": {"cmd": ran_cmd("good", "echo ok > good.txt"), "outs": ["good.txt"]},
    }, commit="spec")
    stopped = repo.project().repro(options=ReproOptions(jobs=1))
    assert {r.task: r.outcome for r in stopped.results}["good"] is Outcome.CANCELLED
    repo.ran()
    going = repo.project().repro(options=ReproOptions(jobs=1, keep_going=True))
    assert {r.task: r.outcome for r in going.results}["good"] is Outcome.RAN


def test_missing_out_after_success_fails_the_stage(repo: Repo) -> None:
    repo.spec({"lazy": {"cmd": "true", "outs": ["never.txt"]}}, commit="spec")
    report = repo.project().repro()
    assert report.results[0].outcome is Outcome.FAILED
    assert "did not create out 'never.txt'" in report.results[0].message
    assert repo.project().lock_entries == {}


def test_a_missing_out_s_hint_names_it_as_the_command_in_its_wdir_would(repo: Repo) -> None:
    """The error names the out from the project's root; a stage with a
    `wdir` writes it by its name from there, which the hint gives."""
    (repo.path / "src").mkdir()
    (repo.path / "src" / "keep").write_text("")
    repo.spec({"lazy": {"cmd": "echo o > o.txt", "wdir": "src", "outs": ["out/o.txt"]}},
              commit="spec")
    done = repo.run("repro")
    assert done.returncode == 1
    assert done.stderr.splitlines()[:2] == [
        "error: stage 'lazy': the command succeeded but did not create out 'src/out/o.txt'",
        "hint: make the command write 'out/o.txt' (it runs in 'src'), or take it out of "
        "the stage's outs"], done.stderr


def test_an_out_that_is_a_fifo_fails_the_stage_with_a_reason(repo: Repo) -> None:
    repo.spec({"f": {"cmd": "rm -f f.fifo && mkfifo f.fifo", "outs": ["f.fifo"]}},
              commit="spec")
    done = repo.run("repro", timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "crashed" not in done.stderr
    assert "stage 'f': f.fifo: a fifo, socket or device" in done.stdout + done.stderr
    assert repo.project().lock_entries == {}


def test_file_names_that_are_not_utf8_in_directory_deps_and_outs(repo: Repo) -> None:
    # os gives such a name back with surrogates; the stat cache cannot store
    # them as text, the manifest escapes them, checkout restores the bytes.
    odd = b"bad\xff\xfe"
    (repo.path / "d").mkdir()
    (repo.path / "d" / "ok").write_text("a\n")
    (repo.path / os.fsdecode(b"d/" + odd)).write_bytes(b"x")
    repo.spec({"s": {"cmd": "mkdir -p o && cp -R d/. o/", "deps": ["d/"], "outs": ["o/"]}},
              commit="spec")
    first = repo.run("repro")
    assert first.returncode == 0, first.stderr
    assert repo.run("status", "--check").returncode == 0
    (repo.path / os.fsdecode(b"d/" + odd)).write_bytes(b"changed")
    assert "deps: d/ modified" in repo.run("status").stdout
    assert repo.run("repro").returncode == 0
    shutil.rmtree(repo.path / "o")
    assert repo.run("checkout").returncode == 0
    assert (repo.path / os.fsdecode(b"o/" + odd)).read_bytes() == b"changed"
    assert repo.run("status", "--check").returncode == 0


def test_missing_dep_fails_with_hint(repo: Repo) -> None:
    repo.spec({"s": {"cmd": "cat nope.txt > o", "deps": ["nope.txt"], "outs": ["o"]}},
              commit="spec")
    report = repo.project().repro()
    assert report.results[0].outcome is Outcome.FAILED
    assert "dependency 'nope.txt' does not exist" in report.results[0].message


def test_retries_until_success(repo: Repo) -> None:
    # Fails twice (counter file), succeeds on the third attempt.
    cmd = ("n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; "
           "[ $n -ge 3 ] && echo done > out.txt")
    repo.spec({"flaky": {"cmd": cmd, "outs": ["out.txt"], "retries": 2}}, commit="spec")
    report = repo.project().repro(options=ReproOptions(retry_backoff=0.01))
    assert report.results[0].outcome is Outcome.RAN
    assert report.results[0].attempts == 3
    assert repo.read("count") == "3\n"


def test_retries_exhausted_fails(repo: Repo) -> None:
    repo.spec({"never": {"cmd": "echo x >> tries; exit 1", "outs": ["o"], "retries": 1}},
              commit="spec")
    report = repo.project().repro(options=ReproOptions(retry_backoff=0.01))
    assert report.results[0].outcome is Outcome.FAILED
    assert repo.read("tries") == "x\nx\n"


def test_wdir_env_and_stage_environment(repo: Repo) -> None:
    repo.gen({"sub/in.txt": "hello\n"})
    repo.spec({"s": {"cmd": 'echo "$GITPIPE_STAGE $MY_VAR $(cat in.txt)" > out.txt',
                     "wdir": "sub", "deps": ["in.txt"], "outs": ["out.txt"],
                     "env": {"MY_VAR": 42}}}, commit="spec")
    repo.project().repro()
    assert repo.read("sub/out.txt") == "s 42 hello\n"
    assert "sub/out.txt" in {o.path for o in repo.project().lock_entries["s"].outs}


def test_directory_out_and_dep(repo: Repo) -> None:
    repo.spec({
        "make": {"cmd": ran_cmd("make", "mkdir -p d && echo 1 > d/a && echo 2 > d/b"),
                 "outs": ["d/"]},
        "use": {"cmd": ran_cmd("use", "cat d/a d/b > sum.txt"), "deps": ["d/"],
                "outs": ["sum.txt"]},
    }, commit="spec")
    repo.project().repro()
    assert repo.ran() == ["make", "use"]
    (repo.path / "d" / "c").write_text("3\n")
    verdicts = {v.task: v for v in repo.project().status().tasks}
    assert [str(r) for r in verdicts["make"].reasons] == ["outs: d/ modified"]


def test_metrics_are_recorded_but_not_gitignored(repo: Repo) -> None:
    repo.spec({"m": {"cmd": "echo '{\"acc\": 1}' > metrics.json && echo x > model.bin",
                     "metrics": ["metrics.json"], "outs": ["model.bin"]}}, commit="spec")
    repo.run("init", check=True)
    repo.project().repro()
    ignore = repo.read(".gitignore")
    assert "/model.bin" in ignore and "metrics.json" not in ignore
    assert {o.path for o in repo.project().lock_entries["m"].outs} == {"metrics.json",
                                                                       "model.bin"}


@pytest.mark.parametrize("jobs", [1, 2])
def test_lock_is_deterministic(repo: Repo, jobs: int) -> None:
    chain(repo)
    repo.project().repro(options=ReproOptions(jobs=jobs))
    first = repo.read("gitpipe.lock")
    (repo.path / "gitpipe.lock").unlink()
    repo.project().repro(options=ReproOptions(jobs=jobs))
    assert repo.read("gitpipe.lock") == first


def test_failing_stage_leaves_no_partial_out_recorded_or_cached(repo: Repo) -> None:
    repo.spec({"half": {"cmd": "echo partial > out.txt; exit 1", "outs": ["out.txt"]}},
              commit="spec")
    repo.run("init", check=True)
    report = repo.project().repro()
    assert report.results[0].outcome is Outcome.FAILED
    assert "half" not in repo.project().lock_entries
    cache = repo.project().cache
    assert list(cache.all_objects()) == [] and list(cache.run_entries()) == []


def _judged_by_the_runner(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tasks the runner observes (judges), in order, from now on."""
    from gitpipe.engine import runner

    seen: list[str] = []
    real = runner.observe

    def counting(task, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(task.name)
        return real(task, *args, **kwargs)

    monkeypatch.setattr(runner, "observe", counting)
    return seen


def test_tasks_the_prepass_found_up_to_date_are_not_judged_again(
        repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    chain(repo)
    repo.project().repro()
    repo.ran()
    repo.gen({"params.yaml": {"train": {"lr": 0.2, "epochs": 3}}})
    judged = _judged_by_the_runner(monkeypatch)
    report = repo.project().repro()
    assert [r.outcome for r in report.results] == [Outcome.SKIPPED, Outcome.RAN]
    assert repo.ran() == ["train"] and judged == ["train"]


def test_a_lock_written_after_the_prepass_is_judged_afresh(
        repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    from gitpipe.engine.runner import execute
    from gitpipe.pipeline import graph as graph_module
    from gitpipe.project.status import prejudge

    chain(repo)
    repo.project().repro()
    repo.ran()
    repo.gen({"params.yaml": {"train": {"lr": 0.2, "epochs": 3}}})
    project = repo.project()
    nodes = graph_module.plan(project.graph, None)
    prejudged = prejudge(project, nodes)
    assert prejudged.stale and prejudged.up_to_date == {"prepare"}
    # Another gitpipe reruns prepare on new data before this one takes the lock.
    repo.gen({"raw.txt": "9\n"})
    assert repo.run("repro", "prepare").returncode == 0
    repo.gen({"raw.txt": "1\n2\n3\n"})  # and the data goes back: prepare is stale again
    judged = _judged_by_the_runner(monkeypatch)
    report = execute(project, nodes, ReproOptions(), prejudged=prejudged)
    assert [r.outcome for r in report.results] == [Outcome.RESTORED, Outcome.RAN]
    assert judged == ["prepare", "train"] and repo.read("model.txt") == "3\n2\n1\n"


def test_a_first_build_skips_the_read_only_look_for_a_noop(repo: Repo) -> None:
    """With no lock entry at all, every planned stage is stale: the quick path's
    look for a no-op answers "something to run" without loading the pipeline,
    and the CLI builds it."""
    from gitpipe.engine.repro import noop_report

    repo.gen({"a.txt": "a\n"})
    repo.spec({"s": {"cmd": "cat a.txt > s.out", "deps": ["a.txt"], "outs": ["s.out"]}})
    project = repo.project()
    assert noop_report(project) is None
    assert "pipeline" not in project.__dict__ and "graph" not in project.__dict__
    done = repo.run("repro")
    assert done.returncode == 0 and repo.read("s.out") == "a\n", done.stderr
    assert noop_report(repo.project()) is not None  # built: the look answers again
