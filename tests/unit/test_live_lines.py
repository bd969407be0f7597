"""How a stage's output is cut for the live display: lines, carriage-return
frames, and the verdict words coloured on a terminal."""

from __future__ import annotations

from gitpipe.cli.colour import colour
from gitpipe.executors.output import split_frame, split_lines


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
    assert colour("failed train") == "\x1b[1;31mfailed\x1b[0m train"
    assert colour("a  failed  1.0s") == "a  \x1b[1;31mfailed\x1b[0m  1.0s"
    assert colour("ran stale_check (1.0s)") == "\x1b[32mran\x1b[0m stale_check (1.0s)"
    assert colour("2 of 3 stages stale (1 of 2 items)\neverything is up to date: 3 ran") == \
        ("2 of 3 stages \x1b[33mstale\x1b[0m (1 of 2 items)\n"
         "everything is \x1b[32mup to date\x1b[0m: 3 \x1b[32mran\x1b[0m")
    assert colour("data/ran/x.csv is up to date") == "data/ran/x.csv is up to date"
    # A dry run's stage that the run would refuse, and what it blocks.
    assert colour("would fail clean: deps: x missing\nwould not run train: upstream") == \
        ("\x1b[1;31mwould fail\x1b[0m clean: deps: x missing\n"
         "\x1b[31mwould not run\x1b[0m train: upstream")


def test_a_verdict_word_inside_free_text_stays_plain() -> None:
    # Only the verdict's own place is coloured: a line's first word, the
    # table's result column, a count; never a reason, a message or a name.
    assert colour("    never completed: its last run failed") == \
        "    never completed: its last run failed"
    assert colour("x@2024-01-01 … 2024-01-03, 2024-01-05 (4 of 5)  failed  1.0s  "
                  "never completed: its last run failed; params: s 1 failed") == \
        ("x@2024-01-01 … 2024-01-03, 2024-01-05 (4 of 5)  \x1b[1;31mfailed\x1b[0m  1.0s  "
         "never completed: its last run failed; params: s 1 failed")
    assert colour("would run x: its last run failed") == \
        "\x1b[33mwould run\x1b[0m x: its last run failed"
    assert colour("error: stage 'x': 2 ran, 1 failed") == \
        "\x1b[1;31merror\x1b[0m: stage 'x': 2 ran, 1 failed"
    assert colour("hint: 'a' no longer matches (or its last run failed)") == \
        "hint: 'a' no longer matches (or its last run failed)"
    assert colour("01_prep  cancelled    params: x 3 failed") == \
        "01_prep  cancelled    params: x 3 failed"
    # A task named as a verdict is a name: its status title, its table row.
    assert colour("failed:") == "failed:"
    assert colour("ran  failed  1.0s  new stage") == "ran  \x1b[1;31mfailed\x1b[0m  1.0s  new stage"
