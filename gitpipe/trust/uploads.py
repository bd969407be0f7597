"""Which files of a folder remote a killed push left: write_beneath's temp file
(`<name>.tmp-<16 hex>`, core/nofollow.py) beside a name a push gives there.

A folder remote may be a folder of the user's (or a shared one) holding other
files, even under `files/`: gc takes only a temp file named after an object
(`files/xxh3/ab/<30 hex>`, `.dir` for a manifest), a pack or its index, or a
run entry (`runs/<task>/<fingerprint>`, also under `scopes/<name>/`) for a
push's leftover; `files/photos/cat.jpg.tmp-<16 hex>` is another's file.
"""

from __future__ import annotations

import re

_TEMP = r"\.tmp-[0-9a-f]{16}\Z"
_LEFT_BY_A_PUSH = re.compile(
    r"(?:files/xxh3/[0-9a-f]{2}/[0-9a-f]{30}(?:\.dir)?"
    r"|packs/pack-[0-9a-f]{32}\.(?:idx|pack)"
    r"|(?:scopes/[A-Za-z0-9_.-]+/)?runs/[A-Za-z0-9_.@:+-]+/[0-9a-f]+)" + _TEMP)


def left_by_a_push(rel: str) -> bool:
    """Whether `rel` (from a folder remote's base) is named as a push's temp
    file is: one beside an object, a pack, a pack index or a run entry."""
    return _LEFT_BY_A_PUSH.match(rel) is not None
