"""Signatures from stat calls alone: of a file, a directory's listing, the git index.

What the stat cache, the workspace and the no-op seal (fastpath/seal.py) compare to
know that nothing changed without reading a byte. Kept free of heavy imports:
the seal's fast path runs before anything else of gitpipe is loaded.
"""

from __future__ import annotations

import os
import stat as stat_module
from struct import error as StructError
from struct import pack

import xxhash

from gitpipe.hashing.ignore import IGNORE_FILE, Ignore, default_ignored, defaults_may_ignore

# git's "racy" rule: a file modified within this window of being hashed
# could change again without its mtime changing, so such an entry is re-hashed
# next time instead of trusted.
RACY_NS = 1_000_000_000

# (inode, mtime_ns, size, ctime_ns), as state.StatKey. ctime is there as git's
# core.trustctime has it: a same-size rewrite whose mtime is set back (`touch
# -d`, an extractor, a sync tool) keeps inode, mtime and size, but the kernel
# sets ctime on every write and nothing can set it back.
FileSignature = tuple[int, int, int, int]


def file_signature(info: os.stat_result) -> FileSignature:
    return (info.st_ino, info.st_mtime_ns, info.st_size, info.st_ctime_ns)


def changed_ns(info: FileSignature) -> int:
    """When a file last changed, as far as stat can tell: the later of its mtime
    and ctime. The racy rule applies to this: a forged mtime cannot hide a
    rewrite made within the timestamp granularity of the hash."""
    return max(info[1], info[3])


# (relative POSIX path, inode, mtime_ns, size, mode, ctime_ns) of one file in a
# listing. Plain tuples of ints: reading a stat_result's attribute is slow, and
# a listing of a large directory reads each of them several times.
ListedFile = tuple[str, int, int, int, int, int]


def walk_files(directory: str) -> list[ListedFile]:
    """Every regular file and symlink below `directory` that `.gitpipeignore`
    (hashing/ignore.py) keeps, sorted by path (lstat).

    Symlinks are reported, never followed, so a link out of the repository
    cannot pull outside data into a hash or the cache. Fifos, sockets and
    devices are left out, as git leaves them: they hold no content to hash
    (opening a fifo to read it waits for a writer forever).
    """
    # This loop runs once per file of every directory dep, on every
    # status: the file's kind is its mode's type bits compared with ints (no
    # call), and a directory whose names the defaults cannot touch (nearly
    # all: see ignore.defaults_may_ignore) with no `.gitpipeignore` in force
    # asks nothing per file.
    found: list[ListedFile] = []
    stack = [("", Ignore.above(directory))]
    while stack:
        rel, outer = stack.pop()
        folder = f"{directory}/{rel}" if rel else directory
        descriptor = os.open(folder, FOLDER_FLAGS)
        try:
            _walk_folder(folder, descriptor, rel, outer, found, stack)
        except OSError as exc:
            raise _named(exc, folder) from None
        finally:
            os.close(descriptor)
    found.sort()  # by path: paths are unique, so no tuple is compared past it
    return found


# A folder is listed through a descriptor of it (os.scandir of a descriptor):
# each entry's stat is then an fstatat of one name in that folder, instead of
# a stat that resolves every folder of the entry's full path again; the walks
# are mostly these stat calls. The descriptor stays open until the last stat.
FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | os.O_NONBLOCK  # as opendir


def _named(exc: OSError, folder: str) -> OSError:
    """`exc`, naming the full path: an entry listed through a descriptor is
    known by its name alone."""
    if isinstance(exc.filename, str) and "/" not in exc.filename:
        exc.filename = f"{folder}/{exc.filename}"
    return exc


