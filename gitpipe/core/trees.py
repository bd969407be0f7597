"""Directory trees made and removed without recursion: an out thousands of
levels deep must not meet Python's recursion limit (pathlib's `mkdir(parents=
True)`, `os.makedirs` and, before Python 3.12, `shutil.rmtree` recurse once
per level). Both work one level at a time through a directory handle, so each
step costs the same at any depth."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY
_OWNER_ALL = stat.S_IRUSR | stat.S_IWUSR | stat.S_IXUSR


def make_dirs(path: Path) -> None:
    """`path` and its missing parents, as `mkdir -p` (a symlink to a directory
    on the way is gone through, as there)."""
    try:
        os.mkdir(path)
        return
    except FileExistsError:
        if path.is_dir():
            return
        raise
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENAMETOOLONG):
            raise  # else a parent is missing too, or the path is too long to name at once
    absolute = Path(os.path.abspath(path))
    fd = os.open(absolute.anchor, _OPEN_DIR)
    try:
        for part in absolute.parts[1:]:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, dir_fd=fd)
            child = os.open(part, _OPEN_DIR, dir_fd=fd)
            os.close(fd)
            fd = child
    finally:
        os.close(fd)


def entries_under(base: Path) -> Iterator[Path]:
    """Every entry below `base`, as `base.rglob("*")` gives them (directories
    too; a symlink to a directory listed, not entered), from a stack instead
    of one nested generator per level."""
    pending = [base]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as entries:
                listed = [(Path(entry.path), entry.is_dir(follow_symlinks=False))
                          for entry in entries]
        except (FileNotFoundError, NotADirectoryError):
            continue  # removed meanwhile, as rglob would skip it
        for path, is_dir in listed:
            yield path
            if is_dir:
                pending.append(path)


def remove_tree(path: Path) -> None:
    """Delete a directory and everything under it, read-only entries included.
    Nothing is followed: a symlink inside is removed as a link, and each
    directory is entered with O_NOFOLLOW, so a directory swapped for a link
    meanwhile is never descended into. One directory is open at a time; going
    back up is through its `..`."""
    fd = os.open(path, _OPEN_DIR | os.O_NOFOLLOW)
    # Per level entered: its name in its parent, and the subdirectories it still holds.
    levels: list[tuple[str, list[str]]] = [("", _empty_but_directories(fd))]
    try:
        while True:
            name, below = levels[-1]
            if below:
                subdirectory = below.pop()
                child = _enter(fd, subdirectory)
                os.close(fd)
                fd = child
                levels.append((subdirectory, _empty_but_directories(fd)))
                continue
            levels.pop()
            if not levels:
                break
            parent = os.open("..", _OPEN_DIR, dir_fd=fd)
            os.close(fd)
            fd = parent
            os.rmdir(name, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(path)


def _enter(parent: int, name: str) -> int:
    """Open subdirectory `name` of `parent`, opening up a folder its owner
    cannot read (gitpipe made it read-only, or the command did)."""
    try:
        return os.open(name, _OPEN_DIR | os.O_NOFOLLOW, dir_fd=parent)
    except PermissionError:
        os.chmod(name, _OWNER_ALL, dir_fd=parent)
        return os.open(name, _OPEN_DIR | os.O_NOFOLLOW, dir_fd=parent)


def _empty_but_directories(fd: int) -> list[str]:
    """Unlink every non-directory in the open directory; return its subdirectories."""
    mode = os.fstat(fd).st_mode
    if mode & _OWNER_ALL != _OWNER_ALL:
        os.fchmod(fd, stat.S_IMODE(mode) | _OWNER_ALL)
    with os.scandir(fd) as entries:
        listed = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    for name, is_dir in listed:
        if not is_dir:
            os.unlink(name, dir_fd=fd)
    return [name for name, is_dir in listed if is_dir]


__all__ = ["entries_under", "make_dirs", "remove_tree"]
