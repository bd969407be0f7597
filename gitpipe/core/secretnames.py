"""Which environment variables hold a secret, by their name: such a variable
is read where it is used and left out of everything gitpipe records (the
no-op seal's context). No imports: the seal's fast path asks it."""

from __future__ import annotations

SECRET_SUFFIXES = ("_KEY", "_SECRET", "_TOKEN", "_PASSWORD")


def secret_name(variable: str) -> bool:
    """Whether an environment variable's name says it holds a secret."""
    return variable.upper().endswith(SECRET_SUFFIXES)