def _walk_folder(folder: str, descriptor: int, rel: str, outer: Ignore,
                 found: list[ListedFile], stack: list[tuple[str, Ignore]]) -> None:
    """walk_files' step: the files of one folder (`descriptor`, at `rel` in the
    walk) into `found`, its subfolders onto `stack`."""
    prefix = f"{rel}/" if rel else ""
    with os.scandir(descriptor) as listed:
        entries = list(listed)
    names = [entry.name for entry in entries]
    rules = outer.entering(folder, rel, names)
    screen = (rules.ignored if rules.custom else
              _by_default if defaults_may_ignore(names) else None)
    if screen is None and not prefix:
        _list_plain(entries, found, stack, rules)
        return
    for entry in entries:
        name = entry.name
        info = entry.stat(follow_symlinks=False)
        mode = info.st_mode
        kind = mode & _TYPE_BITS
        if screen is not None and screen(prefix + name, name, kind == _DIRECTORY):
            continue
        if kind in _LISTED:
            found.append((prefix + name, info.st_ino, info.st_mtime_ns, info.st_size,
                          mode, info.st_ctime_ns))
        elif kind == _DIRECTORY:
            stack.append((prefix + name, rules))


def _list_plain(entries: list[os.DirEntry[str]], found: list[ListedFile],
                stack: list[tuple[str, Ignore]], rules: Ignore) -> None:
    """walk_files' loop for the top folder where no rule can leave a name out:
    the loop of nearly every directory dep, so nothing per file but the stat
    and the row."""
    append = found.append
    for entry in entries:
        info = entry.stat(follow_symlinks=False)
        mode = info.st_mode
        kind = mode & _TYPE_BITS
        if kind in _LISTED:
            append((entry.name, info.st_ino, info.st_mtime_ns, info.st_size, mode,
                    info.st_ctime_ns))
        elif kind == _DIRECTORY:
            stack.append((entry.name, rules))


def _by_default(rel: str, name: str, is_dir: bool) -> bool:
    return default_ignored(name, is_dir)


_TYPE_BITS = 0o170000  # stat.S_IFMT's mask
_DIRECTORY, _REGULAR, _SYMLINK = stat_module.S_IFDIR, stat_module.S_IFREG, stat_module.S_IFLNK
_LISTED = frozenset({_REGULAR, _SYMLINK})  # regular files and symlinks


def listing_signature(listing: list[ListedFile]) -> FileSignature:
    """One signature for a whole (sorted) listing: a hash of every path, inode,
    mtime, size, mode and ctime in place of an inode, the newest mtime or ctime
    (so the racy rule applies), the total size of its regular files, and 0 in
    place of a ctime (the hash holds every file's)."""
    # The numbers laid out with one `extend` per file and packed in one piece:
    # a formatted line per file costs twice as much.
    numbers: list[int] = []
    extend = numbers.extend
    for item in listing:
        extend(item[1:])
    return signature_of_numbers([item[0] for item in listing], numbers)


def directory_signature(directory: str) -> tuple[FileSignature, int]:
    """(`listing_signature(walk_files(directory))`, how many files it lists),
    for the seal's check (fastpath/seal.py).

    Nearly every directory dep is one folder of files that no rule can leave
    out; its signature is made here in one pass over the names, sorted first,
    with no row per file. Anything else (a subfolder, a `.gitpipeignore` in
    or above it, a name the defaults may ignore) takes walk_files."""
    plain = plain_listing(directory)
    if plain is None:
        return _walked_signature(directory)
    _, names, numbers = plain
    return signature_of_numbers(names, numbers), len(names)


# A folder's own (device, inode, mtime_ns, ctime_ns): what changes with any
# name added to it, removed from it or renamed in it.
FolderKey = tuple[int, int, int, int]


def plain_listing(directory: str) -> tuple[FolderKey, list[str], list[int]] | None:
    """(the folder's key as fstat gives it before it is listed, the sorted names
    of its files, their (inode, mtime, size, mode, ctime) in turn) where
    directory_signature makes the signature in one pass; None where only
    walk_files can say (a subfolder, a rule that may leave a name out)."""
    rules = Ignore.above(directory)
    descriptor = os.open(directory, FOLDER_FLAGS)
    try:
        if rules.custom:
            return None
        own = os.fstat(descriptor)
        found = _plain_rows(descriptor)
    except OSError as exc:
        raise _named(exc, directory) from None
    finally:
        os.close(descriptor)
    if found is None:
        return None
    key = (own.st_dev, own.st_ino, own.st_mtime_ns, own.st_ctime_ns)
    return (key, *found)


