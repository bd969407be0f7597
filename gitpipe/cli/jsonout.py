"""`--json`: one document on stdout and nothing else there (docs/reference/json.md).

While a command runs with `--json`, whatever it would print on stdout (live
stage output, summary lines) goes to stderr instead; the document is written
to the real stdout. A command that fails before it has a document prints an
error document, then fails as without `--json` (message on stderr, exit code).
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable
from typing import IO, Any

import click

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpipe.usecases.gitadvice import GitAdvice

_KEY = "gitpipe.json"
JSON_HELP = "Print one JSON document on stdout (docs/reference/json.md)."


def json_option(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command `--json`: its body runs inside a JsonOutput of `kind`,
    which `json_out(ctx)` hands back to it."""
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def command(*args: Any, as_json: bool, **kwargs: Any) -> Any:
            ctx = click.get_current_context()
            with JsonOutput(as_json, kind) as out:
                ctx.meta[_KEY] = out
                return func(*args, **kwargs)
        return click.option("--json", "as_json", is_flag=True, help=JSON_HELP)(command)
    return decorate


def git_add_json(advice: GitAdvice | None) -> dict[str, Any]:
    """The `git_add` field of a document: what the command changed for git
    to track, or null where it said nothing of it (a failed run)."""
    return {"git_add": None if advice is None else advice.to_json()}


def json_out(ctx: click.Context) -> JsonOutput | None:
    """The command's JsonOutput when it was asked for `--json`, else None."""
    out = ctx.meta.get(_KEY)
    return out if isinstance(out, JsonOutput) and out.enabled else None


class JsonOutput:
    """Swaps stdout for stderr while the command works; `emit` writes the one
    document to the real stdout. Disabled, it changes nothing."""

    def __init__(self, enabled: bool, kind: str) -> None:
        self.enabled = enabled
        self.kind = kind
        self._stdout: IO[str] | None = None
        self._redirect: contextlib.redirect_stdout[Any] | None = None
        self._emitted = False

    def __enter__(self) -> JsonOutput:
        if self.enabled:
            self._stdout = sys.stdout
            self._redirect = contextlib.redirect_stdout(sys.stderr)
            self._redirect.__enter__()
        return self

    def emit(self, document: dict[str, Any]) -> None:
        """Write the command's one document to the real stdout."""
        if self._stdout is None or self._emitted:
            return
        self._emitted = True
        click.echo(json.dumps(document, ensure_ascii=False), file=self._stdout)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if not self.enabled:
            return
        if self._redirect is not None:
            self._redirect.__exit__(None, None, None)
        # A click exit (`ctx.exit(1)` after the document), Ctrl-C and a reader
        # that left are not failures to describe; any other error is.
        if exc is None or isinstance(exc, (click.exceptions.Exit, click.Abort,
                                           KeyboardInterrupt, BrokenPipeError)):
            return
        if isinstance(exc, Exception) and not isinstance(exc, click.ClickException):
            from gitpipe.core.jsondoc import error_document

            self.emit(error_document(self.kind, exc))
