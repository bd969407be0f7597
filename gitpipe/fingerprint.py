"""A Task's fingerprint: the hash of an explicit allow-list of what decides its result.

Adding an input to the list changes every fingerprint, so it bumps VERSION;
nothing is hashed "because it is there".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from gitpipe.hashing import hash_bytes

VERSION = 1


def fingerprint(
    cmd: str,
    env: Sequence[tuple[str, str]],
    deps: Mapping[str, str | None],
    params: Mapping[str, Any],
    outs: Sequence[tuple[str, bool, bool]],
    wdir: str = ".",
) -> str:
    """xxh3 of (version, cmd, wdir, env, dep digests, param values, out declarations).

    `outs` are (path, is_dir, cached) triples; their *declaration* is part of
    the fingerprint, their content is what the fingerprint predicts.
    """
    material = {
        "v": VERSION,
        "cmd": cmd,
        "wdir": wdir,
        "env": sorted([list(pair) for pair in env]),
        "deps": sorted([path, digest] for path, digest in deps.items()),
        "params": params,
        "outs": sorted([list(out) for out in outs]),
    }
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return str(hash_bytes(text.encode()))