def _plain_rows(descriptor: int) -> tuple[list[str], list[int]] | None:
    """plain_listing's names and numbers of the folder open as `descriptor`."""
    # Each file's lstat names the file alone from the folder's descriptor, and
    # no DirEntry is made per name.
    names = os.listdir(descriptor)
    names.sort()
    if IGNORE_FILE in names or defaults_may_ignore(names):
        return None
    kept: list[str] = []
    numbers: list[int] = []
    keep, extend, stat = kept.append, numbers.extend, os.stat
    for name in names:
        info = stat(name, dir_fd=descriptor, follow_symlinks=False)
        mode = info.st_mode
        kind = mode & _TYPE_BITS
        if kind in _LISTED:
            keep(name)
            extend((info.st_ino, info.st_mtime_ns, info.st_size, mode, info.st_ctime_ns))
        elif kind == _DIRECTORY:
            return None
    return kept, numbers


def _walked_signature(directory: str) -> tuple[FileSignature, int]:
    listing = walk_files(directory)
    return listing_signature(listing), len(listing)


def signature_of_numbers(paths: list[str], numbers: list[int]) -> FileSignature:
    """listing_signature from the listing's paths and its numbers (inode, mtime,
    size, mode, ctime of each file in turn). The newest moment from the numbers'
    own slices (every fifth value from the mtime's and the ctime's place): no
    Python-level loop per file."""
    sizes, modes = numbers[2::5], numbers[3::5]
    return signature_of(
        "\0".join(paths),
        [pack_numbers(numbers)],
        max(max(numbers[1::5], default=0), max(numbers[4::5], default=0)),
        sum([size for size, mode in zip(sizes, modes, strict=True)
             if mode & _TYPE_BITS == _REGULAR]))


def signature_of(names: str, packed: list[bytes], newest: int, total: int) -> FileSignature:
    """`listing_signature` from its parts: the paths joined by NUL, the packed
    (inode, mtime_ns, size, mode, ctime_ns) of each file in order (in any number
    of pieces), the newest mtime or ctime and the total size. The cold scan (hashing/coldscan.py)
    has its worker processes pack their share."""
    # surrogateescape: a file name that is not UTF-8 comes back from os as
    # surrogates, which are its own bytes again here
    hasher = xxhash.xxh3_64(names.encode("utf-8", "surrogateescape"))
    for piece in packed:
        hasher.update(piece)
    return (hasher.intdigest() >> 1, newest, total, 0)


def pack_numbers(numbers: list[int]) -> bytes:
    """The numbers as native 64-bit integers, as `array("q", numbers).tobytes()`
    lays them out (struct, not array: importing array imports collections,
    a large part of the seal's fast path)."""
    try:
        return pack(f"={len(numbers)}q", *numbers)
    except StructError:  # an inode number past 2**63 (overlayfs xino)
        return pack(f"={len(numbers)}Q", *[value & _U64 for value in numbers])


_U64 = 2**64 - 1


Signature = tuple[object, ...] | None  # a file's, ("dir", *a listing's), None if missing


class ReadLog:
    """Every project path a judgement read, by the signature it had when read:
    what an answer depends on, as the no-op seal (fastpath/seal.py) records it.

    The readers report into it themselves (specs, params, config, lock: through
    `read_noted`; the workspace: each path it hashes), so nothing read can be
    left off a list kept by hand.
    """

    def __init__(self) -> None:
        self.seen: dict[str, Signature] = {}


