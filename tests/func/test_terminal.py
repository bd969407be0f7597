"""What a person at a terminal sees, on a real pty: progress bars with totals,
a stage's output as it is written (its `\\r` frames redrawn), colour unless
NO_COLOR; and what a pipe gets instead: none of it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import Repo
from tests.func.terminal import ANSI, COLOUR, Terminal, wait_for_file

STAGE = ("import os, sys, time\n"
         "print('first line')\n"  # no flush: the stage runs unbuffered by default
         + wait_for_file("go") +
         "sys.stdout.write('\\rhalf way')\n"
         + wait_for_file("go2") +
         "sys.stdout.write('\\rall done\\n')\n"
         "open('slow.txt', 'w').write('x')\n")


def _pipeline(repo: Repo) -> Repo:
    repo.gen({"stage.py": STAGE})
    repo.spec({"slow": {"cmd": "python3 stage.py", "deps": ["stage.py"], "outs": ["slow.txt"]},
               "after": {"cmd": "cat slow.txt > after.txt", "deps": ["slow.txt"],
                         "outs": ["after.txt"]}}, commit="spec")
    repo.run("init", check=True)
    return repo


def test_stage_output_arrives_as_written_under_a_bar_with_its_total(repo: Repo) -> None:
    _pipeline(repo)
    term = Terminal(repo.path, "repro")
    first = term.wait_for(b"[slow] first line")  # while the stage waits for `go`
    term.wait_for(b"0/2")  # the bar, with the plan's total
    (repo.path / "go").touch()
    frame = term.wait_for(b"half way")  # a frame without a newline, shown at once
    assert frame > first
    (repo.path / "go2").touch()
    assert term.finish() == 0
    plain = term.plain()
    assert "[slow] all done" in plain
    # The frame was redrawn, never printed as a line of its own.
    assert "[slow] half way" not in plain
    assert "2/2" in plain and "eta" in plain
    assert COLOUR.search(term.output)  # a terminal without NO_COLOR gets colour
    log = next((repo.path / ".gitpipe/logs").glob("slow-*.log")).read_bytes()
    assert b"first line\n\rhalf way\rall done\n" in log  # the log keeps every byte


def test_no_color_keeps_the_bar_and_drops_only_colour(repo: Repo) -> None:
    _pipeline(repo)
    (repo.path / "go").touch()
    (repo.path / "go2").touch()
    term = Terminal(repo.path, "repro", env={"NO_COLOR": "1"})
    assert term.finish() == 0
    assert "2/2" in term.plain() and "eta" in term.plain()
    assert not COLOUR.search(term.output), term.output[-800:]


def test_a_pipe_gets_no_bar_no_frames_and_no_escapes(repo: Repo) -> None:
    _pipeline(repo)
    (repo.path / "go").touch()
    (repo.path / "go2").touch()
    done = repo.run("repro", env={"FORCE_COLOR": "1", "TERM": "xterm-256color"})
    assert done.returncode == 0, done.stderr
    both = done.stdout + done.stderr
    assert not ANSI.search(both.encode()) and "\r" not in both
    assert "eta" not in both and "0/2" not in both
    assert "[slow] first line\n[slow] all done\n" in done.stdout


def test_a_redirected_stdout_keeps_the_results_while_the_bar_is_on_stderr(
        repo: Repo, tmp_path: Path) -> None:
    _pipeline(repo)
    (repo.path / "go").touch()
    (repo.path / "go2").touch()
    with open(tmp_path / "out.txt", "wb") as out:
        term = Terminal(repo.path, "repro", stdout=out)
        assert term.finish() == 0
    assert "2/2" in term.plain()  # the bar, on the terminal
    assert "first line" not in term.plain()
    written = (tmp_path / "out.txt").read_text()
    assert "[slow] first line\n[slow] all done\n" in written and "\x1b" not in written


def test_quiet_prints_errors_only_and_verbose_adds_timings(repo: Repo) -> None:
    _pipeline(repo)
    (repo.path / "go").touch()
    (repo.path / "go2").touch()
    quiet = repo.run("-q", "repro")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    repo.gen({"stage.py": STAGE + "raise SystemExit(3)\n"})
    failed = repo.run("--quiet", "repro")
    assert failed.returncode == 1 and failed.stdout == ""
    assert "error: " in failed.stderr and "slow" in failed.stderr
    repo.gen({"stage.py": STAGE + "# changed\n"})
    verbose = repo.run("-v", "repro")
    assert verbose.returncode == 0, verbose.stderr
    assert "running slow: " in verbose.stdout
    assert "ran slow (" in verbose.stdout and "s)" in verbose.stdout  # its time
    again = repo.run("-v", "repro", "-f", "after")
    assert "up to date slow" in again.stdout or "ran after (" in again.stdout
    for summary in (("validate",), ("commit",), ("hooks", "install")):
        said = repo.run(*summary)
        assert said.returncode == 0 and said.stdout, said.stderr
        assert repo.run("-q", *summary).stdout == ""
    both = repo.run("-q", "-v", "status")
    assert both.returncode == 2 and "contradict" in both.stderr


def test_the_global_flags_work_after_the_command_too(repo: Repo) -> None:
    _pipeline(repo)
    (repo.path / "go").touch()
    (repo.path / "go2").touch()
    quiet = repo.run("repro", "-q")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == "", quiet.stdout
    assert "ran after (" not in repo.run("repro", "-f", "after").stdout
    assert "ran after (" in repo.run("repro", "-f", "after", "--verbose").stdout
    assert repo.run("hooks", "install", "-q").stdout == ""
    both = repo.run("status", "-v", "--quiet")
    assert both.returncode == 2 and "contradict" in both.stderr


def test_push_pull_and_fsck_show_known_totals(repo: Repo, tmp_path: Path) -> None:
    repo.gen({"make.py": "import os\nos.makedirs('data', exist_ok=True)\n"
              "for i in range(3):\n    open(f'data/{i}.bin', 'wb').write(os.urandom(50_000))\n"})
    repo.spec({"make": {"cmd": "python3 make.py", "deps": ["make.py"], "outs": ["data/"]}},
              commit="spec")
    repo.run("init", check=True)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    repo.run("repro", check=True)
    push = Terminal(repo.path, "push")
    assert push.finish() == 0
    # Three files, the manifest and the run entry, and their bytes, known beforehand.
    assert "5/5 files" in push.plain() and "0/5 files" in push.plain()
    assert "/?" not in push.plain()  # never an unknown total
    fsck = Terminal(repo.path, "fsck")
    assert fsck.finish() == 0
    assert "4/4 checked" in fsck.plain()
    repo.commit("outs and remote")
    clone = repo.clone_to(tmp_path / "clone")
    pull = Terminal(clone.path, "pull")
    assert pull.finish() == 0, pull.plain()
    # The manifest first (what it lists is known once it is read), then its files.
    assert "0/1 files" in pull.plain() and "4/4 files" in pull.plain()
    assert re.search(r" (146\.\d)/\1 KiB ", pull.plain()), pull.plain()
    quiet = clone.run("-q", "pull")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""


def test_hashing_a_large_directory_shows_its_files_on_a_terminal_only(repo: Repo) -> None:
    from gitpipe.hashing.coldscan import PROGRESS_FILES

    files = {f"raw/{n // 100}/{n}.txt": str(n) for n in range(PROGRESS_FILES + 10)}
    repo.gen(files)
    repo.spec({"count": {"cmd": "ls -R raw | wc -l > n.txt", "deps": ["raw/"],
                         "outs": ["n.txt"]}}, commit="spec")
    repo.run("init", check=True)
    total = f"{PROGRESS_FILES + 10}/{PROGRESS_FILES + 10}"
    for env in ({}, {"GITPIPE_NO_QUICK": "1"}):  # the quick door and the CLI's
        (repo.path / ".gitpipe/state.db").unlink(missing_ok=True)  # hashed afresh
        term = Terminal(repo.path, "status", env={"GITPIPE_NO_SEAL": "1", **env})
        assert term.finish() == 0
        assert "hashing raw" in term.plain() and total in term.plain(), term.plain()
    (repo.path / ".gitpipe/state.db").unlink()
    piped = repo.run("status", env={"GITPIPE_NO_SEAL": "1"})
    assert "hashing" not in piped.stdout + piped.stderr and "count" in piped.stdout


def test_status_colours_its_verdicts_on_both_doors_unless_no_color(repo: Repo) -> None:
    _pipeline(repo)
    for env in ({}, {"GITPIPE_NO_QUICK": "1"}):
        term = Terminal(repo.path, "status", env={"GITPIPE_NO_SEAL": "1", **env})
        assert term.finish() == 0
        assert b"\x1b[33mstale\x1b[0m" in term.output, term.output
    term = Terminal(repo.path, "status", env={"NO_COLOR": "1"})
    assert term.finish() == 0
    assert b"stale" in term.output and not COLOUR.search(term.output)


def test_backfill_lines_start_on_their_own_line_above_the_bar(repo: Repo) -> None:
    part = {"by": "date", "start": "2024-01-01", "end": "2024-01-06"}
    repo.spec({"p": {"partition": part, "outs": ["out/${date}.txt"],
                     "cmd": "mkdir -p out && echo hello ${date} && sleep 0.3 "
                            "&& echo x > out/${date}.txt"}}, commit="spec")
    repo.run("init", check=True)
    term = Terminal(repo.path, "backfill", "p", "-c", "2")
    assert term.finish() == 0, term.plain()
    assert "6/6" in term.plain() and "ran 6" in term.plain()
    lines = rb"(\x1b\[36m)?running(\x1b\[0m)? p@|\[p@2024-01-0\d\] hello"
    found = list(re.finditer(lines, term.output))
    assert len(found) == 12
    for match in found:
        before = ANSI.sub(b"", term.output[:match.start()])
        # At the start of a line: never run into the bar's line.
        assert before.endswith((b"\n", b"\r")), before[-200:]


def test_only_the_verdict_is_coloured_never_a_word_of_a_reason(repo: Repo) -> None:
    # `its last run failed` is a reason: its `failed` is text, not a verdict.
    repo.spec({"bad": {"cmd": "exit 3", "outs": ["never.txt"]}}, commit="spec")
    repo.run("init", check=True)
    repo.run("repro")
    reason = b"never completed: its last run failed"
    for env in ({}, {"GITPIPE_NO_QUICK": "1"}):  # the quick door and the CLI's
        term = Terminal(repo.path, "status", env={"GITPIPE_NO_SEAL": "1", **env})
        assert term.finish() == 0
        assert b"    " + reason in term.output, term.output
        assert b"1 stage \x1b[33mstale\x1b[0m" in term.output, term.output
    term = Terminal(repo.path, "repro")
    assert term.finish() == 1
    row = re.search(rb"bad +\x1b\[1;31mfailed\x1b\[0m +[0-9.]+s +" + reason, term.output)
    assert row, term.output


def test_a_line_printed_above_the_bar_leaves_the_bar_as_it_is_now(repo: Repo) -> None:
    # A task fails: its count goes up, then `failed bad` is printed above the
    # bar. The bar drawn under that line is the one with the failure counted,
    # not the frame drawn before it, left on screen until the next tick.
    repo.gen({"slow.py": "import os, time\n" + wait_for_file("go") +
              "open('slow.txt', 'w').write('x')\n"})
    repo.spec({"bad": {"cmd": "exit 3", "outs": ["bad.txt"]},
               "slow": {"cmd": "python3 slow.py", "deps": ["slow.py"], "outs": ["slow.txt"]}},
              commit="spec")
    repo.run("init", check=True)
    term = Terminal(repo.path, "repro", "-k", "-j", "2")
    term.wait_for(b"failed\x1b[0m bad")
    (repo.path / "go").touch()
    assert term.finish() == 1
    after = term.plain().split("failed bad", 1)[1]
    frame = after.split("\r")[1]  # the bar under the line, up to its next redraw
    assert "1/2" in frame and "failed 1" in frame, after[:400]
