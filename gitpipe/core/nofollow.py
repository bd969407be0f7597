"""Walks, removals, reads and writes that never follow a symlink: what gc and
fsck delete, and what a folder remote is read or written at, is a regular file
inside the folder, whatever symlinks were planted there."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from gitpipe.core.errors import BadInputError, GitpipeError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class SymlinkRefusedError(GitpipeError):
    """A folder gitpipe cleans is a symlink, or a path through it crosses one."""


def real_dir(path: Path) -> bool:
    """Whether `path` is a directory itself, not a symlink to one (False: absent).

    SymlinkRefusedError when it is a symlink or another kind of file: a folder
    gitpipe deletes from is never reached through a link.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        raise SymlinkRefusedError(f"{str(path)!r} is not a directory (a symlink?); gitpipe "
                                  "never deletes through one",
                                  hint="remove it, or move the real folder back in its place")
    return True


def regular_files(base: Path) -> Iterator[tuple[str, os.stat_result]]:
    """(path relative to `base`, lstat) of every regular file below `base`, walked
    iteratively; symlinks (to files or folders) are neither followed nor yielded."""
    if not real_dir(base):
        return
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        try:
            entries = list(os.scandir(base / rel_dir if rel_dir else base))
        except (FileNotFoundError, NotADirectoryError):
            continue  # removed meanwhile
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(info.st_mode):
                pending.append(rel)
            elif stat.S_ISREG(info.st_mode):
                yield rel, info


def unlink_beneath(base: Path, rel: str) -> bool:
    """Remove the regular file `base/rel`, opening each folder on the way with
    O_NOFOLLOW: a symlink swapped in anywhere along `rel` (or for `base`
    itself) stops the removal instead of leading it elsewhere. False when the
    file is already gone; SymlinkRefusedError when a link is in the way."""
    parts = rel.split("/")
    if not rel or any(part in ("", ".", "..") for part in parts):
        raise SymlinkRefusedError(f"{rel!r} is not a plain path below {str(base)!r}")
    try:
        fd = os.open(base, _DIR_FLAGS)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise SymlinkRefusedError(f"{str(base)!r} is not a directory (a symlink?): {exc}") from None
    fd = _down_to_parent(fd, parts, base, rel)  # closes fd itself on an error
    try:
        try:
            info = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if not stat.S_ISREG(info.st_mode):
            raise SymlinkRefusedError(f"{str(base / rel)!r} is not a regular file; left in place")
        os.unlink(parts[-1], dir_fd=fd)
        return True
    except FileNotFoundError:
        return False
    finally:
        os.close(fd)


def _descend(fd: int, part: str, base: Path, rel: str) -> int:
    """The folder `part` inside `fd`, opened without following a link."""
    try:
        return os.open(part, _DIR_FLAGS, dir_fd=fd)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SymlinkRefusedError(f"{str(base / rel)!r}: {part!r} on its way is not a "
                                  f"directory (a symlink?): {exc.strerror}") from None


def make_dirs_beneath(base: Path, directory: Path) -> None:
    """Make `directory` (inside `base`) and its missing parents one level at a
    time, each checked with lstat: a symlink (or a file) planted anywhere below
    `base`, say `files/xx` pointing elsewhere, stops the write instead of
    leading it out. SymlinkRefusedError names the part and where it leads."""
    if not real_dir(base):
        os.makedirs(base, exist_ok=True)
        real_dir(base)
    current = base
    for part in directory.relative_to(base).parts:
        current = current / part
        make_dir_in_real(current)


def make_dir_in_real(folder: Path | str) -> None:
    """Make `folder`, whose parent is a real folder already checked; one that
    is there is checked with lstat (a symlink or file planted there is
    refused). A folder mkdir made is real: mkdir never follows a symlink at
    the name it makes, it fails on one."""
    try:
        os.mkdir(folder)
        return
    except FileExistsError:
        pass
    info = os.lstat(folder)
    if stat.S_ISDIR(info.st_mode):
        return
    where = f" (to {os.readlink(folder)!r})" if stat.S_ISLNK(info.st_mode) else ""
    raise SymlinkRefusedError(f"{str(folder)!r} is not a directory{where}: gitpipe "
                              "never writes its cache through a symbolic link",
                              hint="remove it; gitpipe makes the folders it needs itself")


