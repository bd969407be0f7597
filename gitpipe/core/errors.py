"""The error hierarchy: one root carrying the exit code, few subclasses.

Only the CLI (`gitpipe/cli/`) turns these into output; everything below raises them.
"""

from __future__ import annotations

from collections.abc import Iterable

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


class GitpipeError(Exception):
    """Any error gitpipe reports to a user: a message, an optional hint, an exit code."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nhint: {self.hint}"
        return self.message


class BadInputError(GitpipeError):
    """The user's input is wrong (spec, params, lock, config, usage): exit 2."""

    exit_code = EXIT_BAD_INPUT


class IgnoreRulesError(BadInputError, ValueError):
    """A `.gitpipeignore` cannot be used. Also a ValueError, so that the seal's
    fast path, which imports nothing of this module, falls back to the full
    path on it (which then reports it)."""


class SpecError(BadInputError):
    """`gitpipe.yaml` or a params file is invalid; carries every problem found."""

    def __init__(self, problems: list[str], hint: str | None = None) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems), hint)


class NotAProjectError(BadInputError):
    """No git repository or no `gitpipe.yaml` where one is needed."""


class ProjectLockedError(GitpipeError):
    """Another gitpipe process holds the repository's ProjectLock."""


class StageFailedError(GitpipeError):
    """One or more stages failed; the Report says which."""


class RecordError(BadInputError):
    """A record from git or a remote (lock, manifest, run-cache entry, result
    record) breaks the rules for paths or its own form: nothing was written."""


class MissingExtraError(BadInputError):
    """An optional dependency is not installed; the message names the extra."""


def debugging() -> bool:
    """--debug anywhere on the command line, or GITPIPE_DEBUG: errors show
    their traceback (asked by the CLI, and by the engine for a stage's crash)."""
    import os
    import sys

    return "--debug" in sys.argv[1:] or bool(os.environ.get("GITPIPE_DEBUG"))


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A "did you mean 'x'?" hint for a near miss, or None."""
    import difflib  # only for a message: not a cost of every start

    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    # A transposition ('dpes') keeps the letters; prefer such a match
    # over one difflib rates a little higher ('desc').
    same_letters = [c for c in close if sorted(c) == sorted(word)]
    best = (same_letters or close)[:1]
    return f"did you mean {best[0]!r}?" if best else None
