"""What `gitpipe repro` shows while and after it runs, on a real pseudo-terminal
where a terminal matters: no bar under a piped stdout, one word per outcome, a
failure said once, a table after Ctrl-C, and `skipped`, not `cancelled`, for
what was up to date when another stage failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import jsonschema

from tests.conftest import GIT_ENV, Repo
from tests.func.terminal import Terminal
from tests.func.test_json import SCHEMA, document


def _two_slow(repo: Repo) -> Repo:
    repo.gen({"a.txt": "a"})
    repo.spec({"one": {"cmd": "sleep 0.5; cp a.txt b.txt", "deps": ["a.txt"], "outs": ["b.txt"]},
               "two": {"cmd": "sleep 0.5; cp b.txt c.txt", "deps": ["b.txt"],
                       "outs": ["c.txt"]}}, commit="spec")
    repo.run("init", check=True)
    return repo


def test_a_piped_stdout_draws_no_bar_that_its_reader_would_strand(repo: Repo) -> None:
    # `gitpipe repro | cat`: cat prints the results onto the terminal the bar is
    # drawn on, when it likes; the bar's frames would stay on screen between them.
    _two_slow(repo)
    term = Terminal(repo.path, "repro", through_cat=True)
    assert term.finish() == 0
    plain = term.plain()
    assert "running one" in plain and "2 ran" in plain  # through cat, on the terminal
    assert "0/2" not in plain and "eta" not in plain, plain


def test_json_on_a_pipe_keeps_the_bar_on_the_terminal(repo: Repo) -> None:
    # `repro --json | jq`: the pipe gets the one document, at the end; the lines
    # a person reads go to stderr, the terminal, where the bar is safe.
    _two_slow(repo)
    term = Terminal(repo.path, "repro", "--json", through_cat=True)
    assert term.finish() == 0
    plain = term.plain()
    assert "2/2" in plain and "eta" in plain
    document = json.loads(plain[plain.index('{"schema"'):].splitlines()[0])
    assert document["totals"]["ran"] == 2


def test_a_failure_is_said_once_with_or_without_quiet(repo: Repo) -> None:
    repo.spec({"bad": {"cmd": "echo oops; exit 3", "outs": ["x"]}}, commit="spec")
    repo.run("init", check=True)
    why = "stage 'bad': command exited with code 3"
    quiet = repo.run("-q", "repro")
    assert quiet.returncode == 1 and quiet.stdout == ""
    assert quiet.stderr.count(why) == 1, quiet.stderr
    assert quiet.stderr.startswith(f"error: {why}\nhint: the log is ")
    plain = repo.run("repro")
    assert plain.returncode == 1
    assert (plain.stdout + plain.stderr).count(why) == 1, plain.stdout + plain.stderr
    # As it happens, the live line says only that it failed; why comes last.
    assert "failed bad\n" in plain.stdout and f"error: {why}" in plain.stderr


def test_a_silent_failure_says_it_kept_no_log_not_to_read_an_older_one(repo: Repo) -> None:
    """A log is made at a command's first byte: a command that fails without
    a word leaves none, and the newest log of the stage in .gitpipe/logs/ is
    an earlier run's. Said so, rather than nothing under the error."""
    repo.spec({"bad": {"cmd": "echo first; exit 1", "outs": ["x"]}}, commit="spec")
    repo.run("init", check=True)
    loud = repo.run("repro")
    assert loud.returncode == 1 and "hint: the log is " in loud.stderr
    repo.spec({"bad": {"cmd": "exit 3", "outs": ["x"]}})
    for command in (("repro",), ("-q", "repro")):
        silent = repo.run(*command)
        assert silent.returncode == 1
        assert silent.stderr.splitlines()[-2:] == [
            "error: stage 'bad': command exited with code 3",
            "hint: the command printed nothing, so this run kept no log (any log of this "
            "stage in .gitpipe/logs/ is an earlier run's)"], silent.stderr
    # A refusal before the command (a missing dep) ran nothing: no word of a log.
    repo.spec({"bad": {"cmd": "exit 3", "deps": ["absent.txt"], "outs": ["x"]}})
    refused = repo.run("repro")
    assert refused.returncode == 1 and "printed nothing" not in refused.stderr, refused.stderr