def _down_to_parent(fd: int, parts: list[str], base: Path, rel: str) -> int:
    """From the folder `fd`, the descriptor of the folder holding `parts[-1]`,
    each step taken without following a symlink. `fd` is consumed: closed on
    the way, or on an error."""
    try:
        for part in parts[:-1]:
            inner = _descend(fd, part, base, rel)
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_beneath(base: Path, rel: str) -> int:
    """A read-only descriptor of the regular file `base/rel`, each folder on the
    way and the file itself opened without following a symlink (a shared folder
    is written by others: a link there could lead a read anywhere).
    FileNotFoundError when it is absent; SymlinkRefusedError for a link or a
    file of another kind."""
    parts = rel.split("/")
    if not rel or any(part in ("", ".", "..") for part in parts):
        raise SymlinkRefusedError(f"{rel!r} is not a plain path below {str(base)!r}")
    fd = os.open(base, _DIR_FLAGS)
    fd = _down_to_parent(fd, parts, base, rel)  # closes fd itself on an error
    try:
        try:
            found = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
                            | os.O_NONBLOCK, dir_fd=fd)
        except OSError as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise SymlinkRefusedError(f"{str(base / rel)!r} is a symlink or cannot be "
                                      f"opened: {exc.strerror}") from None
    finally:
        os.close(fd)
    if not stat.S_ISREG(os.fstat(found).st_mode):
        os.close(found)
        raise SymlinkRefusedError(f"{str(base / rel)!r} is not a regular file")
    return found


class FileTooLarge(BadInputError):
    """A file larger than what reads it takes."""


def regular_file_bytes(path: str, most: int | None = None) -> bytes | None:
    """The bytes of `path` when it is a regular file itself; None when it is a
    symlink, a device, a fifo or anything else (`/dev/zero` would be read for
    ever). FileNotFoundError when there is nothing there; with `most`,
    FileTooLarge, naming it, for a file larger than that (asked of its size
    first, and never read past: it may grow as it is read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        if most is None:
            return handle.read()
        data = handle.read(most + 1) if info.st_size <= most else b""
        if info.st_size > most or len(data) > most:
            raise FileTooLarge(f"{path}: file is larger than {most // (1024 * 1024)} MiB "
                               f"({max(info.st_size, len(data))} bytes): not read")
        return data


def realpath_below(real_root: str, rel: str) -> str:
    """`os.path.realpath(real_root/rel)` for a `real_root` already resolved: each
    part of `rel` is lstat'ed from the root down, and only a path that meets a
    symlink (or holds `.` or `..`) is resolved whole by realpath."""
    if not rel:
        return real_root
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return os.path.realpath(os.path.join(real_root, rel))
    current = real_root
    for part in parts:
        current = f"{current}/{part}" if current != "/" else f"/{part}"
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            # realpath keeps a missing part (and what follows it) as written.
            return os.path.realpath(os.path.join(real_root, rel))
        if stat.S_ISLNK(mode):
            return os.path.realpath(os.path.join(real_root, rel))
    return current


# write_beneath's temp file beside `name`: `<name>.tmp-<16 hex>`; which of a
# folder remote's are a killed push's is trust/uploads.py's to say.
def temporary_name(name: str) -> str:
    return f"{name}.tmp-{os.urandom(8).hex()}"


def write_beneath(base: Path, rel: str, source: Path) -> None:
    """Copy the file `source` to `base/rel` whole: its folders made beneath
    `base` and each entered without following a symlink, the bytes written to a
    new temp file beside (its name holds `.tmp-`, which listings skip) and
    renamed over `rel`, which replaces a link there, never follows it. A
    folder remote is written by others: a link planted in it (`files/xx ->
    ~/.ssh`) would lead a push's object out of it. SymlinkRefusedError names
    the link."""
    import shutil

    parts = rel.split("/")
    if not rel or any(part in ("", ".", "..") for part in parts):
        raise SymlinkRefusedError(f"{rel!r} is not a plain path below {str(base)!r}")
    make_dirs_beneath(base, base.joinpath(*parts[:-1]))
    folder = _down_to_parent(os.open(base, _DIR_FLAGS), parts, base, rel)
    temporary = temporary_name(parts[-1])
    try:
        made = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                       | os.O_CLOEXEC, 0o644, dir_fd=folder)
        try:
            with open(source, "rb") as reader, open(made, "wb", closefd=False) as writer:
                shutil.copyfileobj(reader, writer)
            _replace(folder, temporary, parts[-1], f"{str(base / rel)!r}")
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=folder)
            raise
        finally:
            os.close(made)
    finally:
        os.close(folder)


def _replace(folder: int, temporary: str, name: str, where: str) -> None:
    """Rename `temporary` over `name` in `folder`: the name is swapped, whatever
    file held it (a hard link's other names keep their bytes). A folder
    planted at the name is named, not retried as a network error would be."""
    try:
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except OSError as exc:
        try:
            planted = stat.S_ISDIR(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
        except OSError:
            planted = False
        if not planted:
            raise
        raise SymlinkRefusedError(f"{where} is a directory: a folder remote holds regular "
                                  f"files only ({exc.strerror})",
                                  hint="remove that folder; the next push writes the file"
                                  ) from None
