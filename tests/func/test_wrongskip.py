"""Wrong skips: gitpipe must never call something up to date (status, its seal,
repro, the pre-commit hook) when what it depends on changed. Each case is built
for real on a git repository and judged through the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import GIT_ENV, Repo


def git_commit(repo: Repo, message: str) -> subprocess.CompletedProcess[str]:
    """`git add -A && git commit`, with the installed hooks running."""
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.path)}
    repo.git("add", "-A")
    return subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo.path, env=env,
                          capture_output=True, text=True)


def hooked(repo: Repo, spec: str, files: dict[str, str]) -> Repo:
    """A built, committed pipeline of `spec` (gitpipe.yaml's text) with the hooks installed."""
    repo.gen({**files, "gitpipe.yaml": spec})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.run("hooks", "install", check=True)
    assert git_commit(repo, "built").returncode == 0
    return repo


ECHO_X = "stages:\n  s:\n    cmd: echo $X > o.txt\n    outs: [o.txt]\n"
PWD = "stages:\n  s:\n    cmd: pwd > {out}\n{wdir}    outs: [{out}]\n"


@pytest.mark.parametrize(("before", "after", "problem"), [
    (ECHO_X.replace("    outs", "    env: {X: 1}\n    outs"),
     ECHO_X.replace("    outs", "    env: {X: 2}\n    outs"), "env changed: X 1 -> 2"),
    (ECHO_X, ECHO_X.replace("    outs", "    env: {X: 1}\n    outs"),
     "env changed: X added (1)"),
    (PWD.format(out="o.txt", wdir=""), PWD.format(out="../o.txt", wdir="    wdir: sub\n"),
     "wdir changed (. -> sub)"),
], ids=["env value", "env added", "wdir"])
def test_pre_commit_refuses_a_spec_change_the_lock_does_not_record(
        repo: Repo, before: str, after: str, problem: str) -> None:
    # The lock records the env and wdir a stage ran with; status calls the
    # stage stale when they change, and so must the hook.
    hooked(repo, before, {"sub/keep": "k\n"})
    repo.gen({"gitpipe.yaml": after})
    assert "1 of 1 stage stale" in repo.run("status").stdout
    refused = git_commit(repo, "spec without repro")
    assert refused.returncode != 0 and "\n  s:\n" in refused.stderr, refused.stderr
    assert f"\n      {problem}\n" in refused.stderr, refused.stderr
    repo.run("repro", check=True)
    accepted = git_commit(repo, "spec with repro")
    assert accepted.returncode == 0, accepted.stderr


def test_pre_commit_checks_a_commit_of_a_vars_file_alone(repo: Repo) -> None:
    # A vars file changes the command; the commit stages that file alone, so
    # the hook must count it among the pipeline's files.
    spec = "vars:\n  - conf.yaml\nstages:\n  s:\n    cmd: echo ${n} > o.txt\n    outs: [o.txt]\n"
    hooked(repo, spec, {"conf.yaml": "n: 1\n"})
    repo.gen({"conf.yaml": "n: 2\n"})
    refused = git_commit(repo, "vars without repro")
    assert refused.returncode != 0 and "  s:\n      cmd changed" in refused.stderr, refused.stderr
    repo.run("repro", check=True)
    assert git_commit(repo, "vars with repro").returncode == 0


def test_pre_commit_accepts_a_lock_written_before_fingerprint_v2(repo: Repo) -> None:
    # A version-1 entry records no env, wdir or executor settings digest, and
    # status still holds it up to date (its legacy fingerprint matches): the
    # hook must not call those parts changed.
    import yaml

    from gitpipe.hashing.fingerprint import legacy_fingerprint

    spec = ("stages:\n  s:\n    cmd: echo $X > ../o.txt\n    wdir: sub\n"
            "    env: {X: 1}\n    outs: [../o.txt]\n")
    hooked(repo, spec, {"sub/keep": "k\n"})
    lock = yaml.safe_load(repo.read("gitpipe.lock"))
    entry = lock["stages"]["s"]
    task = repo.project().graph.nodes["s"]["task"]
    entry["fingerprint"] = legacy_fingerprint(
        task.cmd, task.env, {}, {}, [(o.path, o.is_dir, o.cache) for o in task.outs], "sub")
    entry.pop("env")
    entry.pop("wdir")
    repo.gen({"gitpipe.lock": yaml.safe_dump(lock)})
    assert "everything is up to date" in repo.run("status").stdout
    accepted = git_commit(repo, "a lock from before fingerprint v2")
    assert accepted.returncode == 0, accepted.stderr


# -- an input changed while its stage runs ----------------------------------------

# Each command changes an input before it reads it, as an editor's save or a
# checkout in another terminal can while the stage runs: its outs are made from
# bytes other than those the stage was judged by.
INPUT_CHANGED_BY_THE_RUN = {
    "file dep": ({"cmd": "echo 2 > a.txt && cat a.txt > o.txt", "deps": ["a.txt"],
                  "outs": ["o.txt"]}, "a.txt"),
    "directory dep": ({"cmd": "echo 2 > d/a.txt && cat d/a.txt > o.txt", "deps": ["d"],
                       "outs": ["o.txt"]}, "d"),
    "params file": ({"cmd": "echo 'p: 2' > params.yaml && cat params.yaml > o.txt",
                     "params": ["p"], "outs": ["o.txt"]}, "params.yaml"),
    "python module": ({"cmd": "echo 'X = 2' > m.py && python3 -c 'import m; print(m.X)' > o.txt",
                       "deps": [{"python": "m.py"}], "outs": ["o.txt"]}, "m.py"),
}


@pytest.mark.parametrize("case", INPUT_CHANGED_BY_THE_RUN)
def test_an_input_changed_while_its_stage_runs_is_not_recorded(repo: Repo, case: str) -> None:
    stage, changed = INPUT_CHANGED_BY_THE_RUN[case]
    repo.gen({"a.txt": "1\n", "d/a.txt": "1\n", "params.yaml": "p: 1\n", "m.py": "X = 1\n"})
    repo.spec({"s": stage})
    repo.run("init", check=True)
    repo.commit("sources")
    done = repo.run("repro")
    assert done.returncode != 0
    assert f"{changed!r} changed while the command ran" in done.stdout + done.stderr
    assert "if its own command writes it, take it out of the stage's deps" in done.stderr
    # The input back as the stage was judged by: the outs were made from the
    # other version, so the stage is still stale (it was up to date, and the
    # run-cache held those outs under this version's fingerprint). Once the
    # command leaves its input alone, a repro runs it.
    repo.git("checkout", "--", ".")
    status = repo.run("status", "--check")
    assert status.returncode == 1 and "1 of 1 stage stale" in status.stdout
    (repo.path / "o.txt").unlink()
    repo.spec({"s": {**stage, "cmd": stage["cmd"].split(" && ", 1)[1]}})
    ran = repo.run("repro")
    assert ran.returncode == 0 and "restored" not in ran.stdout, ran.stdout
    assert repo.read("o.txt").strip() in ("1", "p: 1")


def test_an_input_that_cannot_be_read_after_its_stage_ran_fails_it_cleanly(repo: Repo) -> None:
    # The command leaves its dep a symlink to itself: stat fails with ELOOP,
    # which is no "missing" (was a traceback, "step for s crashed").
    repo.gen({"a.txt": "1\n"})
    repo.spec({"s": {"cmd": "rm a.txt && ln -s a.txt a.txt && echo 2 > o.txt",
                     "deps": ["a.txt"], "outs": ["o.txt"]}})
    repo.run("init", check=True)
    done = repo.run("repro")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "stage 's': 'a.txt' changed while the command ran" in done.stderr, done.stderr


def test_an_input_rewritten_with_the_same_bytes_while_its_stage_runs_is_recorded(
        repo: Repo) -> None:
    repo.gen({"a.txt": "1\n", "params.yaml": "p: 1\n"})
    repo.spec({"s": {"cmd": "echo 1 > a.txt && echo 'p: 1' > params.yaml && cat a.txt > o.txt",
                     "deps": ["a.txt"], "params": ["p"], "outs": ["o.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    assert repo.run("status").stdout.strip() == "everything is up to date"


def test_pre_commit_refuses_a_python_dep_the_lock_does_not_record(repo: Repo) -> None:
    spec = "stages:\n  s:\n    cmd: python3 {0} > o.txt\n    deps: [{{python: {0}}}]\n" \
           "    outs: [o.txt]\n"
    hooked(repo, spec.format("a.py"), {"a.py": "print(1)\n", "b.py": "print(2)\n"})
    repo.gen({"gitpipe.yaml": spec.format("b.py")})
    refused = git_commit(repo, "python dep without repro")
    assert refused.returncode != 0 and "      deps changed\n" in refused.stderr, refused.stderr
    repo.run("repro", check=True)
    accepted = git_commit(repo, "python dep with repro")
    assert accepted.returncode == 0, accepted.stderr


# A command that catches the stop, writes a partial out and exits 0.
CATCHES_STOP = ("trap 'echo partial > o.txt; exit 0' INT TERM HUP; cat in.txt > o.txt; "
                "touch started; sleep 30 & wait")


@pytest.mark.parametrize("jobs", ["1", "2", "8"])
def test_a_command_stopped_by_ctrl_c_that_exits_0_is_not_recorded(repo: Repo, jobs: str) -> None:
    # Ctrl-C while the command runs: it traps the stop and exits 0 with a
    # partial out. The run is interrupted, not recorded: neither it nor the
    # stage after it may be called up to date (the repro's own door, with
    # judging and recording beside the commands for -j > 1).
    repo.gen({"in.txt": "one\n", "gitpipe.yaml": (
        f"stages:\n  s:\n    cmd: {CATCHES_STOP}\n    deps: [in.txt]\n    outs: [o.txt]\n"
        "  t:\n    cmd: cat o.txt > t.txt\n    deps: [o.txt]\n    outs: [t.txt]\n")})
    repo.run("init", check=True)
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gitpipe", "repro", "-j", jobs],
                            cwd=repo.path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not (repo.path / "started").exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert repo.read("o.txt") == "partial\n"
    assert "s      interrupted" in out and "t      cancelled" in out, out
    status = repo.run("status").stdout
    assert "2 of 2 stages stale" in status and "s:\n" in status, status
    assert not (repo.path / "gitpipe.lock").exists() or "o.txt" not in repo.read("gitpipe.lock")
