"""The verdict words of gitpipe's output (stale, ran, failed, ...) coloured for a
terminal with plain SGR codes: the quick door (cli/launch.py) colours its
answer before click or rich are imported, and the Ui (cli/console.py) the
same way after, so both doors look alike. NO_COLOR: never."""

from __future__ import annotations

import os
import re

STYLES = {
    "stale": "33", "would run": "33", "may run": "33", "running": "36", "retrying": "33",
    "would fail": "1;31", "would not run": "31",
    "ran": "32", "restored": "32", "re-recorded": "32", "up to date": "32",
    "interrupted": "33",
    "failed": "1;31", "blocked": "31", "warning": "33", "error": "1;31",
    "differs": "1;31",
}
_VERDICT = "|".join(re.escape(word) for word in sorted(STYLES, key=len, reverse=True))
# The places a verdict stands in gitpipe's lines, and only those: a word inside
# free text (a reason, a message, a name: `its last run failed`) stays plain.
# A line's first word, before a name or a message (`failed train`, `error: …`,
# `would run x: …`); not a status title (`failed:`) nor a table row's task:
_LEADING = re.compile(rf"^()({_VERDICT})(?=: | \S)")
# The repro table's result column, after the task (whose title holds single
# spaces at most: `x@2024-01-01 … 2024-01-05 (5)`):
_COLUMN = re.compile(rf"^(\S+(?: \S+)*  +)({_VERDICT})(?=  |$)")
# A line of counts (`1 failed, 2 ran`, `2 of 3 stages stale (…)`,
# `everything is up to date: 3 skipped`, `verify: 1 differs`), which has no
# column gap: each verdict after its count, or after `everything is`.
_COUNTS_LINE = re.compile(r"^(?:\d|everything is |verify: \d)(?!.*  )")
_COUNTED = re.compile(rf"(\d |\bstages? |^everything is )({_VERDICT})(?=[ ,:(]|$)")


def wanted_on_a_terminal() -> bool:
    """Colour for a stream known to be a terminal: NO_COLOR not set (to anything)."""
    return not os.environ.get("NO_COLOR")


def colour(text: str) -> str:
    """`text` with the verdict of each line coloured where it stands (see above);
    an indented line (a reason, a log's tail) is never coloured."""
    return "\n".join(_coloured_line(line) for line in text.split("\n"))


def _paint(found: re.Match[str]) -> str:
    """What stands before the verdict (group 1), then the verdict coloured."""
    return f"{found[1]}\x1b[{STYLES[found[2]]}m{found[2]}\x1b[0m"


def _coloured_line(line: str) -> str:
    if _LEADING.match(line):
        return _LEADING.sub(_paint, line, count=1)
    if _COLUMN.match(line):
        return _COLUMN.sub(_paint, line, count=1)
    if _COUNTS_LINE.match(line):
        return _COUNTED.sub(_paint, line)
    return line
