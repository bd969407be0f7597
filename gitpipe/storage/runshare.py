"""Run-cache entries between the local cache and a remote: signed on the way
out, under the scope being written; on the way in, each scope read in turn
and an entry used only when its signatures verify (trust/signedruns.py).

Only an entry the main scope's trust accepts joins the local run-cache,
which this machine then trusts for good; one accepted only by a named
scope's trust restores the stage it was asked for, and is not kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from gitpipe.core.progress import expect
from gitpipe.storage.cache import Cache
from gitpipe.storage.packstore import present_keys
from gitpipe.storage.remote import Progress, Remote, RemoteError
from gitpipe.trust.signedruns import Sharing, envelope, opened, remote_key


class Received(NamedTuple):
    """A remote entry found and trusted: its bytes, the key it was read from,
    and whether it joined the local run-cache."""

    data: bytes
    key: str
    kept: bool


def publish(remote: Remote, cache: Cache, rels: Iterable[str], sharing: Sharing,
            jobs: int = 8, progress: Progress | None = None) -> int:
    """Upload the local entries `rels` (run_relpaths) to the scope written,
    signed (`to_publish`, then `upload`). Returns how many were uploaded."""
    todo = to_publish(remote, cache, rels, sharing)
    expect(progress, len(todo), sum(len(data) for data in todo.values()))
    return upload(remote, todo, jobs, progress)


def to_publish(remote: Remote, cache: Cache, rels: Iterable[str],
               sharing: Sharing, jobs: int = 8) -> dict[str, bytes]:
    """The envelopes of the entries `rels` to upload, by remote key: an entry
    already there is left, unless this pusher signs and the one there is not
    trusted (unsigned, planted, signed by another key): then it is replaced.
    The entries there are read and checked, and the new ones signed, on `jobs`
    threads: an SSH signature or its check is one `ssh-keygen` process each."""
    scope = sharing.write_scope
    keys = {remote_key(rel, scope): rel for rel in dict.fromkeys(rels)}
    # A few entries are looked up one by one: no listing of every entry ever pushed.
    present = present_keys(remote, list(keys), remote_key("runs", scope))

    def wanted(key: str) -> bool:
        return key not in present or (sharing.signer.signs() and
                                      _untrusted_there(remote, key, sharing))

    def sealed(key: str) -> bytes:
        return envelope(key, (cache.root / keys[key]).read_bytes(), sharing.signer)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        todo = [key for key, keep in zip(keys, pool.map(wanted, keys), strict=True) if keep]
        return dict(zip(todo, pool.map(sealed, todo), strict=True))


def upload(remote: Remote, todo: dict[str, bytes], jobs: int = 8,
           progress: Progress | None = None) -> int:
    """Put these envelopes on the remote; how many."""
    def one(item: tuple[str, bytes]) -> None:
        remote.put_bytes(*item)
        if progress is not None:
            progress(item[0], len(item[1]))

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(one, todo.items()))
    return len(todo)


def _untrusted_there(remote: Remote, key: str, sharing: Sharing) -> bool:
    data = remote.get_bytes(key)
    return data is None or opened(key, data, sharing.policy(sharing.write_scope))[0] is None


def receive(remote: Remote, cache: Cache, rel: str, sharing: Sharing,
            notes: list[str]) -> Received | None:
    """The first trusted entry for `rel` in the scopes read (main first); each
    one found there but not trusted adds a note saying why. A kept entry is
    stored in the local cache under `rel`."""
    for scope in sharing.scopes():
        key = remote_key(rel, scope)
        try:
            data = remote.get_bytes(key)
        except RemoteError as exc:
            notes.append(f"{exc.message}; it is ignored")
            continue
        if data is None:
            continue
        entry, problem = opened(key, data, sharing.policy(scope))
        if entry is None:
            notes.append(f"remote {remote.name!r}: run-cache entry {key} {problem}")
            continue
        kept = scope is None or opened(key, data, sharing.trust)[0] is not None
        if kept:
            cache.put_run(rel, entry)
        return Received(entry, key, kept)
    return None


def listing(remote: Remote, sharing: Sharing) -> dict[str, list[str]]:
    """{run_relpath: the keys it has in the scopes read, main first}: one
    listing per scope."""
    found: dict[str, list[str]] = {}
    for scope in sharing.scopes():
        prefix = remote_key("", scope)
        for key in sorted(remote.listing(remote_key("runs", scope))):
            found.setdefault(key.removeprefix(prefix), []).append(key)
    return found
