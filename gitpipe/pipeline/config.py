"""`.gitpipe/config.yaml` merged with `config.local.yaml` and the environment → Config."""

from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Callable
from typing import Any, NamedTuple

from gitpipe.core.errors import BadInputError
from gitpipe.core.yamlio import cached_parse, dump_yaml, parse_yaml, plain
from gitpipe.hashing.statsig import ReadLog, read_noted

CONFIG_FILE = "config.yaml"
LOCAL_CONFIG_FILE = "config.local.yaml"
KNOWN_SECTIONS = {"core", "cache", "remotes", "pools", "kubernetes"}


DEFAULT_LOG_RETENTION = 20


class Config(NamedTuple):
    """The merged configuration; `raw` keeps sections later issues read.
    `local_remotes`: remotes whose URL config.local.yaml sets (the user's own
    hands), as against the committed file a clone brings."""

    jobs: int | None = None
    lock_wait: float = 3.0
    raw: dict[str, Any] = {}  # noqa: RUF012 - read, never changed in place
    log_retention: int = DEFAULT_LOG_RETENTION
    local_remotes: frozenset[str] = frozenset()


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
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{source}: cannot read: {exc}") from None
    return _parse(text, source, parsed)


def _parse(text: str, source: str, parsed: Path | None = None) -> dict[str, Any]:
    data = plain(cached_parse(text, source, parsed, lambda t: parse_yaml(t, source))) or {}
    if not isinstance(data, dict):
        raise BadInputError(f"{source}: must be a mapping")
    unknown = set(data) - KNOWN_SECTIONS
    if unknown:
        raise BadInputError(f"{source}: unknown section {sorted(unknown)[0]!r}",
                            hint=f"known sections: {', '.join(sorted(KNOWN_SECTIONS))}")
    return data


KNOWN_CORE = {"jobs", "lock_wait", "remote", "log_retention"}


def load_config(gitpipe_dir: Path, reads: ReadLog | None = None,
                parse_cache: Path | None = None) -> Config:
    """Read both config files (noted in `reads`); GITPIPE_JOBS in the environment
    overrides core.jobs. `parse_cache`: the project's (per-user) parse cache, None
    to parse each time."""
    committed = _read(gitpipe_dir / CONFIG_FILE, f".gitpipe/{CONFIG_FILE}", reads, parse_cache)
    local = _read(gitpipe_dir / LOCAL_CONFIG_FILE, f".gitpipe/{LOCAL_CONFIG_FILE}", reads,
                  parse_cache)
    raw = _merge(committed, local)
    core = raw.get("core") or {}
    if not isinstance(core, dict) or set(core) - KNOWN_CORE:
        wrong = "must be a mapping" if not isinstance(core, dict) else \
            f"unknown key {sorted(set(core) - KNOWN_CORE)[0]!r}"
        raise BadInputError(f".gitpipe/config.yaml: core: {wrong}",
                            hint=f"core takes {', '.join(sorted(KNOWN_CORE))}")
    _check_pools(raw.get("pools"))
    jobs = os.environ.get("GITPIPE_JOBS") or core.get("jobs")
    try:
        return Config(jobs=int(jobs) if jobs else None,
                      lock_wait=float(core.get("lock_wait", 3.0)), raw=raw,
                      log_retention=_log_retention(core), local_remotes=_url_set_in(local))
    except (TypeError, ValueError):
        raise BadInputError(".gitpipe/config.yaml: core.jobs and core.lock_wait must be "
                            "numbers") from None


def raw_with_committed(committed_text: str, source: str, gitpipe_dir: Path) -> dict[str, Any]:
    """The merged sections with `committed_text` as config.yaml (a commit's, or
    the index's) and the work tree's config.local.yaml over it: git does not
    track that file, so a checkout keeps it."""
    local = _read(gitpipe_dir / LOCAL_CONFIG_FILE, f".gitpipe/{LOCAL_CONFIG_FILE}", None)
    return _merge(_parse(committed_text, source), local)


def _log_retention(core: dict[str, Any]) -> int:
    """core.log_retention: how many logs of each task `.gitpipe/logs` keeps."""
    keep = core.get("log_retention", DEFAULT_LOG_RETENTION)
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise BadInputError(f".gitpipe/config.yaml: core.log_retention must be a whole number "
                            f"of at least 1, not {keep!r}")
    return keep


def _url_set_in(raw: dict[str, Any]) -> frozenset[str]:
    remotes = raw.get("remotes")
    if not isinstance(remotes, dict):
        return frozenset()
    return frozenset(str(name) for name, body in remotes.items()
                     if isinstance(body, dict) and "url" in body)


def _check_pools(pools: object) -> None:
    """pools: {NAME: SIZE}, each a whole number of slots, at least 1."""
    if pools is None:
        return
    if not isinstance(pools, dict):
        raise BadInputError(".gitpipe/config.yaml: pools must be a mapping of NAME: SIZE")
    for name, size in pools.items():
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise BadInputError(f".gitpipe/config.yaml: pools.{name} must be a whole number "
                                f"of at least 1, not {size!r}")


def default_config_text() -> str:
    return "# gitpipe configuration (committed). Per-machine overrides: config.local.yaml\n" + \
        dump_yaml({"core": {"jobs": None}, "remotes": {}})


class RemoteSettings(NamedTuple):
    """A configured remote: its name, fsspec URL and storage options, and the
    file its URL comes from."""

    name: str
    url: str
    options: dict[str, Any] = {}  # noqa: RUF012 - read, never changed in place
    source: str = f".gitpipe/{CONFIG_FILE}"


def remote_settings(config: Config, name: str | None = None) -> RemoteSettings:
    """The named remote, or the default one; a clear error when there is none."""
    remotes = config.raw.get("remotes") or {}
    chosen = name or (config.raw.get("core") or {}).get("remote")
    if chosen is None and len(remotes) == 1:
        chosen = next(iter(remotes))
    if chosen is None:
        raise BadInputError("no remote is configured" if not remotes else
                            "several remotes and no default",
                            hint="gitpipe remote add --default NAME URL")
    body = remotes.get(chosen)
    if not isinstance(body, dict) or "url" not in body:
        raise BadInputError(f"unknown remote {chosen!r}",
                            hint=f"known remotes: {', '.join(sorted(remotes)) or 'none'}")
    options = {k: v for k, v in body.items() if k != "url"}
    source = LOCAL_CONFIG_FILE if chosen in config.local_remotes else CONFIG_FILE
    return RemoteSettings(str(chosen), str(body["url"]), options, f".gitpipe/{source}")


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

    name = LOCAL_CONFIG_FILE if local else CONFIG_FILE
    path, source = gitpipe_dir / name, f".gitpipe/{name}"
    text = _read_text(path, source)
    raw = _parse(text, source)
    wanted = copy.deepcopy(raw)
    edit(wanted)
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
    atomic_write(path, new_text)
    return warning


def _read_text(path: Path, source: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{source}: cannot read: {exc}") from None


def _has_comment(text: str) -> bool:
    """Whether any line may hold a comment (a `#` that starts the line or
    follows a space; one inside a quoted string counts too, to be safe)."""
    return any(line.lstrip().startswith("#") or " #" in line or "\t#" in line
               for line in text.splitlines())
