"""A stage whose command is plain words runs it as a program, without a shell;
what the shell would do more keeps the shell, and failures read as before."""

from __future__ import annotations

import os

from tests.conftest import Repo


def test_a_plain_command_runs_the_program_of_its_name(repo: Repo) -> None:
    # `true` is a shell builtin: only a run without the shell starts the program
    # of that name, which this one (first on PATH) makes visible.
    repo.gen({"bin/true": "#!/bin/sh\necho program > ran.txt\n"})
    os.chmod(repo.path / "bin/true", 0o755)
    path = f"{repo.path / 'bin'}:{os.environ['PATH']}"
    repo.spec({"plain": {"cmd": "true", "env": {"PATH": path}, "outs": ["ran.txt"]}},
              commit="pipeline")
    repo.run("repro", check=True)
    assert repo.read("ran.txt") == "program\n"


def test_a_command_with_shell_syntax_still_runs_in_the_shell(repo: Repo) -> None:
    repo.gen({"in.txt": "b\na\n"})
    repo.spec({"sh": {"cmd": "X=1; sort in.txt > out.txt && echo $X >> out.txt",
                      "deps": ["in.txt"], "outs": ["out.txt"]}}, commit="pipeline")
    repo.run("repro", check=True)
    assert repo.read("out.txt") == "a\nb\n1\n"


def test_a_missing_program_fails_as_the_shell_reports_it(repo: Repo) -> None:
    repo.spec({"gone": {"cmd": "no-such-program-gp --flag", "outs": ["x.txt"]}},
              commit="pipeline")
    done = repo.run("repro")
    assert done.returncode == 1
    assert "exited with code 127" in done.stdout + done.stderr
    logs = list((repo.path / ".gitpipe" / "logs").rglob("*"))
    assert any("not found" in p.read_text() for p in logs if p.is_file())
