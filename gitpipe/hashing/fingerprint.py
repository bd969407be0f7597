"""A Task's fingerprint: the hash of an explicit allow-list of what decides its result.

Adding an input to the list changes every fingerprint, so it bumps VERSION;
nothing is hashed "because it is there". How gitpipe stores an out (cached,
a metric) does not change what the command produces, so it is not an input:
changing it re-records the lock entry instead of running the stage.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from gitpipe.hashing.canonical import is_plain, typed
from gitpipe.hashing.digests import hash_bytes

VERSION = 2

Pairs = Sequence[tuple[str, str]]


def fingerprint(
    cmd: str,
    env: Pairs,
    deps: Mapping[str, str | None],
    params: Mapping[str, Any],
    outs: Sequence[str],
    wdir: str = ".",
    runtime: Pairs = (),
) -> str:
    """xxh3 of (version, cmd, wdir, env, executor inputs, dep digests, param
    values, out paths).

    `runtime` is what the executor adds to the command's world (for a
    Kubernetes stage: the image and the cluster-wide env), as (name, value)
    pairs; `params` are canonical values (canonical.canonical).
    """
    material = {
        "v": VERSION,
        "cmd": cmd,
        "wdir": wdir,
        "env": sorted([list(pair) for pair in env]),
        "runtime": sorted([list(pair) for pair in runtime]),
        "deps": sorted([path, digest] for path, digest in deps.items()),
        "outs": sorted(outs),
        **_params_part(params),
    }
    return _hash(material)


def _params_part(params: Mapping[str, Any]) -> dict[str, Any]:
    """Params as JSON writes them when that keeps every value apart (strings,
    numbers, lists, mappings with string keys: the text they always had);
    else under another name, typed (canonical.typed), since JSON makes a key `1`
    the text "1" and a timestamp would be its text."""
    if is_plain(dict(params)):
        return {"params": params}
    return {"typed_params": typed(dict(params))}


def legacy_fingerprint(
    cmd: str,
    env: Pairs,
    deps: Mapping[str, str | None],
    params: Mapping[str, Any],
    outs: Sequence[tuple[str, bool, bool]],
    wdir: str = ".",
) -> str:
    """The version-1 fingerprint, which also hashed each out's (is_dir, cached)
    declaration: a lock entry written before version 2 still proves its task
    up to date when this matches."""
    material = {
        "v": 1,
        "cmd": cmd,
        "wdir": wdir,
        "env": sorted([list(pair) for pair in env]),
        "deps": sorted([path, digest] for path, digest in deps.items()),
        "params": params,
        "outs": sorted([list(out) for out in outs]),
    }
    return _hash(material)


def part_digest(pairs: Pairs) -> str | None:
    """A short record of one part of the fingerprint (the env, the executor's
    inputs) for the lock, so a reason can name the part that changed without
    the lock holding its values (an env may carry tokens). None when empty."""
    if not pairs:
        return None
    return _hash(sorted([list(pair) for pair in pairs]))[:21]


# The text json.dumps(material, sort_keys=True, separators=(",", ":"),
# default=str) writes, from one encoder made once: every task of every status
# is fingerprinted, and dumps makes an encoder per call. The material is never
# circular, so nothing is checked for it.
_ENCODER = json.JSONEncoder(check_circular=False, sort_keys=True, separators=(",", ":"),
                            default=str)


def _hash(material: Any) -> str:
    return str(hash_bytes(_ENCODER.encode(material).encode()))
