"""Objects remembered between commands as pickles that only this user can have made.

A pickle runs code when it is loaded, and `.gitpipe/` can come from someone
else's repository (a commit, an archive), so every pickle written here is
signed with HMAC-SHA256 under a key that lives in this user's cache directory,
never inside the project, and the signature is checked before anything is
unpickled. The `key` a caller passes identifies what the object was built from
(the spec's text and the code that parsed it): a pickle for another key is not
loaded either. Anything odd (no key, a missing, partial or foreign file) means
"not remembered"; nothing here raises.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path

from gitpipe.trust.dotdir import user_cache_home

KEY_FILE = "pickle-signing-key"
_SIGNATURE = 32  # bytes of HMAC-SHA256
_KEY_BYTES = 64  # read of the key file at most (it holds 32 bytes, as a signature does)


def signing_key(root: Path) -> bytes | None:
    """This user's key, made on first use; None where it would live inside the
    project (HOME in a repository: it must never be committed or shared), or
    where another user could have chosen it (see _own_key)."""
    home = Path(user_cache_home())
    path = home / KEY_FILE
    try:
        if home.resolve().is_relative_to(root.resolve()):
            return None
        return _own_key(path)
    except FileNotFoundError:
        pass
    except (OSError, RuntimeError):
        return None
    try:
        import secrets  # once per user: it imports random, base64 and more

        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    except FileExistsError:
        pass  # another process made it first
    except OSError:
        return None
    try:
        return _own_key(path)
    except OSError:
        return None


def _own_key(path: Path) -> bytes | None:
    """The key at `path` if it is a regular file this user owns that group and
    others cannot write, opened without following a link (raises as open does;
    None otherwise). XDG_CACHE_HOME may be a folder others write too (a CI
    runner's /tmp): a key file another user made there first, or linked to a
    file of theirs, is a key they know."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() \
                or info.st_mode & 0o022:
            return None
        key = os.read(fd, _KEY_BYTES)
        return key if len(key) >= _SIGNATURE else None  # being written by another process
    finally:
        os.close(fd)


def load(path: Path, key: bytes, root: Path) -> object | None:
    """The object stored under `key` at `path`, if this user signed it."""
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    secret = signing_key(root)
    # Views, not slices: a large pickle is not copied twice on its way in.
    payload = memoryview(blob)[_SIGNATURE:]
    if secret is None or payload[:len(key)] != key or not hmac.compare_digest(
            blob[:_SIGNATURE], hmac.new(secret, payload, hashlib.sha256).digest()):
        return None
    import pickle

    try:
        return pickle.loads(payload[len(key):])
    except Exception:
        return None


def store(path: Path, key: bytes, root: Path, obj: object) -> None:
    """Remember `obj` under `key` at `path` (atomically), when a key can be had."""
    secret = signing_key(root)
    if secret is None:
        return
    import pickle

    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        payload = key + pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(hmac.new(secret, payload, hashlib.sha256).digest() + payload)
        os.replace(tmp, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        tmp.unlink(missing_ok=True)  # a read-only checkout: nothing remembered
