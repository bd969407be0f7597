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
# botocore's session variables name the files it reads (its config and
# credentials files, its service models): a config file's profile can name a
# program botocore runs for credentials (`credential_process`), or a token
# file it sends to an endpoint the profile names.
_SESSION_FILES = "session_vars"


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


def check_committed_options(remotes: dict[str, Any], source: str) -> None:
    """Raise for a `session_vars` at any depth of a committed remote's options
    (s3fs hands it to botocore's session; a chained URL's `s3:` options and a
    `target_options` reach s3fs too): the committed file would choose the
    AWS config file botocore reads, and with it a program that runs on
    `push`, `pull` or the pre-push hook. Where the files are is this user's
    choice (AWS_CONFIG_FILE, or config.local.yaml)."""
    for name, body in remotes.items():
        found = _key_path(body, _SESSION_FILES) if isinstance(body, dict) else None
        if found is not None:
            raise BadInputError(
                f"{source}: remotes.{name}.{found} chooses the files botocore reads (its AWS "
                "config file, whose profiles name programs to run for credentials): this "
                "machine's choice, never part of the committed config",
                hint="remove it; set AWS_CONFIG_FILE or AWS_SHARED_CREDENTIALS_FILE, or give the "
                     "option in .gitpipe/config.local.yaml (not committed)")


def _key_path(value: Any, key: str) -> str | None:
    """The dotted path of the first `key` in the mappings of `value` (and the
    mappings in its lists), at any depth, or None."""
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        at, item = pending.pop()
        if isinstance(item, dict):
            for name, inner in item.items():
                here = f"{at}.{name}" if at else str(name)
                if name == key:
                    return here
                pending.append((here, inner))
        elif isinstance(item, list):
            pending.extend((at, inner) for inner in item)
    return None


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
