"""A command of plain words, started without a shell, as make starts one.

`/bin/sh -c CMD` is one more program to load for every stage, and for a
short command (`true`, `python fit.py 3`) it costs as much as the command.
Where the shell would do nothing but split CMD on blanks and look its first
word up on PATH, the local executor starts that argv itself: the same
process, environment, exit status and output. Anything the shell would do
more (quotes, `$`, globs, `~`, redirections, `;` `&` `|`, a comment, an
assignment, a reserved word or a builtin that differs from the program of
its name) keeps the shell; so does a program the exec cannot start (missing,
not executable, a script without a `#!`), which the shell then reports (or
runs) as it always did. The one variable a POSIX shell sets for its command,
PWD, is set here as the shell sets it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

# Characters the shell gives a meaning to; one of them anywhere keeps the shell.
_SPECIAL = re.compile(r"[^A-Za-z0-9_\-+./,:@ \t]")

# Reserved words and builtins: words the shell answers itself, differently from
# a program of that name (`cd`, `exit`, `export`…), or that have no program
# (`.`, `:`); `echo`, `printf`, `pwd`, `kill` and `test` differ in details.
# `true` and `false` are not among them: their programs do what the builtins do.
_SHELL_WORDS = frozenset({
    "!", "{", "}", "[[", "]]", "case", "do", "done", "elif", "else", "esac", "fi", "for",
    "function", "if", "in", "select", "then", "time", "until", "while", ".", ":", "[", "alias",
    "bg", "break", "builtin", "cd", "command", "continue", "declare", "echo", "eval", "exec",
    "exit", "export", "fc", "fg", "getopts", "hash", "jobs", "kill", "let", "local", "logout",
    "printf", "pwd", "read", "readonly", "return", "set", "shift", "source", "test", "times",
    "trap", "type", "typeset", "ulimit", "umask", "unalias", "unset", "wait",
})


def plain_argv(cmd: str) -> list[str] | None:
    """The argv `/bin/sh -c cmd` would run, where the shell does nothing else; None
    where it does (the command then runs through the shell)."""
    if _SPECIAL.search(cmd):
        return None
    words = cmd.split()
    if not words or words[0] in _SHELL_WORDS:
        return None
    return words


def shell_pwd(cwd: str, env: Mapping[str, str]) -> str:
    """PWD as `/bin/sh` exports it to its command: the inherited value where it
    names `cwd` (a logical path, through symlinks), else the physical one."""
    inherited = env.get("PWD", "")
    parts = inherited.split("/")
    if inherited.startswith("/") and "." not in parts and ".." not in parts:
        try:
            if os.path.samefile(inherited, cwd):
                return inherited
        except OSError:
            pass
    return os.path.realpath(cwd)
