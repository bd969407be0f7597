"""The quick path (fastpath/quick.py): `status` and a no-op `repro` judged without click
say exactly what the CLI says; everything else is left to the CLI."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from gitpipe.fastpath.seal import seal_path
from tests.conftest import GIT_ENV, Repo
from tests.func.test_backfill import RAW_DAYS, STRICT, daily
from tests.func.test_seal import built, launch, sealed

UNSEALED = {"GITPIPE_NO_SEAL": "1"}
CLI_ONLY = {"GITPIPE_NO_SEAL": "1", "GITPIPE_NO_QUICK": "1"}


def both(repo: Repo, *args: str) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """(exit code, stdout, stderr) through the quick path, then through the CLI;
    asserts the quick path answered without click."""
    quick, loaded = launch(repo, *args, env=UNSEALED)
    assert "gitpipe.project.root" in loaded and "click" not in loaded, (args, loaded)
    cli, loaded = launch(repo, *args, env=CLI_ONLY)
    assert "gitpipe.cli.main" in loaded
    return ((quick.returncode, quick.stdout, _without_marker(quick.stderr)),
            (cli.returncode, cli.stdout, _without_marker(cli.stderr)))


def _without_marker(stderr: str) -> str:
    return "".join(ln + "\n" for ln in stderr.splitlines() if not ln.startswith("LOADED "))


def test_an_up_to_date_status_and_repro_say_what_the_cli_says(repo: Repo) -> None:
    built(repo)
    for args in (["status"], ["status", "--check"], ["repro"], ["repro", "-j", "2"]):
        quick, cli = both(repo, *args)
        assert quick == cli and quick[0] == 0, args
    assert cli[1].endswith("2 skipped\n")


@pytest.mark.parametrize("check", [False, True])
def test_stale_reasons_and_exit_codes_match_the_cli(repo: Repo, check: bool) -> None:
    built(repo)
    (repo.path / "src.py").write_text("print(2)\n")
    (repo.path / "use.txt").unlink()
    args = ["status", "--check"] if check else ["status"]
    quick, cli = both(repo, *args)
    assert quick == cli, (quick, cli)
    assert quick[0] == (1 if check else 0)
    assert "deps: src.py modified" in quick[1] and "outs: use.txt missing" in quick[1]
    assert "\n2 of 2 stages stale\nhint: " in quick[1]


def test_stale_partitions_are_listed_as_the_cli_lists_them(repo: Repo) -> None:
    daily(repo)
    repo.project().repro()
    for day in ("2024-01-03", "2024-01-04", "2024-01-08"):
        repo.gen({f"raw/{day}.txt": "changed\n"})
    quick, cli = both(repo, "status")
    assert quick == cli
    assert "features@2024-01-03, 2024-01-04, 2024-01-08 (3 of 10):" in quick[1]


def test_a_repro_with_work_to_do_runs_without_click(repo: Repo) -> None:
    built(repo)
    (repo.path / "params.yaml").write_text("n: 1\nm: 5\n")
    done, loaded = launch(repo, "repro", env=UNSEALED)
    assert done.returncode == 0 and "click" not in loaded, (done.stderr, loaded)
    assert "use" in done.stdout and "\n1 ran, 1 skipped\n" in done.stdout, done.stdout
    assert "m: 5" in (repo.path / "gitpipe.lock").read_text()
    again, loaded = launch(repo, "status", env=UNSEALED)
    assert again.stdout == "everything is up to date\n" and "click" not in loaded


def _alike(text: str, repo: Repo) -> str:
    """`text` without what differs between two runs: durations, the repository's
    folder, a log's time and process id."""
    text = re.sub(r"\b\d+\.\d+s\b", "T", text.replace(str(repo.path), "REPO"))
    return re.sub(r"-\d{8}T\d{6}-\d+\.log\b", ".log", text)


