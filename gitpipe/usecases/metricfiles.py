"""One metrics file's values: its bytes from the work tree, a commit, or the
cache, parsed by extension (JSON, TOML, else YAML) and flattened to dotted keys.

Bytes from git or the cache are as untrusted as any record: they are read
only up to a size limit, a cached object must hash to the digest the lock
names, and whatever does not parse becomes a message naming the file and
where it was read, never a traceback.
"""

from __future__ import annotations

import os
import stat as stat_module
from pathlib import Path
from typing import Any, NamedTuple

from gitpipe.core.errors import BadInputError
from gitpipe.git.revision import Revision
from gitpipe.hashing.digests import DIR_SUFFIX, hash_bytes
from gitpipe.pipeline.lockfile import LockedPath
from gitpipe.pipeline.paramformats import parse_params
from gitpipe.storage.objects import CacheError, ObjectStore
from gitpipe.trust.checks import printable, resolves_inside

# Metrics are a few numbers; a larger file is not one, whatever it claims.
MAX_METRICS_BYTES = 4 * 1024 * 1024
WORKSPACE = "workspace"  # the label of the work tree where a revision's name would go


class MetricsFile(NamedTuple):
    """A metrics file as read at one place: its flattened values, or why there
    are none (`missing`: nothing there to read; `problem`: there, unreadable)."""

    path: str
    values: dict[str, Any]
    missing: bool = False
    problem: str | None = None
    hint: str | None = None


def parse_metrics(data: bytes, path: str, where: str) -> dict[str, Any]:
    """{dotted.key: value} of a metrics file's bytes; BadInputError naming
    `path` and `where` (a revision, or the work tree) when it does not parse."""
    source = f"{printable(path)} ({where})"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInputError(f"{source}: not UTF-8 text") from None
    parsed = parse_params(text, path, source)
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise BadInputError(f"{source}: must hold a mapping of metric names to values, "
                            f"not a {type(parsed).__name__}")
    return flatten(parsed)


def flatten(data: dict[Any, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings → {"a.b.c": leaf}, as DVC names metrics; lists stay values."""
    found: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            found.update(flatten(value, name + "."))
        else:
            found[name] = value
    return found


def from_bytes(path: str, data: bytes, where: str) -> MetricsFile:
    try:
        return MetricsFile(path, parse_metrics(data, path, where))
    except BadInputError as exc:
        return MetricsFile(path, {}, problem=exc.message, hint=exc.hint)


def too_large(path: str, where: str) -> MetricsFile:
    return MetricsFile(path, {}, problem=f"{printable(path)} ({where}): larger than "
                       f"{MAX_METRICS_BYTES // (1024 * 1024)} MiB, not a metrics file")


def in_work_tree(root: Path, path: str) -> MetricsFile:
    """The work tree's file at `path`; missing when there is none."""
    full = root / path
    if not resolves_inside(root, full):
        # A symlink a checkout may have brought: nothing outside the project is read.
        return MetricsFile(path, {}, problem=f"{printable(path)}: leads outside the project")
    try:
        if not stat_module.S_ISREG(os.stat(full).st_mode):
            return MetricsFile(path, {}, problem=f"{printable(path)}: not a regular file")
        with open(full, "rb") as handle:
            data = handle.read(MAX_METRICS_BYTES + 1)
    except FileNotFoundError:
        return MetricsFile(path, {}, missing=True)
    except OSError as exc:
        return MetricsFile(path, {}, problem=f"{printable(path)}: cannot read: {exc.strerror}")
    if len(data) > MAX_METRICS_BYTES:
        return too_large(path, WORKSPACE)
    return from_bytes(path, data, WORKSPACE)


def at_revision(revision: Revision, path: str, locked: LockedPath | None,
                cache: ObjectStore) -> MetricsFile:
    """The file as the commit holds it; where git does not, the cached object
    the commit's gitpipe.lock names; missing when the lock names none."""
    where = f"at {revision.rev}"
    if revision.kind(path) == "file":
        blob_id = revision.blob_id(path)
        assert blob_id is not None
        if _blob_size(revision, blob_id) > MAX_METRICS_BYTES:
            return too_large(path, where)
        data = revision.checkout_bytes(path)
        if len(data) > MAX_METRICS_BYTES:
            return too_large(path, where)
        return from_bytes(path, data, where)
    if locked is None:
        return MetricsFile(path, {}, missing=True)
    return _from_cache(path, locked.digest, cache, where)


def _blob_size(revision: Revision, blob_id: str) -> int:
    """The size git records for a blob: checked before its bytes are converted,
    asked of the object's header (looking the blob up inflates it whole)."""
    return int(revision.git.repo.odb.read_header(blob_id)[1])


def _from_cache(path: str, digest: str, cache: ObjectStore, where: str) -> MetricsFile:
    source = f"{printable(path)} ({where})"
    try:
        if digest.endswith(DIR_SUFFIX):
            raise CacheError("a directory")
        objects = cache.path(digest)
    except CacheError:
        return MetricsFile(path, {}, problem=f"{source}: gitpipe.lock records {digest!r}, "
                           "not the digest of a file")
    try:
        with open(objects, "rb") as handle:
            data = handle.read(MAX_METRICS_BYTES + 1)
    except FileNotFoundError:
        return MetricsFile(
            path, {}, problem=f"{source}: not in git, and {digest} is not in the local cache",
            hint=f"check out {where.removeprefix('at ')} and run 'gitpipe pull' to fetch it "
                 "from the remote, or commit metrics files to git (they are kept there)")
    except OSError as exc:
        return MetricsFile(path, {}, problem=f"{source}: cannot read {objects}: {exc.strerror}")
    if len(data) > MAX_METRICS_BYTES:
        return too_large(path, where)
    if str(hash_bytes(data)) != digest:
        return MetricsFile(path, {}, problem=f"{source}: the cached object {digest} is corrupt",
                           hint="run 'gitpipe fsck --repair', then 'gitpipe pull'")
    return from_bytes(path, data, where)