def _stoppable(repo: Repo) -> Repo:
    """`quick` runs at once; `slow` starts, says so, and waits until killed;
    `later` needs it; `apart` is up to date and needs none of them."""
    repo.gen({"a.txt": "a", "apart.txt": "x"})
    repo.spec({"apart": {"cmd": "cp apart.txt apart.out", "deps": ["apart.txt"],
                         "outs": ["apart.out"]}}, commit="first")
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.spec({"quick": {"cmd": "cp a.txt q.txt", "deps": ["a.txt"], "outs": ["q.txt"]},
               "slow": {"cmd": "touch started; echo started; sleep 300", "deps": ["q.txt"],
                        "outs": ["s.txt"]},
               "later": {"cmd": "cp s.txt l.txt", "deps": ["s.txt"], "outs": ["l.txt"]},
               "apart": {"cmd": "cp apart.txt apart.out", "deps": ["apart.txt"],
                         "outs": ["apart.out"]}}, commit="spec")
    return repo


def _started(repo: Repo, term: Terminal) -> None:
    """Until `slow` has started, and a moment more: a person's Ctrl-C comes
    after they read its output, not within a microsecond of its start."""
    term.wait_for(b"[slow] started")
    assert (repo.path / "started").exists()
    time.sleep(0.5)


def test_ctrl_c_prints_how_each_task_ended_and_records_interrupted(repo: Repo) -> None:
    _stoppable(repo)
    term = Terminal(repo.path, "repro", "-j", "1")
    _started(repo, term)
    term.ctrl_c()  # SIGINT to gitpipe's process group, from the terminal
    assert term.finish() == 130
    plain = term.plain()
    assert "Traceback" not in plain and "error: interrupted" in plain
    rows = {line.split()[0]: line.split()[1] for line in plain.splitlines()
            if line.split()[:1] in (["quick"], ["slow"], ["later"], ["apart"])
            and len(line.split()) > 1}
    assert rows == {"quick": "ran", "slow": "interrupted", "later": "cancelled",
                    "apart": "skipped"}, plain
    assert "1 ran, 1 skipped, 1 interrupted, 1 cancelled" in plain
    assert plain.index("1 ran, 1 skipped") < plain.index("error: interrupted")
    # What finished is recorded; the history says the stopped one was interrupted.
    assert set(repo.project().lock_entries) == {"apart", "quick"}
    runs = repo.run("runs", "slow").stdout.splitlines()
    assert "interrupted" in runs[1] and "failed" not in runs[1], runs


def test_ctrl_c_with_json_still_gives_the_document(repo: Repo) -> None:
    _stoppable(repo)
    term = Terminal(repo.path, "repro", "-j", "1", "--json", through_cat=True)
    _started(repo, term)
    term.ctrl_c()
    assert term.finish() == 130
    plain = term.plain()
    document = json.loads(plain[plain.index('{"schema"'):].splitlines()[0])
    jsonschema.validate(document, SCHEMA)
    outcomes = {task["task"]: task["outcome"] for task in document["tasks"]}
    assert outcomes == {"quick": "ran", "slow": "interrupted", "later": "cancelled",
                        "apart": "skipped"}
    assert document["ok"] is False and document["totals"]["interrupted"] == 1


def test_up_to_date_stages_are_skipped_not_cancelled_after_a_failure(repo: Repo) -> None:
    repo.gen({"a.txt": "a", "apart.txt": "x"})
    repo.spec({"apart": {"cmd": "cp apart.txt apart.out", "deps": ["apart.txt"],
                         "outs": ["apart.out"]},
               "next": {"cmd": "cp apart.out next.out", "deps": ["apart.out"],
                        "outs": ["next.out"]}}, commit="first")
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.spec({"bad": {"cmd": "exit 3", "deps": ["a.txt"], "outs": ["b.txt"]},
               "never": {"cmd": "cp a.txt n.txt", "deps": ["a.txt"], "outs": ["n.txt"]},
               "apart": {"cmd": "cp apart.txt apart.out", "deps": ["apart.txt"],
                         "outs": ["apart.out"]},
               "next": {"cmd": "cp apart.out next.out", "deps": ["apart.out"],
                        "outs": ["next.out"]}}, commit="spec")
    done = repo.run("repro", "-j", "1", "--json")
    assert done.returncode == 1
    outcomes = {task["task"]: task["outcome"] for task in document(done, "repro")["tasks"]}
    # `never` would have run: cancelled. `apart` and `next` were up to date.
    assert outcomes == {"bad": "failed", "never": "cancelled", "apart": "skipped",
                        "next": "skipped"}, outcomes


