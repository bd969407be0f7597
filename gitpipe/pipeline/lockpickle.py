"""The lock's checked entries remembered between commands: a signed pickle
(trust/signedcache.py), keyed by the lock's text and by the source of the
code that reads a lock.

The parse cache spares a status the YAML of a large lock, but every entry is
still checked and built in Python from the cached data; unpickling builds
the same entries at C speed. The pickle lives in the parse cache's folder,
this user's for the repository (project/root.py), never in the work tree. It
holds only what `lockfile.parse` gave for exactly that text: a reader stores
what it parsed, and the lock writer what a reader of the parse cache it
seeded would build (tests/unit/test_parseseed.py holds the two together).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xxhash

from gitpipe.trust import signedcache

PICKLE = "gitpipe.lock.entries.pickle"


def remembered(text: str, cache_dir: Path | None, root: Path | None,
               readers: tuple[str, ...]) -> dict[str, Any] | None:
    """The entries remembered for `text` read by the code of `readers` (their
    source files), or None: nothing remembered for exactly these."""
    if cache_dir is None or root is None:
        return None
    key = _key(text, readers)
    if key is None:
        return None
    found = signedcache.load(cache_dir / PICKLE, key, root)
    return found if isinstance(found, dict) else None


def remember(text: str, cache_dir: Path | None, root: Path | None,
             readers: tuple[str, ...], entries: dict[str, Any]) -> None:
    """Remember `entries` as what the code of `readers` reads `text` as."""
    if cache_dir is None or root is None:
        return
    key = _key(text, readers)
    if key is not None:
        signedcache.store(cache_dir / PICKLE, key, root, entries)


def _key(text: str, readers: tuple[str, ...]) -> bytes | None:
    """What the entries of `text` are remembered under; None where the code's
    source cannot be read (nothing is remembered then)."""
    # A changed check is applied again, and a changed entry class never
    # unpickles into objects of the old shape.
    # Hashed in parts, the same digest as of their concatenation: a large
    # lock's text is not copied again to be hashed.
    key = xxhash.xxh3_128()
    try:
        for index, path in enumerate((*readers, __file__)):
            key.update(b"\0" if index else b"")
            key.update(Path(path).read_bytes())
    except OSError:
        return None
    key.update(b"\0")
    key.update(text.encode())
    return key.digest()
