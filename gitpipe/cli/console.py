"""The one output layer of a command: stdout for results, stderr for progress and
diagnostics, the -q/-v levels, colour, and the live display (a progress bar)
that every line printed while it runs goes above, so lines never garble.

Every command prints through the `Ui` of its click context (`ui_of`); code
without a context (a thread of `watch`, the console script's quick door) is
handed the Ui. No click import here: the quick door runs a repro with it."""

from __future__ import annotations

import codecs
import os
import re
import stat
import sys
import threading
from typing import TYPE_CHECKING, Any

from gitpipe.cli import colour

if TYPE_CHECKING:
    import click
    from rich.console import Console

CLEAR_LINE = "\r\x1b[K"  # back to the line's start and erase it (not a colour)


class Ui:
    """How much a command says and where: `quiet` keeps errors, warnings and the
    results a script reads; `verbose` adds detail (each stage's reasons, timings)."""

    def __init__(self, quiet: bool = False, verbose: bool = False) -> None:
        self.quiet = quiet
        self.verbose = verbose and not quiet
        self.lock = threading.RLock()
        self.live: Any = None  # the rich Progress running now, if any
        self._partial = False  # a stage's `\r` frame is on stdout, unfinished
        self._consoles: dict[bool, Console] = {}
        self._streams: dict[bool, _Stream] = {}

    # -- where things go --------------------------------------------------------

    def console(self, err: bool = False) -> Console:
        """The rich Console for stdout or stderr (one each, made when first used)."""
        if err not in self._consoles:
            from rich.console import Console

            tty = _isatty(sys.stderr if err else sys.stdout)
            self._consoles[err] = Console(
                stderr=err, highlight=False, soft_wrap=True, force_terminal=tty,
                no_color=bool(os.environ.get("NO_COLOR")) or not tty)
        return self._consoles[err]

    def stream(self, err: bool = False) -> _Stream:
        """Where a line goes now (stdout, or stderr with `err`), asked whether it
        is a terminal and how it encodes once, not for every line: a stream's
        answers do not change while it is the one in sys.stdout (a test that
        swaps sys.stdout for another stream gets that one asked afresh)."""
        current = sys.stderr if err else sys.stdout
        known = self._streams.get(err)
        if known is None or known.stream is not current:
            known = self._streams[err] = _Stream(current)
        return known

    def shows_progress(self) -> bool:
        """Progress is for a person at a terminal: on when stderr is a TTY and the
        command is not quiet. NO_COLOR takes colour away, never the progress.

        Off when stdout goes to a pipe (`gitpipe repro | cat`, `| tee`, `| less`):
        its reader prints the lines onto the same terminal when it likes, under
        the bar's cursor, and the bar's frames stay on screen. A file or a
        terminal on stdout keeps the bar."""
        return not self.quiet and _isatty(sys.stderr) and not _feeds_a_reader(sys.stdout)

    # -- printing ---------------------------------------------------------------

    def result(self, text: str, err: bool = False, styled: bool = False) -> None:
        """A line a script may read (or a diagnostic, with `err`): always printed.
        `styled` colours the verdict words in it on a terminal (cli/colour.py)."""
        out = self.stream(err)
        if styled and out.tty and colour.wanted_on_a_terminal():
            text = colour.colour(text)
        with self.lock:
            self._end_partial()
            if self.live is not None and out.tty:
                self._above_live(text)
                return
            out.echo(text, err)

    def _above_live(self, text: str) -> None:
        """A line above the live display, through the console that draws it,
        in one write with the display redrawn under it. Rich redraws the frame
        it drew last: where the display changed since, it is drawn afresh
        first, so the frame under the line is the one as it is now."""
        from rich.text import Text

        live = self.live
        with live.console:
            if getattr(live, "changed", False):
                live.refresh()
            live.console.print(Text.from_ansi(text), soft_wrap=True)

    def info(self, text: str, err: bool = False, styled: bool = False) -> None:
        """A line for the person watching (what runs, what moved): not under -q."""
        if not self.quiet:
            self.result(text, err, styled)

    def detail(self, text: str, err: bool = False, styled: bool = False) -> None:
        """A line only -v asks for."""
        if self.verbose:
            self.result(text, err, styled)

    def error(self, text: str) -> None:
        self.result(text, err=True, styled=True)

    def frame(self, text: str) -> None:
        """A `\\r` frame of a stage's own progress bar, redrawn in place on a
        terminal; nowhere else (a log gets the finished line)."""
        out = self.stream()
        if self.quiet or not out.tty:
            return
        with self.lock:
            stream = out.stream
            stream.write(CLEAR_LINE + text)
            stream.flush()
            self._partial = True

    def _end_partial(self) -> None:
        if self._partial:
            stream = sys.stdout
            stream.write(CLEAR_LINE)
            stream.flush()
            self._partial = False


# The control sequences (ECMA-48's CSI form: colours, cursor moves) taken out
# of a line bound for a file or a pipe, as click.echo takes them out.
_ANSI = re.compile(r"\033\[[0-?]*[ -/]*[@-~]")


class _Stream:
    """stdout or stderr, with what a line printed on it needs to know of it."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.tty = _isatty(stream)
        self.ascii = stream is not None and _is_ascii(stream)

    def echo(self, text: str, err: bool) -> None:
        """One line, written as `click.echo` writes it: colour and other escape
        sequences stripped unless the stream is a terminal, flushed. A stream
        whose encoding is plain ASCII goes through click itself, which rewraps
        it as UTF-8."""
        stream = self.stream
        if stream is None:
            return
        if self.ascii:
            import click

            click.echo(text, err=err)
            return
        if not self.tty:
            text = _ANSI.sub("", text)
        stream.write(text + "\n")
        stream.flush()


def _is_ascii(stream: Any) -> bool:
    try:
        return codecs.lookup(stream.encoding or "ascii").name == "ascii"
    except (AttributeError, LookupError):
        return True


def _feeds_a_reader(stream: Any) -> bool:
    """Is `stream` a pipe or a socket, read by another process?"""
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


_KEY = "gitpipe.ui"


def ui_of(ctx: click.Context | None = None) -> Ui:
    """The Ui of the running command (-q/-v from the group); a default one
    outside a command."""
    import click

    ctx = ctx or click.get_current_context(silent=True)
    if ctx is None:
        return Ui()
    root = ctx.find_root()
    if _KEY not in root.meta:
        root.meta[_KEY] = Ui()
    ui: Ui = root.meta[_KEY]
    return ui


def set_ui(ctx: click.Context, quiet: bool, verbose: bool) -> Ui:
    ctx.find_root().meta[_KEY] = Ui(quiet, verbose)
    return ui_of(ctx)
