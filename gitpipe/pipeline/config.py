"""`.gitpipe/config.yaml` merged with `config.local.yaml` and the environment → Config."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gitpipe.core.errors import BadInputError
from gitpipe.core.parsecache import cached_parse
from gitpipe.core.yamlio import dump_yaml, parse_yaml, plain
from gitpipe.hashing.statsig import ReadLog, read_noted
from gitpipe.pipeline.committedoptions import check_committed_remotes
from gitpipe.pipeline.configcheck import (
    RUN_CACHE_KEYS,
    check_file,
    check_merged,
    jobs_from_environment,
    storage_options,
)

if TYPE_CHECKING:
    from gitpipe.trust.signedruns import Sharing, TrustPolicy

CONFIG_FILE = "config.yaml"
LOCAL_CONFIG_FILE = "config.local.yaml"


DEFAULT_LOG_RETENTION = 20


class Config(NamedTuple):
    """The merged configuration; `raw` keeps sections later issues read.
    `local_remotes`: remotes whose URL config.local.yaml sets (the user's own
    hands), as against the committed file a clone brings; `committed_options`:
    (remote, option) of each storage option only the committed file sets."""

    jobs: int | None = None
    lock_wait: float = 3.0
    raw: dict[str, Any] = {}  # noqa: RUF012 - read, never changed in place
    log_retention: int = DEFAULT_LOG_RETENTION
    local_remotes: frozenset[str] = frozenset()
    committed_options: frozenset[tuple[str, str]] = frozenset()
    autostage: bool = False  # `git add` what a run changed, as DVC's core.autostage
    # (the file, the name) where core.remote names no configured remote: _unknown_default
    unknown_default: tuple[str, str] | None = None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(path: Path, source: str, reads: ReadLog | None,
          parsed: Path | None = None) -> dict[str, Any]:
    try:
        text = read_noted(path, source, reads)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise BadInputError(f"{source}: cannot read: {exc}") from None
    return _parse(text, source, parsed)


def _parse(text: str, source: str, parsed: Path | None = None) -> dict[str, Any]:
    # A config may hold credentials: an error's hint quotes none of its lines.
    data = plain(cached_parse(text, source, parsed,
                              lambda t: parse_yaml(t, source, secret=True))) or {}
    if not isinstance(data, dict):
        raise BadInputError(f"{source}: must be a mapping",
                            hint="write sections such as 'core:' and 'remotes:' at the top")
    check_file(data, source)
    return data


def load_config(gitpipe_dir: Path, reads: ReadLog | None = None,
                parse_cache: Path | None = None) -> Config:
    """Read both config files (noted in `reads`), each checked by the rules of
    configcheck.py; GITPIPE_JOBS in the environment overrides core.jobs.
    `parse_cache`: the project's (per-user) parse cache, None to parse each time."""
    committed = _read(gitpipe_dir / CONFIG_FILE, f".gitpipe/{CONFIG_FILE}", reads, parse_cache)
    local = _read(gitpipe_dir / LOCAL_CONFIG_FILE, f".gitpipe/{LOCAL_CONFIG_FILE}", reads,
                  parse_cache)
    return _config(committed, local)


def _config(committed: dict[str, Any], local: dict[str, Any]) -> Config:
    raw = _merge(committed, local)
    local_urls = _url_set_in(local)
    check_merged(raw, lambda name: f".gitpipe/{LOCAL_CONFIG_FILE}"
                 if name in local_urls or name not in (committed.get("remotes") or {})
                 else f".gitpipe/{CONFIG_FILE}")
    _refuse_committed_signing_key(committed)
    _refuse_committed_autostage(committed)
    check_committed_remotes(committed.get("remotes") or {}, local.get("remotes") or {},
                            raw.get("remotes") or {}, f".gitpipe/{CONFIG_FILE}",
                            f".gitpipe/{LOCAL_CONFIG_FILE}")
    core = raw.get("core") or {}
    from_env = os.environ.get("GITPIPE_JOBS")
    jobs = jobs_from_environment(from_env) if from_env else core.get("jobs")
    return Config(jobs=jobs, lock_wait=float(core.get("lock_wait", 3.0)), raw=raw,
                  log_retention=core.get("log_retention", DEFAULT_LOG_RETENTION),
                  local_remotes=local_urls, committed_options=_options_only_in(committed, local),
                  autostage=core.get("autostage", False),
                  unknown_default=_unknown_default(raw, local))


