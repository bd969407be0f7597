"""What `gitpipe repro` shows while and after it runs, on a real pseudo-terminal
where a terminal matters: no bar under a piped stdout, one word per outcome, a
failure said once, a table after Ctrl-C, and `skipped`, not `cancelled`, for
what was up to date when another stage failed."""

from __future__ import annotations

import json

from tests.conftest import Repo
from tests.func.terminal import Terminal, wait_for_file


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


__all__ = ["wait_for_file"]
