"""Remote URLs as settings write them: a local folder's path resolved against
the project root and refused inside the repository, and credentials masked
wherever a URL or the storage options are shown."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from gitpipe.core.errors import BadInputError
from gitpipe.trust.plaintext import quoted

if TYPE_CHECKING:
    from gitpipe.pipeline.config import RemoteSettings

LOCAL_PROTOCOLS = ("file", "local")
MASK = "****"
# Option names that hold or carry credentials (fsspec, s3fs, gcsfs, adlfs,
# sshfs spellings: an Azure `connection_string` holds the account key, an
# ssh `passphrase` unlocks one): masked where shown, kept out of a Job
# (which also withholds every name holding `key`: executors/kubernetes/manifest.py).
SECRET_OPTION = re.compile(r"secret|token|passw|passphrase|credential|auth|session|signature|"
                           r"private|sas|connection_string|(^|_)key$", re.IGNORECASE)
_URL_USERINFO = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<userinfo>[^/@]*)@",
                           re.I)


def _split_chain(url: str) -> tuple[str, str]:
    """fsspec's `cache::target` chains: (everything before the target, the target)."""
    head, sep, target = url.rpartition("::")
    return head + sep, target


def local_folder(url: str) -> str | None:
    """The path of a URL that names a folder on this machine (a plain path,
    `file://`, `local://`), else None."""
    target = _split_chain(url)[1]
    protocol, sep, path = target.partition("://")
    # One letter is a Windows drive to fsspec: `C://x` is a relative path,
    # which it would take from the process's directory, not the project's.
    if not sep or len(protocol) == 1:
        return target
    return path if protocol in LOCAL_PROTOCOLS else None


def resolve_url(url: str, root: Path) -> str:
    """A local folder's URL with a relative path joined to the project root and
    `~` expanded; any other URL unchanged. fsspec would take a relative path
    from the current directory, which a push from a subfolder or a git hook
    changes."""
    folder = local_folder(url)
    if folder is None:
        return url
    head, target = _split_chain(url)
    scheme = target[:len(target) - len(folder)]
    return head + scheme + os.path.normpath(root / os.path.expanduser(folder))


def check_outside(settings: RemoteSettings, url: str, places: list[Path]) -> None:
    """Refuse a local remote (its URL resolved) that lies in one of `places`
    (the work tree, git's own directories), by its path as written or through
    symlinks: a push there would write into files git tracks."""
    folder = local_folder(url)
    if folder is None:
        return
    written, real = Path(folder), Path(os.path.realpath(folder))
    for place in places:
        if _is_within(written, place) or _is_within(real, place):
            raise BadInputError(
                f"{settings.source}: remote {quoted(settings.name)} ({quoted(settings.url)}) "
                f"is {quoted(folder)}, inside the repository ({quoted(str(place))}): a push "
                "there writes "
                "into the work tree",
                hint=f"point it at a folder outside the repository: 'gitpipe remote modify "
                f"{settings.name} url PATH' (a folder of your own inside it belongs in "
                ".gitpipe/config.local.yaml)")


def _is_within(path: Path, place: Path) -> bool:
    return path == place or place in path.parents


def masked_url(url: str) -> str:
    """A URL with the credentials embedded in it (`s3://user:pass@…`,
    `https://token@host`) shown as ****; the user name stays readable."""
    match = _URL_USERINFO.match(url)
    if match is None:
        return url
    user, colon, _ = match["userinfo"].partition(":")
    shown = f"{user}:{MASK}" if colon else MASK
    return f"{match['scheme']}{shown}@{url[match.end():]}"


# Variables that point a URL at other storage without changing it or its
# options: an S3 endpoint or profile (botocore reads either profile name),
# whether a profile's endpoint counts, a Google Cloud Storage emulator, and
# the Azure account an `az://container` URL reaches (adlfs reads the name,
# or the connection string, which names the account and its endpoint).
_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE",
                       "AWS_DEFAULT_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                       "STORAGE_EMULATOR_HOST", "AZURE_STORAGE_ACCOUNT_NAME",
                       "AZURE_STORAGE_CONNECTION_STRING")
# fsspec's own defaults for every filesystem's options: FSSPEC_<PROTOCOL>…
# variables and its config folder (fsspec.config) add options the URL's
# settings do not show.
_FSSPEC_VARIABLES = "FSSPEC_"


def storage_identity(url: str, options: dict[str, Any]) -> str:
    """The storage a remote's URL and options reach, as text a record kept per
    storage is keyed by (storage/seen.py): the URL without a password (the
    user before `@` stays: an Azure URL names its container there), the
    options, the variables above, fsspec's defaults, and for S3 the AWS
    config and credentials files' digest. Two remotes that differ in any of them are
    two storages."""
    match = _URL_USERINFO.match(url)
    if match is not None:
        url = f"{match['scheme']}{match['userinfo'].partition(':')[0]}@{url[match.end():]}"
    variables = {name: value for name, value in os.environ.items()
                 if name in _ENDPOINT_VARIABLES or name.startswith(_FSSPEC_VARIABLES)}
    if "s3://" in url or "s3a://" in url:
        variables["aws config"] = _aws_config_digest()
    variables["fsspec config"] = _fsspec_defaults()
    # Options as they are: an Azure connection string names the account, so
    # masking it would make two accounts one storage. The text is only ever
    # hashed (storage/seen.py), beside the config file that holds them.
    return json.dumps([url, options, variables], sort_keys=True, default=str)


