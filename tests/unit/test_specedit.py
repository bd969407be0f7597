"""gitpipe.yaml without some stages, edited as text (pipeline/specedit.py)."""

from __future__ import annotations

import pytest

from gitpipe.core.errors import BadInputError
from gitpipe.pipeline.specedit import without_stages


def test_the_stage_s_own_lines_go_and_the_comment_heading_the_next_stays() -> None:
    text = ("stages:\r\n  # a\r\n  a:\r\n    cmd: x\r\n\r\n  # b heads b\r\n"
            "  b: {cmd: y}\r\n")
    assert without_stages(text, ["a"]) == "stages:\r\n\r\n  # b heads b\r\n  b: {cmd: y}\r\n"
    assert without_stages(text, ["b"]) == "stages:\r\n  # a\r\n  a:\r\n    cmd: x\r\n\r\n"


def test_the_last_stage_ends_at_the_next_top_level_key() -> None:
    text = "stages:\n  a:\n    cmd: x\n  b:\n    cmd: y\n\nvars:\n  - k: 1\n"
    assert without_stages(text, ["b"]) == "stages:\n  a:\n    cmd: x\n\nvars:\n  - k: 1\n"


@pytest.mark.parametrize("text", [
    "stages: {a: {cmd: x}, b: {cmd: y}}\n",
    "stages: {\n  a: {cmd: x},\n  b: {cmd: y}}\n",
])
def test_flow_style_stages_are_refused(text: str) -> None:
    with pytest.raises(BadInputError, match="flow style"):
        without_stages(text, ["a"])


def test_an_edit_that_would_change_a_stage_kept_is_refused() -> None:
    """A line at the stage's indent that reads as a comment above `b` but lies
    inside `a`'s quoted command: taking it with `b` would leave a valid file
    where `a`'s command ran on into `c`, and `c` was gone."""
    text = ('stages:\n  a:\n    cmd: "echo one\n  # x"\n  b:\n    cmd: echo b\n'
            '  c:\n    cmd: echo c "\n')
    with pytest.raises(BadInputError, match="'b'"):
        without_stages(text, ["b"])
    assert without_stages(text, ["c"]) == text.replace('  c:\n    cmd: echo c "\n', "")