def run_both(make_repo: Any, prepare: Callable[[Repo], object],
             *args: str) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """(exit code, stdout, stderr) of `args` on two repositories `prepare`d
    alike, through the quick door, then through the CLI (durations left out)."""
    answers = []
    for env, door in ((UNSEALED, "quick"), (CLI_ONLY, "cli")):
        repo = make_repo(door)
        prepare(repo)
        done, loaded = launch(repo, *args, env=env)
        assert ("click" in loaded) == (door == "cli"), (door, loaded, done.stderr)
        answers.append((done.returncode, _alike(done.stdout, repo),
                        _alike(_without_marker(done.stderr), repo)))
    return answers[0], answers[1]


def _changed_params(repo: Repo) -> None:
    built(repo)
    (repo.path / "params.yaml").write_text("n: 3\nm: 5\n")


def _failing_stage(repo: Repo) -> None:
    repo.gen({"in.txt": "x\n"})
    repo.spec({"ok": {"cmd": "cp in.txt ok.txt", "deps": ["in.txt"], "outs": ["ok.txt"]},
               "bad": {"cmd": "echo boom >&2; exit 3", "deps": ["ok.txt"],
                       "outs": ["bad.txt"]}}, commit="spec")


def _dep_outside(repo: Repo) -> None:
    outside = repo.path.parent / f"{repo.path.name}-outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s\n")
    repo.spec({"a": {"cmd": "cat link/secret.txt > a.txt", "deps": ["link/secret.txt"],
                     "outs": ["a.txt"]}}, commit="spec")
    (repo.path / "link").symlink_to(outside)


@pytest.mark.parametrize("prepare, args, code, said", [
    (_changed_params, ["repro"], 0, "2 ran"),
    (_changed_params, ["repro", "-j", "1"], 0, "2 ran"),
    (_failing_stage, ["repro", "--jobs=2"], 1, "1 failed"),
    (_dep_outside, ["repro"], 2, "resolves outside the repository"),
])
def test_a_repro_with_work_to_do_says_what_the_cli_says(
        make_repo: Any, prepare: Callable[[Repo], object], args: list[str], code: int,
        said: str) -> None:
    quick, cli = run_both(make_repo, prepare, *args)
    assert quick == cli, (quick, cli)
    assert quick[0] == code and said in quick[1] + quick[2], quick
    assert "Traceback" not in quick[2]


def test_the_quick_path_seals_its_noop_answer(repo: Repo) -> None:
    built(repo)
    for command in ("status", "repro"):
        first, loaded = launch(repo, command)
        assert first.returncode == 0 and "click" not in loaded
        assert os.path.exists(seal_path(str(repo.path), command))
        again, loaded = launch(repo, command)
        assert (again.stdout, loaded) == (first.stdout, [])


@pytest.mark.parametrize("spec, message, to_cli", [
    ("stages:\n  a:\n    cmd: [unclosed\n", "error: gitpipe.yaml:4: invalid YAML", True),
    ("stages:\n  a:\n    cmd: echo\n    dpes: [x]\n", "unknown field 'dpes'", False),
])
def test_bad_input_is_reported_as_the_cli_reports_it(repo: Repo, spec: str,
                                                     message: str, to_cli: bool) -> None:
    # A status hands the error to the CLI, but an invalid spec (SpecError) it
    # reports itself, as the CLI does, rather than have the CLI parse it again;
    # a first repro finds it in the repro's own run (cli/reprorun.py), which
    # ends as the click group does.
    repo.gen({"gitpipe.yaml": spec})
    repo.age()
    for command in ("status", "repro"):
        done, loaded = launch(repo, command, env=UNSEALED)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        assert ("gitpipe.cli.main" in loaded) == (command == "status" and to_cli), loaded
        assert not os.path.exists(seal_path(str(repo.path), command))
        cli, _ = launch(repo, command, env=CLI_ONLY)
        assert (cli.returncode, cli.stdout, _without_marker(cli.stderr)) == \
            (done.returncode, done.stdout, _without_marker(done.stderr))


