"""How a long operation reports its progress without knowing who shows it: it
calls a callable with what it has done since, and first tells the callable's
`expect` method, if it has one, how much there is. The CLI passes a progress
bar (cli/progress.py); the Python API takes any callable, or None."""

from __future__ import annotations

from typing import Any


def expect(progress: Any, *totals: int) -> None:
    """Tell `progress` how much the next batch of work holds (files and bytes of
    a transfer, items of a count); nothing when it has no `expect`."""
    hook = getattr(progress, "expect", None)
    if hook is not None:
        hook(*totals)
