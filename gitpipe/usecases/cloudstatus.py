"""`gitpipe status --cloud` (as `dvc status -c`): the outs gitpipe.lock
records, compared between the local cache and a remote, by their objects.

An out is on a side when every object it consists of is there (a directory's
manifest, and its files where the local cache holds the manifest to name
them). The remote is asked as a pull asks it (its pack indexes and a few
lookups, or one listing), never object by object; nothing is moved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import NamedTuple

from gitpipe.project.lockguard import LockedOut, target_outs
from gitpipe.project.root import Project
from gitpipe.storage.remote import absent_objects


class CloudStatus(NamedTuple):
    """The outs of the lock (or of the targets) the two sides do not both hold:
    `new` only in the local cache (a push uploads them), `deleted` only on the
    remote (a pull fetches them), `missing` in neither (a repro computes them).
    DVC's words, as its `status -c` prints them; `total`: the outs compared."""

    remote: str
    new: list[LockedOut]
    deleted: list[LockedOut]
    missing: list[LockedOut]
    total: int

    @property
    def in_sync(self) -> bool:
        return not (self.new or self.deleted or self.missing)


def cloud_status(project: Project, remote_name: str | None = None,
                 targets: Iterable[str] = ()) -> CloudStatus:
    """Compare the lock's outs (the targets', as push takes them) between the
    local cache and the remote `remote_name` (None: the default)."""
    # a part of a directory out (`data/raw/a.csv`) is compared as its whole out
    outs = list(dict.fromkeys(replace(out, within="") for out in target_outs(project, targets)))
    remote = project.remote(remote_name)
    cache = project.cache
    objects = {out: cache.objects_of(out.digest) for out in outs}
    absent = absent_objects(remote, dict.fromkeys(d for ds in objects.values() for d in ds))
    found = CloudStatus(remote.name, [], [], [], len(outs))
    for out in outs:
        here = not cache.missing(out.digest)
        there = not any(digest in absent for digest in objects[out])
        if here and not there:
            found.new.append(out)
        elif there and not here:
            found.deleted.append(out)
        elif not here:
            found.missing.append(out)
    return found