def test_outside_a_project_the_cli_says_so(repo: Repo) -> None:
    done, loaded = launch(repo, "status", env=UNSEALED, cwd=repo.path.parent)
    assert done.returncode == 2 and "no gitpipe.yaml" in done.stderr
    assert "gitpipe.cli.main" in loaded


def test_the_order_of_reasons_does_not_depend_on_string_hashing(repo: Repo) -> None:
    daily(repo)
    repo.project().repro()
    for day in ("2024-01-03", "2024-01-08"):
        repo.gen({f"raw/{day}.txt": "changed\n"})
    outputs = {launch(repo, "status", env={**UNSEALED, "PYTHONHASHSEED": str(seed)})[0].stdout
               for seed in range(6)}
    assert len(outputs) == 1, outputs
    assert "report:\n    upstream: agg@2024-01-03, 2024-01-08 (2)\n" in outputs.pop()


@pytest.mark.parametrize("at_once", [True, False])
def test_a_quick_answer_leaves_without_teardown_with_its_exit_code(repo: Repo,
                                                                  at_once: bool) -> None:
    """As the console script runs it, a quick answer ends the process once its
    output is out (no atexit handler, no teardown), with the answer's exit
    code; what it learnt is in the stat cache for the next command."""
    built(repo)
    (repo.path / "src.py").write_text("print(2)\n")
    code = ("import atexit, sys\natexit.register(lambda: sys.stderr.write('teardown'))\n"
            f"from gitpipe.cli.launch import main\nmain(leave_at_once={at_once})\n")
    env = {**os.environ, **GIT_ENV, **UNSEALED, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", code, "status", "--check"], cwd=repo.path,
                          env=env, capture_output=True, text=True)
    assert done.returncode == 1 and "deps: src.py modified" in done.stdout, done.stderr
    assert done.stderr == ("" if at_once else "teardown")
    # The state database is closed as an exit closes it: no write-ahead log is
    # left for the next command to fold in (which would change the project's
    # files under a command that promises to change none, as verify does).
    assert not (repo.path / ".gitpipe" / "state.db-wal").exists()
    mtime_ns = (repo.path / "src.py").stat().st_mtime_ns
    with sqlite3.connect(repo.path / ".gitpipe" / "state.db") as db:
        rows = db.execute("SELECT path FROM stat_cache_ctime WHERE mtime_ns = ?",
                          (mtime_ns,)).fetchall()
    assert any(path.endswith("src.py") for (path,) in rows), rows


COUNT_WALKS = """
import sys
from gitpipe.cli.launch import main
from gitpipe.hashing import walkahead
from gitpipe.storage import workspace

walked = []
walk_files, start_signing = workspace.walk_files, walkahead.start_signing
workspace.walk_files = lambda directory: walked.append(directory) or walk_files(directory)
walkahead.start_signing = lambda found, *held: walked.extend(found) or start_signing(found, *held)
sys.argv = ["gitpipe", "status"]
main(leave_at_once=False)
sys.stderr.write("WALKED " + repr(walked) + "\\n")
"""


def test_a_status_after_a_broken_seal_walks_no_directory_twice(repo: Repo) -> None:
    """The seal's check walked every directory dep before it found the seal
    broken (here by an out touched, nothing stale): the status that follows
    takes those listings, and walks none of them again."""
    sealed(built(repo))
    os.utime(repo.path / "use.txt")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", COUNT_WALKS], cwd=repo.path, env=env,
                          capture_output=True, text=True, check=True)
    assert done.stdout == "everything is up to date\n", done.stderr
    walked = [ln for ln in done.stderr.splitlines() if ln.startswith("WALKED ")]
    assert walked == ["WALKED []"], done.stderr


