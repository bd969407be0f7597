"""The no-op seal checked against the paths the file-system monitor saw
change since the seal's token (fastpath/sealwatch.py): only the seal's
paths those changes can reach are stat-ed.

A seal path is reached by a changed path at it, below it (a file in a
directory dep, its listing changed) or above it (a folder renamed, removed,
made or filled: every path below each of its names). The rest of the seal
holds by the monitor's word: no event was seen at or below any of them
since the seal's token was read, and every one of them was vouchable then
(sealwatch.field_for). So where every reached path still has its sealed
signature the seal holds, and is re-armed with the monitor's new token; only
the reached paths are looked at for links again (monitorlink.vouchable).

Where one does not hold, the status that follows (fastpath/quick.py) judges
anew, as after the stat check; it takes each unreached directory's listing
signature from the seal in place of walking it (hashing/walkahead.py: a
listing is taken only where the `.gitpipeignore` files above it still have
the signatures the seal holds for them), and the reached ones as walked here.
Only loaded where the monitor's token moved.
"""

from __future__ import annotations

import os
from struct import unpack

from gitpipe.fastpath.sealwatch import rearm, still_vouched, trace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from gitpipe.fastpath.brokenseal import Checked
    from gitpipe.hashing.statsig import FileSignature
    from gitpipe.hashing.walkahead import Signed, WalkedBefore

_IGNORE_FILE = ".gitpipeignore"
_GONE, _LISTING, _BYTES_PER_PATH = 0, 2, 40


def reached(paths: list[str], changed: list[str]) -> list[int]:
    """The places in `paths` (a seal's) of those at, below or above a path of
    `changed`; "" (the project folder itself) reaches every one."""
    if "" in changed:
        return list(range(len(paths)))
    named = set(changed)
    above: set[str] = set()
    for path in changed:
        parts = path.split("/")
        above.update("/".join(parts[:end]) for end in range(1, len(parts)))
    found = []
    for at, path in enumerate(paths):
        if path in named or path in above:
            found.append(at)
            continue
        cut = path.rfind("/")
        while cut > 0:
            if path[:cut] in named:
                found.append(at)
                break
            cut = path.rfind("/", 0, cut)
    return found


def replay(root: str, seal_file: str, data: bytes, token_at: tuple[int, int], token: str,
           sealed: tuple[list[str], bytes], changed: list[str],
           check_share: Callable[[str, list[str], bytes], Checked],
           write: Callable[[str, bytes], None]) -> tuple[bool, WalkedBefore | None]:
    """(Whether the seal `data` of `sealed` (its paths, their packed
    numbers) holds, the paths `changed` since its token re-stat-ed by
    `check_share`; where it does not, what the status that follows takes in
    place of its walks). A seal that holds is written again with `token`."""
    paths, numbers = sealed
    places = reached(paths, changed)
    step = _BYTES_PER_PATH
    picked = [paths[at] for at in places]
    found, files, rules = check_share(
        root, picked, b"".join(numbers[at * step:(at + 1) * step] for at in places))
    still_vouched(frozenset(paths) - set(picked))
    if found is None:
        trace(f"held: {len(picked)} of {len(paths)} paths stat-ed, {len(changed)} changed")
        rearm(seal_file, data, token_at, token, root, picked, write)
        return True, None
    trace(f"judged: {len(picked)} of {len(paths)} paths stat-ed, {len(changed)} changed")
    walked_here = {picked[at // 5]: (tuple(found[at + 1:at + 5]), count)
                   for at, count in zip(_listing_places(found), files, strict=True)}
    return False, [(_unreached_listings(paths, numbers, set(places)),
                    _sealed_rules(root, paths, numbers)),
                   (walked_here, rules)]  # type: ignore[list-item]


def _listing_places(found: list[int]) -> list[int]:
    return [at for at in range(0, len(found), 5) if found[at] == _LISTING]


def _unreached_listings(paths: list[str], numbers: bytes,
                        places: set[int]) -> dict[str, Signed]:
    """{path: (its sealed listing signature, 0)} of every directory of the
    seal that no change reached. The seal holds no count of a directory's
    files; nothing a status judges reads it (PathInfo.files)."""
    taken: dict[str, Signed] = {}
    for at, path in enumerate(paths):
        if at in places:
            continue
        kind, *signature = unpack("=5q", numbers[at * _BYTES_PER_PATH:(at + 1) * _BYTES_PER_PATH])
        if kind == _LISTING:
            taken[path] = (tuple(signature), 0)
    return taken


def _sealed_rules(root: str, paths: list[str],
                  numbers: bytes) -> dict[str, FileSignature | None]:
    """The signature the seal holds for each `.gitpipeignore` it read, by
    absolute path (as ignore.outer_rules_read gives them): the rules the
    sealed listings were taken by."""
    rules: dict[str, FileSignature | None] = {}
    for at, path in enumerate(paths):
        if path == _IGNORE_FILE or path.endswith("/" + _IGNORE_FILE):
            kind, *signature = unpack("=5q", numbers[at * _BYTES_PER_PATH:
                                                     (at + 1) * _BYTES_PER_PATH])
            rules[os.path.join(root, path)] = None if kind == _GONE else tuple(signature)
    return rules
