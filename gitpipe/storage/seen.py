"""The objects this clone knows a remote holds because it put their bytes
there or read them back from there, hashed: a push believes a pack index or
a listing only for these (storage/pushcheck.py reads the others back).

One file per storage under the cache, `remotes/<sha256 of the remote's
storage identity>` (its URL, storage options and endpoint variables:
storage/urls.py), a digest a line, only ever appended to: two remotes that
share a URL but reach other storage (another endpoint) share no record. It
is this machine's own state, as the cache is: a line planted there makes a
push skip an object, as a planted cache object would make it send one
(docs/explanation/security.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from gitpipe.core.nofollow import make_dirs_beneath
from gitpipe.trust.checks import digest_problem

FOLDER = "remotes"


class SeenOn:
    """What one remote is known to hold, as far as this clone saw it."""

    def __init__(self, cache_root: Path, identity: str) -> None:
        self.root = cache_root
        # A cryptographic digest: a committed config chooses URLs, and must not
        # be able to pick one whose name is another storage's.
        self.path = cache_root / FOLDER / hashlib.sha256(identity.encode()).hexdigest()
        self._known: set[str] | None = None

    def known(self) -> set[str]:
        """The digests recorded so far (a malformed line is no digest)."""
        if self._known is None:
            self._known = set()
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                self._known = _digests_in(self.path)
        return self._known

    def add(self, digests: Iterable[str]) -> None:
        """Record `digests` as held by the remote: their bytes were just sent
        there, or read from there and hashed."""
        new = [d for d in dict.fromkeys(digests) if d not in self.known()]
        if not new:
            return
        make_dirs_beneath(self.root, self.path.parent)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
                         | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
        except OSError:  # a link or a fifo in its place: nothing is recorded, nothing believed
            return
        with open(fd, "ab") as handle:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                handle.write("".join(f"{d}\n" for d in new).encode())
        self.known().update(new)


# A digest line is `xxh3:` and 32 hex digits, `.dir` for a manifest: no longer.
_LINE_MOST = 48
# Past this (some 25 million objects), a record is believed in none: a push
# reads back what the record does not vouch for, which is never wrong.
RECORD_MOST = 1 << 30


def _digests_in(path: Path) -> set[str]:
    """The digest lines of the record at `path`, read a block at a time and
    kept as the digests they are: whatever else it holds (a line of any
    length, gigabytes of anything) costs no memory. A link, a fifo or any
    file that is not regular is believed in nothing, and never waited on."""
    found: set[str] = set()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        raise
    except OSError:  # a symlink (ELOOP)
        return found
    with open(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > RECORD_MOST:
            return found
        rest = b""
        while block := handle.read(1 << 20):
            lines = (rest + block).split(b"\n")
            rest = lines.pop()
            if len(rest) > _LINE_MOST:
                rest = b"-" * (_LINE_MOST + 1)  # no digest: dropped to its line's end
            found.update(text for line in lines if len(line) <= _LINE_MOST
                         and digest_problem(text := line.decode("ascii", "replace")) is None)
        if digest_problem(last := rest.decode("ascii", "replace")) is None:
            found.add(last)  # the last line, whose newline a killed push never wrote
    return found