def test_a_quick_status_runs_no_git_command_and_imports_no_subprocess(repo: Repo) -> None:
    """The first status after a change reads the git index itself
    (git/indexnames.py): `subprocess` (with `signal`, `selectors`) is
    imported only where git's command line is run (git/plumbing.py)."""
    built(repo)
    code = ("import sys\nfrom gitpipe.cli.launch import main\nsys.argv = ['gitpipe', 'status']\n"
            "main(leave_at_once=False)\n"
            "sys.stderr.write(f'SUBPROCESS {\"subprocess\" in sys.modules}')")
    env = {**os.environ, **GIT_ENV, **UNSEALED, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=repo.path, env=env,
                          capture_output=True, text=True, check=True)
    assert done.stdout == "everything is up to date\n"
    assert done.stderr.endswith("SUBPROCESS False"), done.stderr


def test_a_repro_run_through_the_quick_door_leaves_without_teardown(repo: Repo) -> None:
    """A repro with work to do, run by the console script's quick door, ends the
    process once its table is out (no atexit handler runs, no teardown), with
    the run's exit code; the lock, the run history and the state database are
    whole and closed (no write-ahead log left) for the next command."""
    built(repo)
    (repo.path / "src.py").write_text("print(2)\n")
    code = ("import atexit, sys\natexit.register(lambda: sys.stderr.write('teardown'))\n"
            "from gitpipe.cli.launch import main\nmain()\n")
    env = {**os.environ, **GIT_ENV, **UNSEALED, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", code, "repro"], cwd=repo.path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "teardown" not in done.stderr and "prep" in done.stdout, done.stderr
    assert not (repo.path / ".gitpipe" / "state.db-wal").exists()
    with sqlite3.connect(repo.path / ".gitpipe" / "state.db") as db:
        ran = db.execute("SELECT task FROM runs WHERE result = 'ran'").fetchall()
    assert sorted(task for (task,) in ran) == ["prep", "prep", "use", "use"]  # built(): once
    again = repo.run("status", "--check", env=UNSEALED)
    assert again.returncode == 0, again.stdout + again.stderr



@pytest.mark.parametrize(("at_once", "empty_day", "code"),
                         [(True, None, 0), (False, None, 0), (True, "2024-01-04", 1)])
def test_a_backfill_through_the_cli_leaves_without_teardown(repo: Repo, at_once: bool,
                                                            empty_day: str | None,
                                                            code: int) -> None:
    """A backfill (the CLI's door) ends the process once its table is out, as a
    repro through the quick door does: no atexit handler runs, no teardown,
    the run's exit code (1 where a partition failed); the run history and the
    state database are whole and closed (no write-ahead log left) for the
    next command. A caller that goes on after main() gets the usual exit."""
    daily(repo, STRICT)
    if empty_day is not None:
        repo.gen({f"raw/{empty_day}.txt": ""})
    script = ("import atexit, sys\natexit.register(lambda: sys.stderr.write('teardown'))\n"
              f"from gitpipe.cli.launch import main\nmain(leave_at_once={at_once})\n")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", script, "backfill", "features",
                           "--no-downstream", "--concurrency", "1"], cwd=repo.path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == code, done.stdout + done.stderr
    assert ("teardown" not in done.stderr) if at_once else done.stderr.endswith("teardown")
    assert not (repo.path / ".gitpipe" / "state.db-wal").exists()
    with sqlite3.connect(repo.path / ".gitpipe" / "state.db") as db:
        ran = db.execute("SELECT task FROM runs WHERE result = 'ran'").fetchall()
    ran_days = sorted(task for (task,) in ran)
    if empty_day is None:
        assert ran_days == [f"features@{day}" for day in RAW_DAYS]
    else:  # those started before the failure stopped the run
        assert ran_days and f"features@{empty_day}" not in ran_days
    again = repo.run("status", "features", "--check")
    assert again.returncode == code, again.stdout + again.stderr