def _unknown_default(raw: dict[str, Any], local: dict[str, Any]) -> tuple[str, str] | None:
    """The file and the name where `core.remote` names no configured remote
    (typed by hand, or a pulled commit renamed the remote a config.local.yaml
    names). Said where the default is used or looked at (push, pull, fetch,
    `remote default`, `validate`), not refused by every command: a status
    never reads it."""
    chosen = (raw.get("core") or {}).get("remote")
    if chosen is None or chosen in (raw.get("remotes") or {}):
        return None
    source = LOCAL_CONFIG_FILE if "remote" in (local.get("core") or {}) else CONFIG_FILE
    return source, str(chosen)


def unknown_default_text(config: Config) -> str | None:
    """What is wrong with `core.remote`, naming its file, or None."""
    return None if config.unknown_default is None else _unknown_text(*config.unknown_default)


def _unknown_text(source: str, chosen: str) -> str:
    return f".gitpipe/{source}: core.remote names {chosen!r}, which is no configured remote"


def refuse_unknown_default(config: Config) -> None:
    """Stop where the default remote is used and core.remote names none."""
    if config.unknown_default is None:
        return
    source, chosen = config.unknown_default
    local = "--local " if source == LOCAL_CONFIG_FILE else ""
    known = ", ".join(sorted(config.raw.get("remotes") or {})) or "none"
    raise BadInputError(_unknown_text(source, chosen),
                        hint=f"known remotes: {known}; 'gitpipe remote default {local}NAME' "
                             "names one (or -r NAME)")


def _refuse_committed_autostage(committed: dict[str, Any]) -> None:
    """Whether a run stages what it wrote in the user's index is the user's
    choice, as git takes none of its own config from a repository: a
    committed one would have every clone's runs `git add` what the clone's
    stages write, for the next `git commit` to take along unseen."""
    if isinstance(committed.get("core"), dict) and "autostage" in committed["core"]:
        raise BadInputError(f".gitpipe/{CONFIG_FILE}: core.autostage is this user's choice, "
                            "never part of the committed config",
                            hint=f"move it to .gitpipe/{LOCAL_CONFIG_FILE} (not committed)")


def _refuse_committed_signing_key(committed: dict[str, Any]) -> None:
    """The key a pusher signs with is this machine's choice: a committed one
    would make every clone sign with whatever private key it names."""
    for name, body in (committed.get("remotes") or {}).items():
        if isinstance(body, dict) and "signing_key" in body:
            raise BadInputError(f".gitpipe/{CONFIG_FILE}: remotes.{name}.signing_key is "
                                "this machine's choice, never part of the committed config",
                                hint=f"move it to .gitpipe/{LOCAL_CONFIG_FILE}, or set "
                                "GITPIPE_SIGNING_KEY")


def raw_with_committed(committed_text: str, source: str, gitpipe_dir: Path) -> dict[str, Any]:
    """The merged sections with `committed_text` as config.yaml (a commit's, or
    the index's) and the work tree's config.local.yaml over it: git does not
    track that file, so a checkout keeps it."""
    local = _read(gitpipe_dir / LOCAL_CONFIG_FILE, f".gitpipe/{LOCAL_CONFIG_FILE}", None)
    return _merge(_parse(committed_text, source), local)


def _url_set_in(raw: dict[str, Any]) -> frozenset[str]:
    remotes = raw.get("remotes")
    if not isinstance(remotes, dict):
        return frozenset()
    return frozenset(str(name) for name, body in remotes.items()
                     if isinstance(body, dict) and "url" in body)


def _options_only_in(committed: dict[str, Any],
                     local: dict[str, Any]) -> frozenset[tuple[str, str]]:
    """(remote, option) of each storage option (an endpoint, a profile: where
    the URL leads) the committed file sets and config.local.yaml does not."""
    local_remotes = local.get("remotes")
    local_remotes = local_remotes if isinstance(local_remotes, dict) else {}
    found = set()
    for name, body in (committed.get("remotes") or {}).items():
        mine = local_remotes.get(name)
        mine = mine if isinstance(mine, dict) else {}
        if isinstance(body, dict):
            options = storage_options(body)
            found |= {(str(name), key) for key in _keys_only_in(options, mine)}
    return frozenset(found)


