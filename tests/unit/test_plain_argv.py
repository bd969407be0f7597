"""Commands of plain words start without a shell (as make starts them), and
nothing a command can observe changes: argv, environment, cwd, exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitpipe.executors.base import Job
from gitpipe.executors.local import _start
from gitpipe.executors.plainargv import plain_argv, shell_pwd

PROBE = """\
import os, sys
print(sys.argv[1:])
print(os.getcwd())
print(sorted((k, v) for k, v in os.environ.items() if k not in ("_", "SHLVL")))
sys.stdout.flush()
sys.exit(int(sys.argv[-1]) if sys.argv[-1].isdigit() else 0)
"""


@pytest.mark.parametrize("cmd, argv", [
    ("true", ["true"]),
    ("python fit.py 3", ["python", "fit.py", "3"]),
    ("  git\tlog   --oneline ", ["git", "log", "--oneline"]),
    ("./run.sh a,b x:y user@host +1 -q", ["./run.sh", "a,b", "x:y", "user@host", "+1", "-q"]),
])
def test_plain_words_are_the_argv(cmd: str, argv: list[str]) -> None:
    assert plain_argv(cmd) == argv


@pytest.mark.parametrize("cmd", [
    "", "   ", "sh s.sh data/*", "a?", "a[1]", "FOO=1 cmd", "--opt=1", "cd sub", "exit 3",
    "export A", "echo hi", "pwd", "test -f x", ". ./env", ": nothing", "if true", "a > b",
    "a < b", "a | b", "a; b", "a && b", "a &", "(a)", "{ a; }", "x $HOME", "x ${A}",
    "`a`", "~/bin/x", "a # comment", "'a b'", '"a b"', "a\\ b", "a\nb", "!a", "%1", "é",
])
def test_anything_the_shell_would_do_keeps_the_shell(cmd: str) -> None:
    assert plain_argv(cmd) is None


def test_pwd_is_what_the_shell_exports(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    assert shell_pwd(str(real), {"PWD": str(link)}) == str(link)  # logical, kept
    assert shell_pwd(str(real), {"PWD": str(tmp_path)}) == str(real)  # stale: physical
    assert shell_pwd(str(real), {"PWD": f"{link}/../real"}) == str(real)
    assert shell_pwd(str(real), {}) == str(real)


def _observed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          check=False)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("words", ["a b", "--flag x/y 3", "z"])
def test_a_command_sees_the_same_started_directly_as_through_the_shell(
        tmp_path: Path, words: str) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "probe.py").write_text(PROBE)
    (tmp_path / "link").symlink_to(real)
    cmd = f"{sys.executable} probe.py {words}"
    for pwd in (str(tmp_path / "link"), str(tmp_path), None):
        env = {**os.environ}
        env.pop("PWD", None)
        if pwd is not None:
            env["PWD"] = pwd
        job = Job("t", cmd, real, env, tmp_path / "log")
        process = _start(job)
        output, _ = process.communicate()
        direct = (process.returncode, output.decode())
        assert direct == _observed(["/bin/sh", "-c", cmd], real, env)
        assert process.args == cmd.split()  # started without the shell


def test_what_the_exec_cannot_start_goes_to_the_shell(tmp_path: Path) -> None:
    (tmp_path / "noshebang").write_text("echo ran by the shell\n")
    (tmp_path / "noshebang").chmod(0o755)
    env = {**os.environ}
    for cmd, code, said in (("./noshebang", 0, "ran by the shell"),
                            ("no-such-program-gp x", 127, "not found")):
        process = _start(Job("t", cmd, tmp_path, env, tmp_path / "log"))
        output, _ = process.communicate()
        assert process.returncode == code and said in output.decode()
        assert process.args == ["/bin/sh", "-c", cmd]
