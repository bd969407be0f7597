"""The listings of many known directories signed at once, shared out among forked processes.

A status recognizes an unchanged directory dep or out by its listing's
signature (one lstat per file: storage/workspace.py). Across a large pipeline
those walks are most of its system calls, and each gives back only a
signature and a count: as the seal's check does (fastpath/seal.py), the
directories are shared out among forked processes, one per CPU
(hashing/forkmap.py), started before the lock and params are read: those are
read meanwhile, and the workspace takes each signature in place of its own
walk (walking again itself where the signature is not one it knows).

Where a directory's listing can be had from a record that holds (a
`HeldListing`: fastpath/heldlistings.py), a share takes it in place of the walk.

Only for a pass that reads: in a repro a stage rewrites a directory between
two judgements, and a signature taken before it ran would name the old files.
"""

from __future__ import annotations

from collections.abc import Callable

from gitpipe.hashing.digests import gc_paused
from gitpipe.hashing.forkmap import Forked, usable_workers
from gitpipe.hashing.ignore import Ignore
from gitpipe.hashing.statsig import FileSignature, listing_signature, walk_files

# A walk of a typical directory dep (tens of files) costs a few dozen
# microseconds: a forked process pays for itself past a few hundred of them.
DIRECTORIES_PER_WORKER = 256

# A directory's listing signature and how many files it lists.
Signed = tuple[FileSignature, int]
# The directories a seal check walked before it found the seal broken
# (fastpath/seal.py), in shares: for each, {project path: Signed} and the
# signature of each `.gitpipeignore` above them as that share read its rules
# (ignore.outer_rules_read).
WalkedBefore = list[tuple[dict[str, Signed], dict[str, FileSignature | None]]]
# A directory's (absolute path's) Signed as a record of it that still holds
# says it, without listing it; None: walk it.
HeldListing = Callable[[str], Signed | None]


class Signing:
    """Listings being signed in forked children (start_signing), while the
    process that started them goes on reading what needs no walk (the lock,
    the params). `signed()` waits for them; `stop()` abandons them."""

    def __init__(self, directories: list[str], workers: int,
                 held: HeldListing | None = None) -> None:
        # Interleaved shares: a pipeline's large directories come in clusters.
        self._forked = Forked(lambda share: _sign_share(share, held),
                              [directories[worker::workers] for worker in range(workers)])

    def signed(self) -> dict[str, Signed]:
        """{directory: (listing_signature(walk_files(directory)), files)}."""
        signed: dict[str, Signed] = {}
        with gc_paused():
            for share in self._forked.results():
                signed.update(share)
        return signed

    def stop(self) -> None:
        self._forked.stop()


def start_signing(directories: list[str], held: HeldListing | None = None) -> Signing | None:
    """Start signing the listings of `directories` (absolute paths) in forked
    children, one share each, and return at once; None where one process
    would do them all (the caller walks as it goes). `held`: listings that a
    record gives without a walk, asked first. A directory left out of
    what `signed()` gives (not a directory now, unreadable) is walked by the
    caller, which meets and reports the error itself."""
    workers = usable_workers(len(directories), DIRECTORIES_PER_WORKER)
    if workers == 1:
        return None
    # The rules of the `.gitpipeignore` files above each directory are read
    # here, before the fork: the children walk by the very rules the parent
    # read, and the workspace notes those files' signatures from them.
    return Signing([directory for directory in directories if _rules_read(directory)],
                   workers, held)


def taken_over(walked: WalkedBefore, known: dict[str, str]) -> dict[str, Signed]:
    """{project path: Signed} of the directories of `known` ({absolute path:
    project path}) that a broken seal's check walked by the rules in force now:
    each `.gitpipeignore` above the directory, read here (the workspace notes
    these very signatures), has the signature it had when that check read it.
    The status takes these in place of walking each directory a second time."""
    taken: dict[str, Signed] = {}
    for listings, rules in walked:
        for full, path in known.items():
            found = listings.get(path)
            if found is not None and _walked_by(full, rules):
                taken[path] = found
    return taken


def _walked_by(directory: str, rules: dict[str, FileSignature | None]) -> bool:
    """Whether the rules above `directory` are read from the files `rules` names,
    each with the signature it holds for it."""
    try:
        sources = Ignore.above(directory).sources
    except ValueError:  # IgnoreRulesError: the workspace reports it, in its turn
        return False
    return all(path in rules and rules[path] == signature for path, signature in sources)


def _rules_read(directory: str) -> bool:
    try:
        Ignore.above(directory)
    except ValueError:  # IgnoreRulesError: the workspace reports it, in its turn
        return False
    return True


def _sign_share(directories: list[str], held: HeldListing | None = None) -> dict[str, Signed]:
    signed: dict[str, Signed] = {}
    for directory in directories:
        found = None if held is None else held(directory)
        if found is not None:
            signed[directory] = found
            continue
        try:
            listing = walk_files(directory)
        except (OSError, ValueError):  # ValueError: a `.gitpipeignore` inside it
            continue
        signed[directory] = (listing_signature(listing), len(listing))
    return signed