def test_the_bar_counts_a_task_running_from_its_turn_and_its_time_left_counts_down() -> None:
    from gitpipe.cli.console import Ui
    from gitpipe.cli.progress import RunProgress
    from gitpipe.engine.reports import Event

    progress = RunProgress(Ui(), "repro", total=3)
    progress.count(Event("a", "check"))  # judged, hashed, restored: running, not waiting
    assert progress.states() == "ran 0  running 1  waiting 2"
    assert progress.eta() is None and progress.eta_text() == "-:--:--"
    time.sleep(0.4)
    progress.count(Event("a", "done"))
    progress.count(Event("b", "skip"))
    assert progress.states() == "ran 1  running 0  waiting 1  skipped 1"  # the table's word
    first = progress.eta()
    assert first is not None and 0.2 < first <= 0.5
    time.sleep(0.2)
    later = progress.eta()
    assert later is not None and later < first - 0.1  # counted down, not stuck


def test_the_engine_tells_when_a_tasks_turn_comes(repo: Repo) -> None:
    from gitpipe.engine.reports import Event, ReproOptions

    repo.gen({"a.txt": "a"})
    repo.spec({"one": {"cmd": "cp a.txt b.txt", "deps": ["a.txt"], "outs": ["b.txt"]}},
              commit="spec")
    heard: list[Event] = []
    repo.project().repro(listener=heard.append)
    assert [e.kind for e in heard] == ["plan", "check", "start", "done"]
    (repo.path / "b.txt").unlink()
    heard.clear()
    repo.project().repro(options=ReproOptions(force=False), listener=heard.append)
    assert [e.kind for e in heard] == ["plan", "check", "restored"]


def test_the_bar_is_red_only_once_something_failed(repo: Repo) -> None:
    _two_slow(repo)
    fine = Terminal(repo.path, "repro")
    assert fine.finish() == 0
    assert b"\x1b[31m" not in fine.output and b"38;5;197m" not in fine.output
    repo.spec({"bad": {"cmd": "exit 3", "outs": ["x"]},
               "slow": {"cmd": "sleep 1; echo > y", "outs": ["y"]}}, commit="failing")
    failing = Terminal(repo.path, "repro", "-k", "-j", "2")
    assert failing.finish() == 1
    assert "\x1b[31m━" in failing.output.decode(), failing.output[-1500:]


def test_ctrl_c_during_a_backfill_prints_its_table_too(repo: Repo) -> None:
    cmd = ('mkdir -p out; if [ "${date}" = 2024-01-02 ]; then touch started; '
           "echo started; sleep 300; fi; echo ${date} > out/${date}")
    repo.spec({"p": {"partition": {"by": "date", "start": "2024-01-01", "end": "2024-01-03"},
                     "cmd": cmd, "outs": ["out/${date}"]}}, commit="spec")
    repo.run("init", check=True)
    term = Terminal(repo.path, "backfill", "p", "-j", "1")
    term.wait_for(b"started")
    assert (repo.path / "started").exists()
    time.sleep(0.5)
    term.ctrl_c()
    assert term.finish() == 130
    plain = term.plain()
    assert "1 ran, 1 interrupted, 1 cancelled" in plain and "error: interrupted" in plain
    assert "p@2024-01-02  interrupted" in plain, plain


def test_both_streams_into_one_pipe_keep_the_order_a_terminal_shows(repo: Repo) -> None:
    # `gitpipe repro 2>&1 | tee run.log`: every line is flushed as printed,
    # so the stage's output, the table and the closing error arrive in order.
    repo.spec({"a": {"cmd": "echo hello; echo oops >&2; exit 3", "outs": ["a.txt"]}},
              commit="spec")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "gitpipe", "repro"], cwd=repo.path, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = done.stdout.splitlines()
    assert lines[:4] == ["running a: new stage", "[a] hello", "[a] oops", "failed a"], lines
    assert lines.index("1 failed") < lines.index("error: stage 'a': command exited with code 3")