def _fsspec_defaults() -> Any:
    """The options fsspec adds to every filesystem of a protocol, as it read
    them from its variables and config folder when imported."""
    from fsspec.config import conf

    return conf


# AWS's two files, each by its variable, else its place in ~/.aws: botocore
# merges the credentials file's profiles into the config file's, so an
# `endpoint_url` in either points the same URL at other storage.
_AWS_FILES = (("AWS_CONFIG_FILE", "config"), ("AWS_SHARED_CREDENTIALS_FILE", "credentials"))
# The keys that say who is asking, not where: a rotated key reaches the
# same storage, and starts no new record (and no read-back of every object).
_AWS_SECRETS = frozenset(("aws_access_key_id", "aws_secret_access_key", "aws_session_token",
                          "aws_security_token"))
# Larger than any AWS file is (botocore reads it whole): past it the file's
# bytes count whole, hashed a block at a time; where it is neither a regular
# file nor /dev/null, the files are this process's own storage (nothing
# believed, never waited on).
_AWS_FILE_MOST = 1 << 20


def _aws_config_digest() -> str:
    """The digest of AWS's config and credentials files: a profile in either
    may set `endpoint_url` (for S3 alone too, or through a `services`
    section), which points the same URL at other storage. Any change to
    either but to a key itself starts a new record: a push then reads back
    once."""
    import hashlib

    digest = hashlib.sha256()
    for variable, name in _AWS_FILES:
        path = os.environ.get(variable) or os.path.join("~", ".aws", name)
        digest.update(f"{variable}\0".encode())
        # Variables expanded, then `~`, as botocore finds the file.
        digest.update(_aws_file_text(os.path.expanduser(os.path.expandvars(path))))
    return digest.hexdigest()


def _aws_file_text(path: str) -> bytes:
    """What of an AWS file can point a URL elsewhere: every key of every
    section but the secrets, where it parses as botocore's INI does; else
    its bytes. A link is followed, as botocore follows it."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return b"none"
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if stat.S_ISCHR(info.st_mode) and info.st_rdev == os.makedev(1, 3):
            data = b""  # /dev/null (a CI's way to say "no such file"): read as empty
        elif not stat.S_ISREG(info.st_mode):
            return os.urandom(16)  # a fifo or device: never read, nothing believed
        else:
            data = handle.read(_AWS_FILE_MOST + 1)
            if len(data) > _AWS_FILE_MOST:
                return _bytes_digest(handle, data)
    import configparser

    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(data.decode("utf-8", "replace"))
    except configparser.Error:
        return data
    kept = {section: {key: value for key, value in parser.items(section)
                      if key.lower() not in _AWS_SECRETS} for section in parser.sections()}
    return json.dumps(kept, sort_keys=True).encode()


def _bytes_digest(handle: BinaryIO, start: bytes) -> bytes:
    """The digest of a file too large to parse as botocore would (`start`, then
    the rest of `handle`), read a block at a time: any change to it, a key's
    too, starts a new record."""
    import hashlib

    digest = hashlib.sha256(start)
    for block in iter(lambda: handle.read(_AWS_FILE_MOST), b""):
        digest.update(block)
    return digest.digest()


def masked_options(options: dict[str, Any]) -> dict[str, Any]:
    """Storage options as they may be shown: credentials masked, nested
    mappings (`client_kwargs`) too, and credentials inside URLs."""
    shown: dict[str, Any] = {}
    for name, value in options.items():
        if isinstance(value, dict):
            shown[name] = masked_options(value)
        elif SECRET_OPTION.search(str(name)) and value not in (None, ""):
            shown[name] = MASK
        elif isinstance(value, str):
            shown[name] = masked_url(value)
        else:
            shown[name] = value
    return shown


def protocol_problem(url: str) -> str | None:
    """Why fsspec could never open `url`, said when a remote is added rather
    than at the first push: an unknown protocol (`htp://`), or a known one
    short of its `//` (`s3:/bucket`, which would be a folder of that name)."""
    from fsspec.registry import known_implementations, registry

    known = set(known_implementations) | set(registry)
    for part in url.split("::"):
        protocol, sep, _ = part.partition("://")
        if sep and protocol not in known:
            from gitpipe.core.errors import did_you_mean

            near = did_you_mean(protocol, sorted(known))
            return f"unknown protocol {protocol!r}" + (f" ({near})" if near else "")
        short = re.match(r"^([a-z][a-z0-9+.-]*):/?(?!/)", part)
        if not sep and short and short.group(1) in known and short.group(1) not in ("file",):
            fixed = f"{short.group(1)}://{part[len(short.group(0)):]}"
            return (f"{part!r} lacks the // of a {short.group(1)}:// URL "
                    f"(did you mean {fixed!r}?)")
    return None
