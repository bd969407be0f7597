"""What a committed `.gitpipe/config.yaml` may not say of a remote: a
protocol outside the storage a team shares (fsspec's wrappers open, cache or
write this machine's files), and the options that choose which of this
machine's files the filesystem reads or writes. Where a remote's bytes go is
the committed config's to say (as a stage's command could); which of the
user's files are read, sent or written besides is this machine's (its
environment, or config.local.yaml, which may name any protocol)."""

from __future__ import annotations

from typing import Any

from gitpipe.core.errors import BadInputError
from gitpipe.pipeline.configcheck import storage_options
from gitpipe.pipeline.fsspecdefaults import SOURCE as FSSPEC_SOURCE
from gitpipe.pipeline.fsspecdefaults import fsspec_defaults
from gitpipe.pipeline.optionlists import (
    ANY_HOST,
    CHOOSES_HOST,
    SENT_AS_IS,
    given_in,
    option_problem,
)
from gitpipe.trust.plaintext import shell_word

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
    # An ssh:// remote (sshfs) hands every other option to asyncssh.connect.
    "proxy_command": "runs a program of its choice to reach an ssh remote's host",
    "config": "names OpenSSH config files for an ssh remote, whose ProxyCommand or Match "
              "exec runs a program",
    "pkcs11_provider": "loads a library of its choice into gitpipe (an ssh remote's keys)",
    "client_host_keysign": "runs a program of its choice to sign an ssh remote's host-based "
                           "login",
    "send_env": "sends this machine's environment variables (its cloud keys, CI tokens) to "
                "an ssh remote's server",
    "agent_forwarding": "lends this machine's ssh agent, and so its keys, to an ssh remote's "
                        "server",
    "x11_forwarding": "opens this machine's X display to an ssh remote's server",
    "gss_delegate_creds": "hands an ssh remote's server this machine's Kerberos credentials",
    "gss_deleg_creds": "hands an sftp remote's server this machine's Kerberos credentials",
}
_HINT = {
    "session_vars": "remove it; set AWS_CONFIG_FILE or AWS_SHARED_CREDENTIALS_FILE, or give the "
                    "option in .gitpipe/config.local.yaml (not committed)",
}


# The storage a committed remote may name: a folder, or a service reached
# over the network. Every other fsspec protocol is a wrapper over this
# machine's files (dir, the caches, zip and tar, reference, memory) or a
# filesystem no team shares a cache through; each was a way in before.
COMMITTED_PROTOCOLS = ("file", "local", "s3", "s3a", "gs", "gcs", "az", "abfs", "abfss",
                       "ssh", "sftp", "http", "https", "hdfs", "webhdfs")
# Options fsspec takes as another filesystem than the URL names: `protocol`
# replaces the URL's; the rest feed a wrapper the user's own URL may chain.
_OTHER_FILESYSTEM = ("protocol", "target_protocol", "target_options", "fo")
_PROTOCOL_HINT = ("a committed remote names its storage: a folder's path, s3://, gs://, "
                  "az://, ssh://, https://, hdfs:// or webhdfs://; a cache or another "
                  "wrapper is this machine's choice: 'gitpipe remote add --local NAME URL' "
                  "writes .gitpipe/config.local.yaml (not committed)")


def check_committed_remotes(committed: dict[str, Any], local: dict[str, Any],
                            merged: dict[str, Any], source: str, local_source: str) -> None:
    """Every rule a committed remote keeps, `committed` being the committed
    file's remotes, `local` config.local.yaml's and `merged` both together:
    its protocol, the options that reach this machine, the hosts a bearer
    token may go to, the options it may give at all; and the user's secrets
    sent as they are go only to a host the user's own file names."""
    check_committed_protocols(committed, source)
    check_committed_options(committed, source)
    check_committed_endpoints(committed, merged, source)
    check_allowed_options(committed, merged, source)
    check_local_secrets(local, merged, local_source)


_ALLOWED_HINT = ("move remotes.{name}.{top} to .gitpipe/config.local.yaml (not committed){how}; "
                 "docs/reference/config.md lists the options a committed remote may give")


def check_allowed_options(committed: dict[str, Any], merged: dict[str, Any],
                          source: str) -> None:
    """Raise for a committed remote's storage option outside its protocol's
    list (optionlists.ALLOWED; the protocol is the URL's, from either file),
    naming `source`, the option's dotted path and the protocol."""
    for name, body in committed.items():
        url = (merged.get(name) or {}).get("url")
        if not isinstance(body, dict) or not isinstance(url, str):
            continue
        protocol = None if "::" in url else url_protocol(url)
        found = option_problem(protocol, storage_options(body))
        if found is None:
            continue
        path, why = found
        said = f"a remote on {protocol}://" if protocol else "a remote whose URL chains filesystems"
        raise BadInputError(
            f"{source}: remotes.{name}.{path} {why} ({said}): the committed config says "
            "where a remote's bytes go and how they are stored; every other option is this "
            "machine's choice", hint=_allowed_hint(str(name), path))


def _allowed_hint(name: str, path: str) -> str:
    top = path.split(".")[0]
    # The option's name is the committed file's text: one shell word when pasted.
    how = "" if "." in path else \
        f": 'gitpipe remote modify --local {shell_word(name)} {shell_word(path)} VALUE'"
    return _ALLOWED_HINT.format(name=name, top=top, how=how)


