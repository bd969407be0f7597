"""Durations as gitpipe.yaml writes them (`timeout`, `wait_for`) and `--since`
takes them: '30s', '5m', '2h', '1d', '250ms', or a number of seconds."""

from __future__ import annotations

import math
import re
from typing import Any

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
# A timed wait takes no more than threading.TIMEOUT_MAX (292 years on 64-bit
# Linux, less elsewhere): past it the timer thread dies and the stage runs
# with no timeout at all.
MAX_DURATION = 100 * 365 * 86400
LONG_DURATION = "more than a timer can wait (at most 100 years)"


class LongDuration(ValueError):
    """A duration past MAX_DURATION."""


def parse_duration(value: Any) -> float:
    """'30s', '2h', '1.5m', 90 → seconds; ValueError on anything else
    (LongDuration past MAX_DURATION)."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(value)
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match or float(match.group(1)) <= 0:
            raise ValueError(value)
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds > MAX_DURATION:  # an infinite one too (400 digits of seconds)
        raise LongDuration(value)
    return seconds
