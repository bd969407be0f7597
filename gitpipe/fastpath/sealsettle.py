"""Settling the no-op seal (fastpath/seal.py) after the full path answered:
the answer written with the stat signature of everything its judgement read,
or the seal removed. Kept apart from the check (seal.py): a sealed answer
only checks, and loads none of this."""

from __future__ import annotations

import os

from gitpipe.fastpath.seal import MISSING, compose, context, seal_name, write_seal
from gitpipe.fastpath.sealwatch import field_for
from gitpipe.hashing.statsig import RACY_NS, Signature
from gitpipe.trust.dotdir import user_cache_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpipe.project.root import Project


def settle(project: Project, command: str, text: str | None, started_ns: int) -> None:
    """After the full path answered `command`: seal `text` (a no-op's output),
    or with None (something was stale or ran) remove the seal."""
    if project.parse_cache is None or os.environ.get("GITPIPE_NO_SEAL"):
        return  # no .gitpipe/ yet, no folder of this user's for it, or seals turned off
    folder = user_cache_dir(str(project.root), create=True)
    if folder is None:
        return
    path = os.path.join(folder, seal_name(command))
    sealed = None if text is None else _seal(project, text, started_ns, folder)
    try:
        if sealed is None:
            if os.path.exists(path):
                os.remove(path)
            return
        write_seal(path, sealed)
    except OSError:
        # A seal only saves time: a read-only or full disk must not fail the
        # command that already printed its answer. A stale seal left behind
        # cannot match: its signatures differ from what was just judged.
        pass


def _seal(project: Project, text: str, started_ns: int, folder: str) -> bytes | None:
    root = str(project.root)
    known = context(root)
    if project.today.isoformat() != known[2]:
        return None  # a Project pinned to another day (the API): not what argv replays
    if known[3] == MISSING:
        return None  # in a git hook, or no work tree found: see _git_state
    # The signatures the readers took as they read each path (the workspace
    # as it hashed, the spec, params, config and lock loaders as they read),
    # not a list of inputs kept here: whatever the judgement read is in it,
    # and nothing else; and no directory is walked a second time.
    found = dict(project.reads.seen)
    if not found:
        return None
    if any(_too_recent(sig, started_ns) for sig in found.values()):
        return None
    return compose(known, text, found, field_for(root, folder, list(found)))


def _too_recent(sig: Signature, started_ns: int) -> bool:
    if sig is None:
        return False
    # a file's mtime and ctime; a directory's newest of either, where its mtime is
    moments = sig[2:3] if sig[0] == "dir" else (sig[1], sig[3])
    return any(isinstance(moment, int) and moment + RACY_NS >= started_ns for moment in moments)
