"""The seal's check of a directory dep without listing it: the names its last
listing found, and the folder's own stat data then, kept beside the seal.

A folder's mtime and ctime change whenever a name is added to it, removed
from it or renamed in it, and its ctime cannot be set back. So while the
folder's (device, inode, mtime, ctime) are those fstat gave just before its
names were listed, it still holds those names and no others, and its listing
signature (hashing/statsig.py) is a function of those names and each file's
lstat numbers alone: the check stats the folder and each named file, and
compares the numbers, with no listing, sort or hash. A file modified in place
leaves its folder's times alone: its own numbers are what tell.

Each record says "with this key and these numbers, the listing signature is
S", and is taken only where it is true: the names and numbers listed through
one descriptor after its fstat, S the signature they make, and the folder
last changed more than RACY_NS before (a name added within the timestamp's
granularity of the fstat could leave its times as they were). A record is
used only where S is what the seal holds for the path, so a record older or
newer than the seal is never wrong, merely unused. Where anything differs
the directory is listed and signed as without records.

Records are taken only for a folder listed in one pass (no subfolder, no
`.gitpipeignore` rule in or above it, no name the defaults may leave out: as
statsig.plain_listing has it; the rules above are asked each time, as the
listing asks them), and only on a file system seen keeping a folder's mtime
(a probe in `.gitpipe/`, on its device alone): some network and FUSE file
systems do not. They are written when a seal's check that held listed a
folder it had no record for; never on the way to a judgement. A status
with no seal that holds takes a listing from a record that holds as well
(`held_listing`, through fastpath/heldlistings.py): a record's claim is about
the folder alone, not the seal.

The file lives beside the seal, in this user's cache folder (dotdir): the
same trust as the seal, and holds the signature of the code that made it
(seal.code_signature): a listing signature made by other code is never
taken. Format: NUL-separated text (magic, the code signature, the count of
records and of their files, the paths, where each one's files start among
them, each one's file names joined by "/", which no name holds), each field
ending in NUL, then packed numbers (each record's sealed five numbers and
folder key, then every file's five). A record's names are split out only
when it is asked for: a large seal's check reads the file once, before its
shares are forked, and each share splits the names of its own records.
"""

from __future__ import annotations

import os
import time
from struct import unpack

