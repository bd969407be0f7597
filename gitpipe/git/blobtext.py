"""One of gitpipe's own files (the spec, params, the lock, a vars or config
file) as git records it, in a commit or in the index being committed: its
text, or an error naming it. git records a symlink as a blob holding where it
leads; read as the file's text, that name would pass for the file, so a link
is refused, as the work tree's reader reads only what a link leads to."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from gitpipe.core.errors import BadInputError
from gitpipe.core.utf8 import decode_utf8
from gitpipe.core.yamlio import MAX_BYTES

if TYPE_CHECKING:
    import pygit2

LINK_MODE = 0o120000  # a symlink's mode in a tree or the index


class BlobTooLarge(BadInputError):
    """A blob git records as larger than gitpipe reads."""


# git reads no `.gitattributes` larger than this (it warns and ignores it).
ATTRIBUTES_MAX = 100 * 1024 * 1024


def bounded_blob(repo: pygit2.Repository, blob_id: str, name: str,
                 limit: int = MAX_BYTES) -> bytes:
    """The bytes of the blob of one of gitpipe's own files (or of a
    `.gitattributes`, with ATTRIBUTES_MAX), `name` in messages; BadInputError
    where git records it larger than any of them is read (16 MiB), asked of
    the object's header before a byte is inflated: a clone's history may
    hold a blob of gigabytes that compresses to megabytes, which read whole
    costs thousands of times its packed size in memory."""
    size = recorded_size(repo, blob_id, name)
    if size > limit:
        raise BlobTooLarge(f"{name}: file is larger than {limit // (1024 * 1024)} MiB "
                           f"({size} bytes in git): not read")
    return bytes(repo[blob_id].read_raw())


def recorded_size(repo: pygit2.Repository, blob_id: str, name: str) -> int:
    """The size git records for the blob in its object's header, nothing of
    it inflated; BadInputError naming `name` where the repository lacks it."""
    try:
        return int(repo.odb.read_header(str(blob_id))[1])
    except KeyError:  # pygit2's NotFoundError: a partial clone's, or a tree made so
        raise BadInputError(f"{name}: git object {blob_id} is missing from this repository",
                            hint="fetch it ('git fetch' from where it was cloned), or "
                                 "name a commit whose files are all here") from None


def bounded_text_or_nothing(repo: pygit2.Repository, blob_id: str, name: str) -> str:
    """The text of a past version of one of gitpipe's own files, or "" where
    it is too large to be read: a lock that names nothing, as a damaged one
    does (gc keeps nothing of its own for it rather than refusing for ever)."""
    try:
        return bounded_blob(repo, blob_id, name).decode("utf-8", errors="replace")
    except BlobTooLarge:  # a missing object is no damage: it may be fetched, so it refuses
        return ""


def blob_text(data: bytes, mode: int, name: str, where: str) -> str:
    """The text of the blob `data` git records with `mode`, named `name` in
    messages; BadInputError for a symlink (`where`: in what gitpipe read it)
    or bytes that are not UTF-8."""
    if mode == LINK_MODE:
        target = os.fsdecode(data)
        shown = repr(target if len(target) <= 200 else target[:200] + "…")
        raise BadInputError(f"{name}: a symlink (to {shown}), not a file: gitpipe reads its "
                            f"files {where} only as regular files",
                            hint="commit the file itself in place of the link")
    return decode_utf8(data, name)
