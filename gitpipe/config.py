"""`.gitpipe/config.yaml` merged with `config.local.yaml` and the environment → Config."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitpipe.errors import BadInputError
from gitpipe.params import plain
from gitpipe.yamlio import dump_yaml, load_yaml_file

CONFIG_FILE = "config.yaml"
LOCAL_CONFIG_FILE = "config.local.yaml"
KNOWN_SECTIONS = {"core", "cache", "remotes", "pools", "kubernetes"}


@dataclass(frozen=True)
class Config:
    """The merged configuration; `raw` keeps sections later issues read."""

    jobs: int | None = None
    lock_wait: float = 3.0
    raw: dict[str, Any] = field(default_factory=dict, hash=False)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(path: Path, source: str) -> dict[str, Any]:
    if not path.exists():
        return {}
    data = plain(load_yaml_file(path, source)) or {}
    if not isinstance(data, dict):
        raise BadInputError(f"{source}: must be a mapping")
    unknown = set(data) - KNOWN_SECTIONS
    if unknown:
        raise BadInputError(f"{source}: unknown section {sorted(unknown)[0]!r}",
                            hint=f"known sections: {', '.join(sorted(KNOWN_SECTIONS))}")
    return data


def load_config(gitpipe_dir: Path) -> Config:
    """Read both config files; GITPIPE_JOBS in the environment overrides core.jobs."""
    raw = _merge(_read(gitpipe_dir / CONFIG_FILE, f".gitpipe/{CONFIG_FILE}"),
                 _read(gitpipe_dir / LOCAL_CONFIG_FILE, f".gitpipe/{LOCAL_CONFIG_FILE}"))
    core = raw.get("core") or {}
    jobs = os.environ.get("GITPIPE_JOBS") or core.get("jobs")
    try:
        return Config(jobs=int(jobs) if jobs else None,
                      lock_wait=float(core.get("lock_wait", 3.0)), raw=raw)
    except (TypeError, ValueError):
        raise BadInputError(".gitpipe/config.yaml: core.jobs and core.lock_wait must be "
                            "numbers") from None


def default_config_text() -> str:
    return "# gitpipe configuration (committed). Per-machine overrides: config.local.yaml\n" + \
        dump_yaml({"core": {"jobs": None}, "remotes": {}})
