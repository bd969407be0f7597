"""Writing a small file whole or not at all: the lock, the config, ignore files."""

from __future__ import annotations

import os
from pathlib import Path


def atomic_write(path: Path, text: str | bytes, replace: bool = True) -> bool:
    """Write via temp file + fsync + rename, then fsync the directory (bytes
    as they are, text as UTF-8). Without `replace`, a file at `path` by then
    (written meanwhile by someone else) stands: the temp file is linked, not
    renamed over it, and False says nothing was written."""
    import tempfile  # only when writing: not on the status path

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, _file_mode(path))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text if isinstance(text, bytes) else text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, path)
            written = True
        else:
            written = _linked_if_absent(tmp, path)
            os.unlink(tmp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if written:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return written


def _linked_if_absent(tmp: str, path: Path) -> bool:
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    return True


def _file_mode(path: Path) -> int:
    """Keep an existing file's mode; a new one gets 0666 less the umask (mkstemp: 0600)."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return 0o666 & ~_UMASK


_UMASK = os.umask(0o022)
os.umask(_UMASK)
