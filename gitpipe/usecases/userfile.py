"""A file the user names on the command line (the report page, a run trace):
written whole, and never through a symlink, since the name may lie in the
work tree a clone brought (`gitpipe-report.html -> ~/.bashrc`)."""

from __future__ import annotations

from pathlib import Path

from gitpipe.core.atomicfile import atomic_write
from gitpipe.core.errors import BadInputError
from gitpipe.trust.checks import written_file_problem


def write_user_file(root: Path, target: Path, text: str, what: str) -> None:
    """Write `text` to `target` (relative to the current directory) in place of
    what is there; refused, naming `what` is written, where `target` is a
    symlink or lies in the repository through a symlinked folder."""
    problem = written_file_problem(root, target)
    if problem is not None:
        raise BadInputError(f"{str(target)!r} {problem}: gitpipe writes {what} as a plain "
                            "file, never through a symlink",
                            hint="remove the link, or name another file (- for stdout)")
    try:
        atomic_write(target, text)
    except OSError as exc:
        raise BadInputError(f"cannot write {what} to {str(target)!r}: {exc.strerror}",
                            hint="name a file in a folder that exists, or - for stdout"
                            ) from None