def _keys_only_in(committed: dict[Any, Any], local: dict[Any, Any]) -> list[str]:
    """The keys (dotted within mappings) `committed` sets and `local` does not:
    a mapping both set is merged key by key (_merge), so a committed
    `client_kwargs.endpoint_url` under the user's own `client_kwargs` is
    still the committed file's choice of where the URL leads."""
    keys = []
    for key, value in committed.items():
        mine = local.get(key)
        if key not in local:
            keys.append(str(key))
        elif isinstance(value, dict) and isinstance(mine, dict):
            keys += [f"{key}.{inner}" for inner in _keys_only_in(value, mine)]
    return keys


def default_config_text() -> str:
    return "# gitpipe configuration (committed). Per-machine overrides: config.local.yaml\n" + \
        dump_yaml({"core": {"jobs": None}, "remotes": {}})


class RemoteSettings(NamedTuple):
    """A configured remote: its name, fsspec URL and storage options, the file
    its URL comes from, and its run-cache keys (trust, scopes: configcheck.py)."""

    name: str
    url: str
    options: dict[str, Any] = {}  # noqa: RUF012 - read, never changed in place
    source: str = f".gitpipe/{CONFIG_FILE}"
    run_cache: dict[str, Any] = {}  # noqa: RUF012 - read, never changed in place


def default_remote(config: Config) -> tuple[str | None, bool]:
    """The remote push, pull and fetch use without -r, and whether it is
    only implied: no `core.remote`, and the one remote configured. A
    `core.remote: null` (`remote default --unset --local`) declines even the
    only remote: the user said no remote is the default."""
    remotes = config.raw.get("remotes") or {}
    core = config.raw.get("core") or {}
    chosen = core.get("remote")
    if "remote" not in core and len(remotes) == 1:
        return str(next(iter(remotes))), True
    return (None if chosen is None else str(chosen)), False


def remote_settings(config: Config, name: str | None = None) -> RemoteSettings:
    """The named remote, or the default one; a clear error when there is none."""
    from gitpipe.pipeline.s3options import check_s3_options

    remotes = config.raw.get("remotes") or {}
    if name is None:
        refuse_unknown_default(config)
    chosen = name or default_remote(config)[0]
    if chosen is None:
        said, hint = _NO_DEFAULT[why_no_default(config)]
        raise BadInputError(said, hint=hint)
    body = remotes.get(chosen)
    if not isinstance(body, dict) or "url" not in body:
        raise BadInputError(f"unknown remote {chosen!r}",
                            hint=f"known remotes: {', '.join(sorted(remotes)) or 'none'}")
    options = storage_options(body)
    check_s3_options(str(chosen), str(body["url"]), options)
    run_cache = {k: v for k, v in body.items() if k in RUN_CACHE_KEYS}
    source = LOCAL_CONFIG_FILE if chosen in config.local_remotes else CONFIG_FILE
    return RemoteSettings(str(chosen), str(body["url"]), options, f".gitpipe/{source}",
                          run_cache)


# Why no remote is the default (why_no_default).
NO_REMOTES, SET_TO_NONE, SEVERAL = "no remotes", "set to none", "several"


def why_no_default(config: Config) -> str:
    """Why default_remote gives none: no remote is configured; `core.remote`
    is null (the local file's outweighs the committed file's, so only the
    local file can name one); or several remotes and none named."""
    if not config.raw.get("remotes"):
        return NO_REMOTES
    return SET_TO_NONE if "remote" in (config.raw.get("core") or {}) else SEVERAL


_NO_DEFAULT = {
    NO_REMOTES: ("no remote is configured", "gitpipe remote add --default NAME URL"),
    SET_TO_NONE: ("no default remote: core.remote is set to none",
                  "gitpipe remote default --local NAME (or -r NAME)"),
    SEVERAL: ("several remotes and no default", "gitpipe remote default NAME (or -r NAME)"),
}