def test_a_repro_through_the_cli_leaves_without_teardown(repo: Repo) -> None:
    """A repro the quick door leaves to the CLI (`--force`) ends as a backfill
    does: its table out, no atexit handler run, the state database closed."""
    built(repo)
    script = ("import atexit, sys\natexit.register(lambda: sys.stderr.write('teardown'))\n"
              "from gitpipe.cli.launch import main\nmain()\n")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", script, "repro", "--force"], cwd=repo.path,
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "running prep" in done.stdout, done.stdout + done.stderr
    assert "teardown" not in done.stderr, done.stderr
    assert not (repo.path / ".gitpipe" / "state.db-wal").exists()
    assert repo.run("status", "--check", env=UNSEALED).returncode == 0

SLOW_CHECK = """
import sys, time
from gitpipe.cli.launch import main
from gitpipe.fastpath import seal

check = seal.check


def slow_check(command, root=None):
    found = check(command, root)
    time.sleep(1.2)  # a large seal's check, on a loaded machine
    return found


seal.check = slow_check
sys.argv = ["gitpipe", "status"]
main(leave_at_once=False)
"""


def test_a_status_on_a_broken_seals_walks_is_timed_from_the_check(repo: Repo) -> None:
    """The status may answer on listings the seal's check took: its own seal's
    racy window starts when the check did, not when the engine loaded. A
    directory changed just before a check that took longer than that window
    is not sealed (its listing may predate a change in the same clock tick)."""
    sealed(built(repo))
    os.utime(repo.path / "data" / "a.txt")  # the bytes as they were: nothing stale
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", SLOW_CHECK], cwd=repo.path, env=env,
                          capture_output=True, text=True, check=True)
    assert done.stdout == "everything is up to date\n", done.stderr
    assert not os.path.exists(seal_path(str(repo.path), "status")), "sealed within the window"


@pytest.mark.parametrize("door", ["sealed", "quick", "cli"])
def test_an_answer_stdout_cannot_take_is_an_error_not_a_traceback(repo: Repo, door: str) -> None:
    # Every door answers `status` with the same error when its output cannot
    # be written (a full disk): exit 1, the CLI's message, no traceback.
    sealed(built(repo))
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1",
           **({} if door == "sealed" else UNSEALED if door == "quick" else CLI_ONLY)}
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "gitpipe", "status"], cwd=repo.path,
                              env=env, stdout=full, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 1, done.stderr
    assert done.stderr == ("error: unexpected OSError: [Errno 28] No space left on device\n"
                           "hint: rerun with --debug for a traceback\n")


@pytest.mark.parametrize("door", ["quick", "cli"])
@pytest.mark.parametrize("stdout", ["full", "closed"])
def test_a_repro_whose_stdout_fails_still_records_its_run(repo: Repo, door: str,
                                                          stdout: str) -> None:
    """A line stdout cannot take (a full disk, a reader that left), written from
    a worker thread, ends no task's step: the run goes on and is recorded, then
    the command ends as a failed write ends it: a full disk with the CLI's
    error, exit 1; a reader that left with the run's own exit code."""
    built(repo)
    (repo.path / "src.py").write_text("print(2)\n")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", **(UNSEALED if door == "quick" else CLI_ONLY)}
    if stdout == "full":
        target = os.open("/dev/full", os.O_WRONLY)
    else:
        reader, target = os.pipe()
        os.close(reader)
    try:
        done = subprocess.run([sys.executable, "-m", "gitpipe", "repro"], cwd=repo.path, env=env,
                              stdout=target, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(target)
    assert "Traceback" not in done.stderr and "crashed" not in done.stderr, done.stderr
    if stdout == "full":
        assert done.returncode == 1, done.stderr
        assert done.stderr.count("error: unexpected OSError: [Errno 28]") == 1, done.stderr
    else:
        assert done.returncode == 0, done.stderr
    recorded = repo.run("status", "--check", env=UNSEALED)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
