"""The verdict words of gitpipe's output (stale, ran, failed, ...) coloured for a
terminal with plain SGR codes: the quick door (cli/launch.py) colours its
answer before click or rich are imported, and the Ui (cli/console.py) the
same way after, so both doors look alike. NO_COLOR: never."""

from __future__ import annotations

import os
import re
from typing import Any

STYLES = {
    "stale": "33", "would run": "33", "running": "36", "retrying": "33",
    "ran": "32", "restored": "32", "re-recorded": "32", "up to date": "32",
    "interrupted": "33",
    "failed": "1;31", "blocked": "31", "warning": "33", "error": "1;31",
    "differs": "1;31",
}
# A whole word, not part of a name or a path (`stale_check`, `data/ran/`).
_WORDS = re.compile(r"(?<![\w/.@-])("
                    + "|".join(re.escape(word) for word in sorted(STYLES, key=len, reverse=True))
                    + r")(?![\w/.@-])")


def wanted(stream: Any) -> bool:
    """Colour for this stream: a terminal, and NO_COLOR not set (to anything)."""
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def colour(text: str) -> str:
    return _WORDS.sub(lambda found: f"\x1b[{STYLES[found[1]]}m{found[1]}\x1b[0m", text)
