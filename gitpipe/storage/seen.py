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
                fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
                with open(fd, "rb") as handle:
                    for line in handle.read().decode("ascii", "replace").splitlines():
                        if digest_problem(line) is None:
                            self._known.add(line)
        return self._known

    def add(self, digests: Iterable[str]) -> None:
        """Record `digests` as held by the remote: their bytes were just sent
        there, or read from there and hashed."""
        new = [d for d in dict.fromkeys(digests) if d not in self.known()]
        if not new:
            return
        make_dirs_beneath(self.root, self.path.parent)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        with open(fd, "ab") as handle:
            handle.write("".join(f"{d}\n" for d in new).encode())
        self.known().update(new)
