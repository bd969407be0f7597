"""A remote's fsspec filesystem, opened from its URL and storage options; a
folder on this machine behind fsspec's wrappers opened as the plain folder it is."""

from __future__ import annotations

import os
import sys
from typing import Any

from gitpipe.core.errors import BadInputError, MissingExtraError
from gitpipe.core.install import pip_install
from gitpipe.storage.urls import masked_url

_EXTRAS = {"s3": pip_install("s3"), "s3a": pip_install("s3")}


def open_fs(url: str, options: dict[str, Any]) -> tuple[Any, str]:
    """(the filesystem, the remote's base path in it) for `url` and `options`."""
    import fsspec

    protocol = url.split("://", 1)[0] if "://" in url else "file"
    try:
        # No instance cache: fsspec keys it on the arguments, not on the
        # AWS_* environment the client reads, so a cached S3 filesystem could
        # keep talking to an endpoint the environment no longer names.
        fs, base = fsspec.core.url_to_fs(url, skip_instance_cache=True, **options)
    except ImportError as exc:
        # fsspec's own message names the package that implements the protocol.
        hint = _EXTRAS.get(protocol) or str(exc).splitlines()[0]
        raise MissingExtraError(f"remote {url!r} needs the {protocol!r} filesystem",
                                hint=hint) from None
    except (ValueError, TypeError) as exc:
        raise BadInputError(f"remote {masked_url(url)!r}: {exc}") from None
    except Exception as exc:
        # A filesystem may read what the URL names when it is opened (an
        # archive's index, a reference file): what it finds there is input.
        raise BadInputError(f"remote {masked_url(url)!r} cannot be opened: "
                            f"{type(exc).__name__}: {exc}") from None
    _without_netrc(fs)
    return plain_folder(fs, str(base))


def _without_netrc(fs: Any) -> None:
    """Keep the `requests` sessions of `fs` and the filesystems it wraps
    (webhdfs, dbfs, jupyter) from reading ~/.netrc: requests sends its login
    for the host, or the file's `default` login for any host, as Basic auth,
    and a committed URL chooses the host. A remote's credentials are its
    options (webhdfs's `user` and `password`, a `token`). The environment's
    proxies and CA bundle, which requests reads with the same switch, stay."""
    requests = sys.modules.get("requests")  # a filesystem with such a session imported it
    if requests is None:
        return
    while fs is not None:
        session = getattr(fs, "session", None)
        if isinstance(session, requests.Session) and session.trust_env:
            session.trust_env = False
            where = str(getattr(fs, "url", "")) or "http://"
            session.proxies = {**requests.utils.get_environ_proxies(where), **session.proxies}
            if session.verify is True:
                session.verify = (os.environ.get("REQUESTS_CA_BUNDLE")
                                  or os.environ.get("CURL_CA_BUNDLE") or True)
        fs = getattr(fs, "fs", None)


def plain_folder(fs: Any, base: str) -> tuple[Any, str]:
    """The folder on this machine that `fs` and `base` reach through fsspec's
    wrappers, as the local filesystem and the folder's path; any other storage
    unchanged. `dir://NAME` with the options `path: .` and `target_protocol:
    file` (or a cache chained before a folder) is a folder remote the URL does
    not name: it was never checked to lie outside the repository (a committed
    one had `push` write into the work tree) nor read and written without
    following symlinks, which both ask of a folder remote."""
    from fsspec.implementations.cached import CachingFileSystem
    from fsspec.implementations.dirfs import DirFileSystem
    from fsspec.implementations.local import LocalFileSystem

    inner, path = fs, base
    while isinstance(inner, (DirFileSystem, CachingFileSystem)):
        if isinstance(inner, DirFileSystem) and inner.path:
            path = inner.fs.sep.join((inner.path, path)) if path else inner.path
        inner = inner.fs
    if not isinstance(inner, LocalFileSystem):
        return fs, base
    return inner, os.path.normpath(inner._strip_protocol(path))
