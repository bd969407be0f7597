"""How gitpipe is installed: the one home of the distribution name that every
`pip install` hint names.
"""

from __future__ import annotations

# The package index's `gitpipe` is an unrelated project; this one is published
# as `gitpipe-ml` and still imported and run as `gitpipe`.
DISTRIBUTION = "gitpipe-ml"
EXTRAS = ("s3", "k8s", "all")


def pip_install(extra: str | None = None) -> str:
    """The command that installs gitpipe, with `extra` (s3, k8s, all) if given."""
    if extra is None:
        return f"pip install {DISTRIBUTION}"
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; known: {', '.join(EXTRAS)}")
    return f"pip install '{DISTRIBUTION}[{extra}]'"