def path_signature(full: str) -> Signature:
    """A path's signature as the readers note it (symlinks followed): (inode,
    mtime_ns, size, ctime_ns) of a file, ("dir", *listing signature) of a
    directory, None if missing, ("unreadable", errno) where stat fails otherwise
    (a symlink loop): unlike every signature a readable path has."""
    try:
        info = os.stat(full)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        return ("unreadable", exc.errno)
    if stat_module.S_ISDIR(info.st_mode):
        return ("dir", *listing_signature(walk_files(full)))
    return file_signature(info)


def changed_since(root: str, signatures: dict[str, Signature]) -> list[str]:
    """The project paths whose signature is no longer the one `signatures` holds."""
    return [path for path, before in signatures.items()
            if path_signature(os.path.join(root, path)) != before]


def read_noted(full: str | os.PathLike[str], name: str, reads: ReadLog | None) -> str:
    """The UTF-8 text of the file at `full`, noted in `reads` as the project path
    `name` with the signature of the very file read (fstat of the open file,
    symlinks followed, as the seal compares it). Raises as `open` does; a
    missing file is noted as missing first; text that is not UTF-8 is a
    BadInputError naming the file, line and byte, and so is a file past the
    size any of them is read to (yamlio.MAX_BYTES, as at a revision): read
    no further, a clone's file of gigabytes is refused for its size, not
    read into memory first."""
    from gitpipe.core.yamlio import MAX_BYTES, refuse_oversized

    try:
        # Opened without waiting: a fifo in a file's place is refused, not
        # waited on for ever (a link is followed: its place is checked before).
        fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        info = os.fstat(fd)
        try:
            _refuse_special(info, full)
        except OSError:
            os.close(fd)
            raise
        with open(fd, encoding="utf-8") as handle:
            text = handle.read(MAX_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        if reads is not None:
            reads.seen[name] = None
        raise
    except UnicodeDecodeError:
        raise _not_utf8(full, name) from None
    refuse_oversized(text, name)
    if reads is not None:
        reads.seen[name] = file_signature(info)
    return text


def _refuse_special(info: os.stat_result, full: str | os.PathLike[str]) -> None:
    """OSError, as `open` raises it, for a folder, a fifo or a device."""
    import errno
    import stat

    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(full))
    if not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, "not a regular file (a fifo or a device)", str(full))


def _not_utf8(full: str | os.PathLike[str], name: str) -> Exception:
    """The error for a file that is not UTF-8, at its first bad byte (read
    again as bytes: the text reader's offsets are per chunk). The bad byte
    lies within what the bounded read decoded: at most four bytes a
    character, and the block the decoder read ahead: no more is read again."""
    from gitpipe.core.utf8 import not_utf8  # only on this error: kept off the no-op
    from gitpipe.core.yamlio import MAX_BYTES

    with open(full, "rb") as handle:
        return not_utf8(handle.read(4 * (MAX_BYTES + 1) + (1 << 20)), name)


def index_signature(root: str | os.PathLike[str]) -> str | None:
    """Identifies the current version of the git index of the work tree holding
    `root`, without pygit2: git replaces the index by rename on every write, so
    (inode, mtime, size) changes whenever what is tracked may have. None where
    the index cannot be found this way (GIT_DIR or GIT_INDEX_FILE set, no .git)."""
    if "GIT_DIR" in os.environ or "GIT_INDEX_FILE" in os.environ:
        return None
    candidate = os.fspath(root)
    while True:
        dotgit = os.path.join(candidate, ".git")
        if os.path.isdir(dotgit):
            index = os.path.join(dotgit, "index")
            break
        if os.path.isfile(dotgit):
            with open(dotgit, encoding="utf-8", errors="replace") as handle:
                text = handle.read().strip()
            if not text.startswith("gitdir:"):
                return None
            gitdir = os.path.join(candidate, text.removeprefix("gitdir:").strip())
            index = os.path.join(gitdir, "index")
            break
        parent = os.path.dirname(candidate)
        if parent == candidate:
            return None
        candidate = parent
    try:
        info = os.stat(index)
    except FileNotFoundError:
        return "none"
    return f"{info.st_ino}.{info.st_mtime_ns}.{info.st_size}"
