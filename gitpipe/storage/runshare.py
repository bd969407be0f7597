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
    signed; an entry already there is left, unless this pusher signs and the
    one there is not trusted (unsigned, planted, signed by another key): then
    it is replaced. Returns how many were uploaded."""
    scope = sharing.write_scope
    present = remote.listing(remote_key("runs", scope))
    todo: dict[str, bytes] = {}
    for rel in dict.fromkeys(rels):
        key = remote_key(rel, scope)
        if key in present and not (sharing.signer.signs() and
                                   _untrusted_there(remote, key, sharing)):
            continue
        todo[key] = envelope(key, (cache.root / rel).read_bytes(), sharing.signer)
    expect(progress, len(todo), sum(len(data) for data in todo.values()))

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
