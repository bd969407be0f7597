"""How a stage's output is cut for the live display: lines, carriage-return
frames, and the verdict words coloured on a terminal."""

from __future__ import annotations

from gitpipe.cli.colour import colour
from gitpipe.executors.local import split_frame, split_lines


def test_a_redrawn_line_is_what_a_terminal_ends_up_showing() -> None:
    lines, rest = split_lines(b"plain\n\r 10%\r 20%\r100%\nwin\r\nhalf")
    assert lines == [b"plain", b"100%", b"win"] and rest == b"half"
    assert split_lines(b"done\r\n")[0] == [b"done"]  # \r\n is a line end, not a frame


def test_frames_of_an_unfinished_line_keep_only_what_is_still_needed() -> None:
    assert split_frame(b"no carriage return") == (b"no carriage return", None)
    # tqdm's way: `\r` first, then the frame.
    assert split_frame(b"\r 10%\r 20%") == (b"\r 20%", b" 20%")
    # The other way: the frame, then `\r`.
    assert split_frame(b"10%\r20%\r") == (b"20%\r", b"20%")
    assert split_frame(b"\r") == (b"\r", None)
    rest, frame = split_frame(b"x" * 10 + b"\r" + b"y" * 5)
    assert rest == b"\r" + b"y" * 5 and frame == b"y" * 5  # bounded by the last frame


def test_verdicts_are_coloured_and_names_are_not() -> None:
    assert colour("train: stale") == "train: \x1b[33mstale\x1b[0m"
    assert colour("a  failed  1.0s") == "a  \x1b[1;31mfailed\x1b[0m  1.0s"
    assert colour("stale_check ran") == "stale_check \x1b[32mran\x1b[0m"
    assert colour("data/ran/x.csv is up to date") == \
        "data/ran/x.csv is \x1b[32mup to date\x1b[0m"