from gitpipe.hashing import statsig
from gitpipe.hashing.ignore import Ignore
from gitpipe.hashing.statsig import (
    FOLDER_FLAGS,
    pack_numbers,
    plain_listing,
    signature_of_numbers,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from gitpipe.hashing.statsig import FileSignature, FolderKey

MAGIC = "gitpipe-seal-dirs/3"
_MAGIC = MAGIC.encode()
_HEAD_BYTES = 9 * 8  # the sealed kind and signature (five numbers), the folder key (four)
_FILE_BYTES = 5 * 8
_LISTING = 2
_LISTING_KIND = pack_numbers([_LISTING])  # the first of a record's sealed numbers

# A record: (the seal's five numbers it answers for, packed; the folder key;
# its files' names; their numbers, packed).
Record = tuple[bytes, "FolderKey", list[str], bytes]


class Records:
    """The records read for a check (looked up by path as the check asks), and
    those it took."""

    def __init__(self, data: bytes = b"", probe_root: str | None = None,
                 code: str = "") -> None:
        self.probe_root = probe_root  # where a record may be taken (its `.gitpipe/`)
        self.code = code  # the signature of the code reading them, and of their file
        self.started = time.time_ns()
        self.taken: dict[str, Record] = {}
        self._index: dict[str, int] = {}
        try:
            self._parse(data)
        except (ValueError, IndexError):
            self._index = {}

    def _parse(self, data: bytes) -> None:
        ends = [data.find(b"\0")]
        for _ in range(3):  # the code signature, the count of records, of their files
            ends.append(data.find(b"\0", ends[-1] + 1))
        if (data[:ends[0]] != _MAGIC or ends[-1] < 0
                or data[ends[0] + 1:ends[1]].decode("utf-8", "surrogateescape") != self.code):
            return
        count, files = int(data[ends[1] + 1:ends[2]]), int(data[ends[2] + 1:ends[3]])
        # The packed numbers are sliced from `data` as each record is asked for:
        # a large file is not copied whole again.
        self._data, self._heads_at = data, len(data) - count * _HEAD_BYTES - files * _FILE_BYTES
        if self._heads_at <= ends[3] or data[self._heads_at - 1] != 0:
            return
        text = str(memoryview(data)[ends[3] + 1:self._heads_at - 1], "utf-8", "surrogateescape")
        fields = text.split("\0") if count else []
        if len(fields) != 3 * count:
            return
        self._starts = [*map(int, fields[count:2 * count]), files]
        self._joined = fields[2 * count:]
        self._files_at = self._heads_at + count * _HEAD_BYTES
        self._index = dict(zip(fields[:count], range(count), strict=True))

    def get(self, path: str) -> Record | None:
        at = self._index.get(path)
        if at is None:
            return None
        head = self._data[self._heads_at + at * _HEAD_BYTES:self._heads_at + (at + 1) * _HEAD_BYTES]
        joined = self._joined[at]
        names = joined.split("/") if joined else []
        first = self._starts[at]
        if self._starts[at + 1] - first != len(names):
            return None  # not a file this module wrote: no record
        begin = self._files_at + first * _FILE_BYTES
        return (head[:40], unpack("=4q", head[40:]), names,
                self._data[begin:begin + len(names) * _FILE_BYTES])

    def of(self, paths: list[str]) -> dict[str, Record]:
        """The records read for any of `paths`."""
        return {path: record for path in paths if (record := self.get(path)) is not None}


def file_for(seal_file: str) -> str:
    return f"{seal_file}.dirs"


def read(seal_file: str, root: str, code: str) -> Records:
    """The records kept beside `seal_file` by the code of signature `code`."""
    try:
        with open(file_for(seal_file), "rb") as handle:
            return Records(handle.read(), root, code)
    except OSError:
        return Records(b"", root, code)


def compose(records: dict[str, Record], code: str) -> bytes | None:
    """The file of `records` made by the code of signature `code`; None where a
    name holds a NUL or "/" or is empty."""
    paths = list(records)
    names = [name for record in records.values() for name in record[2]]
    if any("\0" in text for text in [*paths, code]) or any("\0" in n or "/" in n or not n
                                                          for n in names):
        return None
    starts, files = [], 0
    for record in records.values():
        starts.append(str(files))
        files += len(record[2])
    text = "\0".join([MAGIC, code, str(len(paths)), str(files), *paths, *starts,
                      *("/".join(record[2]) for record in records.values()), ""])
    heads = b"".join(record[0] + pack_numbers(list(record[1])) for record in records.values())
    return text.encode("utf-8", "surrogateescape") + heads + b"".join(
        record[3] for record in records.values())


def listing(records: Records, root: str, path: str,
            sealed: bytes) -> tuple[tuple[int, ...], int]:
    """(The five numbers of the directory dep `path`, how many files it
    lists), where `sealed` is what the seal holds for it: by its record where
    one answers for `sealed` and still holds, else listed (and recorded)."""
    full = f"{root}/{path}"
    known = records.get(path)
    if known is not None and known[0] == sealed and _held(full, known):
        return unpack("=5q", sealed), len(known[2])
    plain = plain_listing(full)
    if plain is None:
        signature, files = statsig.directory_signature(full)
        return (_LISTING, *signature), files
    key, names, numbers = plain
    found = (_LISTING, *signature_of_numbers(names, numbers))
    if _recordable(records, key) and pack_numbers(list(found)) == sealed:
        records.taken[path] = (sealed, key, names, pack_numbers(numbers))
    return found, len(names)


def held_at(records: Records, root: str, top: int, path: str,
            sealed: bytes) -> tuple[tuple[int, ...], int] | None:
    """`listing`'s answer for the directory dep `path` by its record alone,
    opened from the root's descriptor `top`, where a record answers for
    `sealed` and still holds: it opens as a folder (as a stat of it, which
    follows links, would say), so the check makes no stat of its own. Else
    None: stat it and check it as `listing` does."""
    if sealed[:8] != _LISTING_KIND:
        return None
    known = records.get(path)
    if known is None or known[0] != sealed or not _held(f"{root}/{path}", known, (top, path)):
        return None
    return unpack("=5q", sealed), len(known[2])


def held_listing(records: Records, full: str, path: str) -> tuple[FileSignature, int] | None:
    """(The listing signature of the directory dep `path` at `full`, how many
    files it lists) by its record, where one holds; else None (walk it)."""
    known = records.get(path)
    if known is None or known[0][:8] != _LISTING_KIND or not _held(full, known):
        return None
    return unpack("=4q", known[0][8:]), len(known[2])


def _held(full: str, record: Record, at: tuple[int, str] | None = None) -> bool:
    """Whether the folder at `full` (opened as `at`'s name from its folder's
    descriptor, where given) still has the record's key and each of its
    files the record's numbers; the rules above it still none."""
    if Ignore.above(full).custom:
        return False
    _, key, names, packed = record
    try:
        descriptor = (os.open(full, FOLDER_FLAGS) if at is None
                      else os.open(at[1], FOLDER_FLAGS, dir_fd=at[0]))
    except OSError:
        return False
    try:
        own = os.fstat(descriptor)
        if (own.st_dev, own.st_ino, own.st_mtime_ns, own.st_ctime_ns) != key:
            return False
        numbers: list[int] = []
        extend, stat = numbers.extend, os.stat
        for name in names:
            info = stat(name, dir_fd=descriptor, follow_symlinks=False)
            extend((info.st_ino, info.st_mtime_ns, info.st_size, info.st_mode, info.st_ctime_ns))
    except OSError:
        return False
    finally:
        os.close(descriptor)
    return pack_numbers(numbers) == packed


def _recordable(records: Records, key: FolderKey) -> bool:
    """Whether a folder of `key`, listed now, may be recorded: it last changed
    before the racy window, on a file system seen keeping folder times."""
    if max(key[2], key[3]) + statsig.RACY_NS >= records.started:
        return False
    return records.probe_root is not None and keeps_folder_times(records.probe_root, key[0])


_probed: dict[str, int | None] = {}


def keeps_folder_times(root: str, device: int) -> bool:
    """Whether the file system of `root`'s `.gitpipe/` sets a folder's mtime
    when a name is made in it (seen once per process), and `device` is its own."""
    if root not in _probed:
        _probed[root] = _probe(os.path.join(root, ".gitpipe"))
    return _probed[root] == device


def _probe(dotdir: str) -> int | None:
    """The device of `dotdir` if a folder made there, its mtime set to 0, has
    another mtime once a file is made in it; else None.

    A clone's commit may hold any name under `.gitpipe/`, a link under the
    probe's too: only a folder this call made is used and removed, each step
    through a descriptor and never through a link."""
    name = f"folder-times-{os.getpid()}.tmp"
    try:
        top = os.open(dotdir, FOLDER_FLAGS | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        os.mkdir(name, 0o700, dir_fd=top)
    except OSError:
        os.close(top)
        return None  # the name is taken: no probe, no records
    try:
        return _probe_in(top, name)
    finally:
        try:  # noqa: SIM105 (contextlib: an import the sealed answer does without)
            os.rmdir(name, dir_fd=top)
        except OSError:
            pass
        os.close(top)


def _probe_in(top: int, name: str) -> int | None:
    """_probe's test in the folder `name` it made in `top`."""
    try:
        folder = os.open(name, FOLDER_FLAGS | os.O_NOFOLLOW, dir_fd=top)
    except OSError:
        return None
    try:
        os.utime(folder, ns=(0, 0))
        os.close(os.open("x", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600,
                         dir_fd=folder))
        info = os.fstat(folder)
        os.unlink("x", dir_fd=folder)
        return info.st_dev if info.st_mtime_ns != 0 else None
    except OSError:
        return None
    finally:
        os.close(folder)


def write(seal_file: str, records: Records, paths: list[str], taken: list[dict[str, Record]],
          write_file: Callable[[str, bytes], None]) -> None:
    """Keep the records of `paths` (a seal's that held): those read, and those
    the check's shares took in place of theirs."""
    merged = records.of(paths)
    for share in taken:
        merged.update(share)
    data = compose(merged, records.code)
    if data is None:
        return
    try:  # noqa: SIM105 (contextlib: an import the sealed answer does without)
        write_file(file_for(seal_file), data)
    except OSError:
        pass  # only the next status's time is lost