def edit_config(gitpipe_dir: Path, edit: Callable[[dict[str, Any]], None],
                local: bool = False) -> str | None:
    """Apply `edit(raw_dict)` to config.yaml (or config.local.yaml) and write it
    back, line by line so that its comments and layout stay (configedit.py).

    A file the line editor cannot edit is rewritten in full when it holds no
    comment (the answer is then a warning naming what changed), and refused
    when it does: a rewrite would drop them."""
    import copy

    from gitpipe.pipeline.configedit import LineEditError, edit_text
    from gitpipe.pipeline.lockfile import atomic_write
    from gitpipe.trust.ignorerules import write_missing_rules

    name = LOCAL_CONFIG_FILE if local else CONFIG_FILE
    path, source = gitpipe_dir / name, f".gitpipe/{name}"
    text = _read_text(path, source)
    raw = _parse(text, source)
    wanted = copy.deepcopy(raw)
    edit(wanted)
    check_file(wanted, source)  # refused before anything is written
    other_name = CONFIG_FILE if local else LOCAL_CONFIG_FILE
    other = _read(gitpipe_dir / other_name, f".gitpipe/{other_name}", None)
    _config(*((other, wanted) if local else (wanted, other)))  # both files together
    warning = None
    try:
        new_text = edit_text(text, raw, wanted)
    except LineEditError as exc:
        if _has_comment(text):
            raise BadInputError(
                f"{source}: cannot edit it in place: {exc}; rewriting it would drop its "
                "comments", hint="write that part of the file in block style (one "
                "'key: value' per line), or edit the file by hand") from None
        new_text = dump_yaml(wanted)
        warning = f"{source}: rewritten in block style ({exc})"
    gitpipe_dir.mkdir(parents=True, exist_ok=True)
    if local:  # its credentials never without the rule that keeps them out of git
        write_missing_rules(gitpipe_dir)
    atomic_write(path, new_text)
    return warning


def _read_text(path: Path, source: str) -> str:
    try:
        return read_noted(path, source, None)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise BadInputError(f"{source}: cannot read: {exc}") from None


def _has_comment(text: str) -> bool:
    """Whether any line may hold a comment (a `#` that starts the line or
    follows a space; one inside a quoted string counts too, to be safe)."""
    return any(line.lstrip().startswith("#") or " #" in line or "\t#" in line
               for line in text.splitlines())


def run_sharing(settings: RemoteSettings, read_scopes: tuple[str, ...] = (),
                write_scope: str | None = None) -> Sharing:
    """How run-cache entries travel through this remote: its `trust:` and
    `scope_trust:` (default: the same), the scopes read besides main (the
    remote's `scopes:` and `read_scopes`), the scope written, and the pusher's
    keys (`GITPIPE_SIGNING_KEY` or config.local.yaml's `signing_key`, and each
    trusted HMAC secret set in the environment)."""
    from gitpipe.trust.signedruns import SIGNING_KEY_ENV, Sharing, Signer, scope_problem

    body = settings.run_cache
    for scope in (*read_scopes, *([write_scope] if write_scope else [])):
        problem = scope_problem(scope)
        if problem:
            raise BadInputError(f"scope {scope!r} {problem}", hint="name scopes like pr-123")
    trust = _policy(body.get("trust"))
    scope_trust = _policy(body["scope_trust"]) if "scope_trust" in body else trust
    hmac_envs = tuple(dict.fromkeys(k.value for k in (*trust.keys, *scope_trust.keys)
                                    if k.kind == "hmac" and os.environ.get(k.value)))
    ssh_key = os.environ.get(SIGNING_KEY_ENV) or body.get("signing_key")
    scopes = tuple(dict.fromkeys((*body.get("scopes", ()), *read_scopes)))
    return Sharing(trust, scope_trust, scopes, write_scope,
                   Signer(hmac_envs, os.path.expanduser(ssh_key) if ssh_key else None))


def _policy(value: Any) -> TrustPolicy:
    from gitpipe.trust.signedruns import TrustedKey, TrustPolicy

    if value is None:
        return TrustPolicy()
    if value == "any":
        return TrustPolicy(any=True, configured=True)
    keys = tuple(TrustedKey("ssh" if "ssh" in item else "hmac", str(next(iter(item.values()))))
                 for item in value)
    return TrustPolicy(keys, configured=True)
