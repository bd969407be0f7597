"""Storage options a committed `.gitpipe/config.yaml` may not give a remote:
those that choose which of this machine's files the filesystem reads or
writes. Where a remote's bytes go is the committed config's to say (as a
stage's command could); which of the user's files are read, sent or written
besides is this machine's (its environment, or config.local.yaml)."""

from __future__ import annotations

from typing import Any

from gitpipe.core.errors import BadInputError

# Each name, at any depth of a remote's options (a chained URL's `s3:`,
# `http:` or `simplecache:` options, a `target_options`), and what it does.
_MACHINE_OPTIONS = {
    # s3fs hands it to botocore's session: it names the AWS config file,
    # whose profiles name programs botocore runs for credentials.
    "session_vars": "chooses the files botocore reads (its AWS config file, whose profiles "
                    "name programs to run for credentials)",
    # fsspec's http filesystem hands `client_kwargs` to aiohttp's session,
    # which with it reads ~/.netrc (or $NETRC) and sends the login for the
    # host, or the file's `default` login for any host, as Basic auth.
    "trust_env": "has aiohttp read ~/.netrc and send its passwords to the remote's host",
    # fsspec's caches (simplecache::, filecache::, blockcache::) write what
    # the remote serves there, before gitpipe checks a byte of it.
    "cache_storage": "chooses a folder of this machine that fsspec's cache writes what the "
                     "remote serves into",
    # fsspec's zip filesystem opens its archive (`zip://…::file://~/.bashrc`)
    # for writing when the remote is opened: `w` truncates any file.
    "mode": "opens an archive file of this machine for writing (zip's 'w' empties it "
            "before anything is moved)",
}
_HINT = {
    "session_vars": "remove it; set AWS_CONFIG_FILE or AWS_SHARED_CREDENTIALS_FILE, or give the "
                    "option in .gitpipe/config.local.yaml (not committed)",
}


def check_committed_options(remotes: dict[str, Any], source: str) -> None:
    """Raise for an option of `_MACHINE_OPTIONS` at any depth of a committed
    remote's options, naming `source`, the option's dotted path and why."""
    for name, body in remotes.items():
        found = _key_path(body, _MACHINE_OPTIONS) if isinstance(body, dict) else None
        if found is None:
            continue
        path, key = found
        raise BadInputError(
            f"{source}: remotes.{name}.{path} {_MACHINE_OPTIONS[key]}: this machine's "
            "choice, never part of the committed config",
            hint=_HINT.get(key, "remove it, or give the option in .gitpipe/config.local.yaml "
                                "(not committed)"))


def _key_path(value: Any, keys: dict[str, str]) -> tuple[str, str] | None:
    """The dotted path and name of the first of `keys` in the mappings of
    `value` (and the mappings in its lists), at any depth, or None."""
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        at, item = pending.pop()
        if isinstance(item, dict):
            for name, inner in item.items():
                here = f"{at}.{name}" if at else str(name)
                if name in keys:
                    return here, str(name)
                pending.append((here, inner))
        elif isinstance(item, list):
            pending.extend((at, inner) for inner in item)
    return None