def check_local_secrets(local: dict[str, Any], merged: dict[str, Any],
                        local_source: str) -> None:
    """Raise for a secret this user's options give a remote (config.local.yaml,
    or fsspec's own defaults for its protocol) that its library sends as it
    is (optionlists.SENT_AS_IS) where the committed file alone names the host
    it goes to: the URL, or an option choosing the host."""
    for name, full in merged.items():
        url = full.get("url") if isinstance(full, dict) else None
        if not isinstance(url, str) or "::" in url:
            continue
        protocol = url_protocol(url)
        if protocol not in SENT_AS_IS and protocol not in ANY_HOST:
            continue
        given_here = local.get(name)
        body: dict[str, Any] = given_here if isinstance(given_here, dict) else {}
        chooser = next((option for option in ("url", *CHOOSES_HOST.get(protocol, ()))
                        if given_in(full, option) and not given_in(body, option)), None)
        if chooser is None:
            continue
        for given, source in ((body, ""), (fsspec_defaults(protocol), FSSPEC_SOURCE)):
            found = _sent_secret(protocol, given)
            if found is None:
                continue
            secret, sent = found
            said = (f"{local_source}: remotes.{name}.{secret} {sent}" if not source else
                    f"{source} gives remotes.{name} the option {secret}, which {sent}")
            raise BadInputError(
                f"{said}, and only the committed .gitpipe/config.yaml gives its {chooser} (a "
                "pull request may point it at any server): your secret goes only where your "
                "own file says",
                hint=f"give the {chooser} in .gitpipe/config.local.yaml too: 'gitpipe remote "
                     f"modify --local {shell_word(str(name))} {chooser} VALUE'")


def defaults_secret_problem(url: str) -> str | None:
    """Why fsspec's own defaults may not go to `url`, a host only gitpipe.yaml
    names (a sensor, polled with no option of gitpipe's): the option they
    give its protocol that may carry a secret; None where they give none."""
    if "://" not in url or "::" in url:
        return None
    protocol = url_protocol(url)
    if protocol not in SENT_AS_IS and protocol not in ANY_HOST:
        return None
    found = _sent_secret(protocol, fsspec_defaults(protocol))
    if found is None:
        return None
    return (f"{FSSPEC_SOURCE} gives {protocol}:// the option {found[0]}, which {found[1]}, "
            "and only gitpipe.yaml names this host")


def _sent_secret(protocol: str, options: dict[str, Any]) -> tuple[str, str] | None:
    """(the option of `options` that may carry a secret to the remote's host,
    how), or None."""
    secret = next((option for option in SENT_AS_IS.get(protocol, ())
                   if given_in(options, option)), None)
    if secret is not None:
        return secret, "is sent as it is to the remote's host"
    if protocol in ANY_HOST:
        off_list = option_problem(protocol, storage_options(options))
        if off_list is not None:
            return off_list[0], ("may carry a secret to the remote's host (it is no option a "
                                 "committed remote may give)")
    return None


def check_committed_protocols(remotes: dict[str, Any], source: str) -> None:
    """Raise for a committed remote whose URL chains filesystems (`a::b`) or
    names a protocol outside `COMMITTED_PROTOCOLS`, or whose options name
    another filesystem, naming `source`, the remote and the protocol."""
    for name, body in remotes.items():
        if not isinstance(body, dict):
            continue
        url = body.get("url")
        problem = url_protocol_problem(url) if isinstance(url, str) else None
        if problem:
            raise BadInputError(f"{source}: remotes.{name}.url {problem}", hint=_PROTOCOL_HINT)
        for option in _OTHER_FILESYSTEM:
            if option in body:
                raise BadInputError(
                    f"{source}: remotes.{name}.{option} names another filesystem than the "
                    "remote's URL: never part of the committed config", hint=_PROTOCOL_HINT)


def url_protocol_problem(url: str) -> str | None:
    """Why a committed remote may not use `url`, read as fsspec reads it (a
    `::` chain, then the text before `://`, or `data:`), or None."""
    if "::" in url:
        return (f"holds '::', which fsspec reads as a chain of filesystems ({url.split('::')[0]!r} "
                "over the rest)")
    protocol = url_protocol(url)
    if protocol in COMMITTED_PROTOCOLS:
        return None
    return f"names the protocol {protocol!r}, which is not shared storage"


def url_protocol(url: str) -> str:
    """The protocol fsspec opens a single (unchained) `url` with."""
    head, sep, _ = url.partition("://")
    if sep and len(head) > 1:  # one letter is a Windows drive
        return head
    return "data" if url.startswith("data:") else "file"


# Where a protocol's credentials are a bearer token, sent as it is (not a
# signature of one request, as S3's are), the option that sends it to
# another host than the service's own: gcsfs adds Google's access token, good
# for an hour against everything the user may reach, to every request.
_BEARER_HOSTS = {"gs": "endpoint_url", "gcs": "endpoint_url"}


def check_committed_endpoints(committed: dict[str, Any], merged: dict[str, Any],
                              source: str) -> None:
    """Raise for a committed `_BEARER_HOSTS` option of a remote whose URL
    (from either file) names such a protocol, naming `source` and the option."""
    for name, body in committed.items():
        url = (merged.get(name) or {}).get("url")
        protocol = url_protocol(url) if isinstance(url, str) else ""
        option = _BEARER_HOSTS.get(protocol)
        if option is None or not isinstance(body, dict) or \
                _key_path(body, {option: ""}) is None:
            continue
        raise BadInputError(
            f"{source}: remotes.{name}.{option} sends this machine's {protocol}:// "
            "token (a bearer token, used as it is) to the host it names: this machine's "
            "choice, never part of the committed config",
            hint="remove it, or give it in .gitpipe/config.local.yaml (not committed)")


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
