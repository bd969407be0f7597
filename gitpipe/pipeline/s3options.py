"""The storage options of an `s3://` remote, checked by name before the
remote is used. s3fs hands a name it does not take to aiobotocore's session,
which fails at the first transfer with a TypeError that names neither the
remote nor its file; DVC's names (`access_key_id`, `region`, …) are the
likeliest to be written."""

from __future__ import annotations

from typing import Any

from gitpipe.core.errors import BadInputError

# DVC's names for the same settings, and what s3fs calls them.
_DVC_NAMES = {
    "access_key_id": "key", "secret_access_key": "secret", "session_token": "token",
    "endpointurl": "endpoint_url", "region": "client_kwargs: {region_name: …}",
    "region_name": "client_kwargs: {region_name: …}",
}
_SCHEMES = ("s3://", "s3a://")


def check_s3_options(name: str, url: str, options: dict[str, Any]) -> None:
    """Raise for an option of remote `name` (an s3:// URL) that s3fs does not
    take: naming the remote, the config files, and s3fs's name for a DVC one."""
    if not url.startswith(_SCHEMES) or not options:
        return
    taken = _names_s3fs_takes()
    if taken is None:
        return  # no s3fs here: the remote's own error names the extra to install
    for option in options:
        if option in taken:
            continue
        known = _DVC_NAMES.get(option)
        hint = (f"s3fs calls it {known}" if known else
                f"s3fs takes: {', '.join(sorted(taken - {'loop', 'asynchronous', 'session'}))}")
        raise BadInputError(f".gitpipe/config.yaml or config.local.yaml: remote {name!r}: "
                            f"{option!r} is not a storage option s3fs takes",
                            hint=f"{hint}; 'gitpipe remote modify {name} {option} --unset' "
                                 "(with --local for config.local.yaml) removes it")


def _names_s3fs_takes() -> set[str] | None:
    """s3fs's own arguments and those it passes on to aiobotocore's session."""
    import inspect

    try:
        from aiobotocore.session import AioSession
        from s3fs import S3FileSystem
    except ImportError:
        return None
    names = set(inspect.signature(S3FileSystem.__init__).parameters)
    names |= set(inspect.signature(AioSession.__init__).parameters)
    return names - {"self", "kwargs"}
