"""The console asks a stream whether it is a terminal once, not for every line it
prints (a build prints a line or two per stage), and asks a stream that takes
sys.stdout's place afresh."""

from __future__ import annotations

import io
import sys

import pytest

from gitpipe.cli.console import Ui


class CountingStream(io.StringIO):
    """A text stream that says whether it is a terminal and counts the asks."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty
        self.asked = 0

    def isatty(self) -> bool:
        self.asked += 1
        return self.tty

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"


@pytest.mark.parametrize("tty", [False, True])
def test_a_stream_is_asked_once_for_many_lines(monkeypatch: pytest.MonkeyPatch,
                                               tty: bool) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = CountingStream(tty)
    monkeypatch.setattr(sys, "stdout", out)
    ui = Ui()
    for n in range(20):
        ui.info(f"s{n:04d}  ran     0.00s  \x1b[1mnew\x1b[0m stage", styled=True)
    assert out.asked == 1
    lines = out.getvalue().splitlines()
    assert len(lines) == 20
    # escapes are kept on a terminal (the verdict coloured too), taken out elsewhere
    assert ("\x1b[" in lines[0]) == tty
    assert lines[0].startswith("s0000  ") and "new stage" in lines[0].replace("\x1b[1m", "") \
        .replace("\x1b[0m", "")


def test_a_stream_that_takes_stdouts_place_is_asked_afresh(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    first, second = CountingStream(True), CountingStream(False)
    ui = Ui()
    monkeypatch.setattr(sys, "stdout", first)
    ui.info("\x1b[1mone\x1b[0m")
    monkeypatch.setattr(sys, "stdout", second)
    ui.info("\x1b[1mtwo\x1b[0m")
    ui.info("three")
    assert first.getvalue() == "\x1b[1mone\x1b[0m\n"
    assert second.getvalue() == "two\nthree\n"
    assert (first.asked, second.asked) == (1, 1)


def test_no_color_is_read_at_each_line(monkeypatch: pytest.MonkeyPatch) -> None:
    out = CountingStream(True)
    monkeypatch.setattr(sys, "stdout", out)
    ui = Ui()
    monkeypatch.delenv("NO_COLOR", raising=False)
    ui.info("s1  failed", styled=True)
    monkeypatch.setenv("NO_COLOR", "1")
    ui.info("s2  failed", styled=True)
    coloured, plain = out.getvalue().splitlines()
    assert "\x1b[" in coloured and plain == "s2  failed"
