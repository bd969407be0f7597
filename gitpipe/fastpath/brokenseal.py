"""What a broken seal's check walked, handed to the status that follows.

A seal's check (fastpath/seal.py) walks every directory the sealed answer
read before it can tell that something changed. The status that follows would
walk them all again: instead it takes each listing's signature and count of
files from the check (hashing/walkahead.py decides which it may take). Only
loaded where a seal did not hold.
"""

from __future__ import annotations

from struct import unpack

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpipe.hashing.statsig import FileSignature
    from gitpipe.hashing.walkahead import Signed, WalkedBefore

    # One share's check: None where every path held, else the numbers it found
    # (five a path: seal._flat); each directory's count of files, in order; the
    # signature of each `.gitpipeignore` it read (ignore.outer_rules_read).
    Checked = tuple[list[int] | None, list[int], dict[str, FileSignature | None]]


def walked_before(shares: list[tuple[list[str], bytes]], checked: list[Checked],
                  listing: int) -> WalkedBefore:
    """For each share of the check (its paths and the numbers the seal holds for
    them), the directories it walked: {path: (signature, files)} of the paths
    whose first number is `listing` (seal's kind of a directory), and the rules
    it walked them by."""
    walked: WalkedBefore = []
    for (paths, sealed), (found, files, rules) in zip(shares, checked, strict=True):
        # A share that held found the very numbers the seal holds for it.
        numbers = _unpacked(sealed) if found is None else found
        walked.append((_listings(paths, numbers, files, listing), rules))
    return walked


def _unpacked(numbers: bytes) -> list[int]:
    """The numbers seal's pack_numbers packed, read as signed: an inode past
    2**63 reads back negative, so its listing is never taken, only walked again."""
    return list(unpack(f"={len(numbers) // 8}q", numbers))


def _listings(paths: list[str], numbers: list[int], files: list[int],
              listing: int) -> dict[str, Signed]:
    counts = iter(files)
    return {path: (tuple(numbers[at + 1:at + 5]), next(counts))  # type: ignore[misc]
            for path, at in zip(paths, range(0, len(numbers), 5), strict=True)
            if numbers[at] == listing}
