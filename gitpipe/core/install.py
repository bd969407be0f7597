"""How gitpipe is installed and where it runs: the one home of the distribution
name that every `pip install` hint names, and of the platform check the
console script makes before anything POSIX-only is imported.
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


def unsupported_platform(os_name: str, platform: str) -> str | None:
    """Why gitpipe cannot run here (an error and a hint line), or None.

    gitpipe needs POSIX: file locks (`fcntl`), process groups (`os.killpg`),
    `fork` for hashing and `O_NOFOLLOW` for every guarded open. Native Windows
    has none of them, so it is refused at the start with a sentence rather
    than an ImportError deep in a command.
    """
    if os_name == "posix":
        return None
    return (f"gitpipe runs on Linux and macOS (POSIX); this is {platform!r}, "
            "which it does not support\n"
            "hint: on Windows, run gitpipe inside WSL 2 (a Linux distribution), "
            f"where `{pip_install()}` installs it")
