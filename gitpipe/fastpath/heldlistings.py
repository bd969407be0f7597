"""A status with no seal that holds takes each directory dep's listing from its
record (fastpath/sealdirs.py) where the record holds, instead of walking it.

A record's claim is about the folder alone: while the folder's (device, inode,
mtime, ctime) and each named file's five lstat numbers are what the record
holds, the folder's listing signature is the one recorded (sealdirs.py says
why, and how a record is made: only outside the racy window, only for a folder
listed in one pass, only on a file system seen keeping folder times). That
claim does not depend on the seal the record was kept beside, so the first
status after a change, which has no seal to check (removed by a stale answer
or a run, or made for another day or environment), stats each folder and file
as its walk would, with no listing, sort or hash. A record that does not hold
(a name added, a file rewritten, rules above the folder) is unused: the
folder is walked, as without records.

Records are read as the seal's check reads them: from this user's cache
folder for the repository (dotdir.user_cache_dir), none where `.gitpipe/` has
a link problem, none under GITPIPE_NO_SEAL (no seal machinery at all), none
written by other code (the file holds the code signature).
"""

from __future__ import annotations

import os

from gitpipe.fastpath.noop import STATUS
from gitpipe.fastpath.seal import code_signature, seal_path
from gitpipe.fastpath.sealdirs import Records, file_for, held_listing
from gitpipe.trust.dotdir import link_problems, user_cache_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpipe.hashing.walkahead import HeldListing, Signed


def for_status(root: str) -> HeldListing | None:
    """The listings that the records of `root`'s status seal give (a
    walkahead.HeldListing, for the workspace and its forked walks); None where
    no record may be read."""
    if os.environ.get("GITPIPE_NO_SEAL") or user_cache_dir(root) is None or link_problems(root):
        return None
    seal_file = seal_path(root, STATUS)
    if seal_file is None:
        return None
    try:
        with open(file_for(seal_file), "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return _Held(root, data, code_signature())


class _Held:
    """A HeldListing over the records in `data`, parsed at the first question:
    the forked walks of a large status parse them in their own processes,
    while the one that answers goes on reading the lock."""

    def __init__(self, root: str, data: bytes, code: str) -> None:
        self._prefix, self._data, self._code = root + "/", data, code
        self._records: Records | None = None

    def __call__(self, full: str) -> Signed | None:
        if not full.startswith(self._prefix):
            return None
        if self._records is None:
            self._records = Records(self._data, None, self._code)
        return held_listing(self._records, full, full[len(self._prefix):])
