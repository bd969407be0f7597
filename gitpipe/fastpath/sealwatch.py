"""The no-op seal with the file-system monitor running (`gitpipe monitor`,
usecases/fsmonitor.py): an answer without a stat call per input.

A seal records the monitor's token ("instance:generation") read before the
judgement that wrote it began; every change made after that moment makes
the monitor's generation grow. So while the monitor still answers the very
same token, nothing the seal's answer read has changed since it was read:
the seal's check replays the answer without statting its inputs. The token
is read with a sync (trust/monitorlink.py: the monitor answers once it has
seen every change made before the question). Any other answer, none, or a
seal whose answer read a path the monitor cannot vouch for (through a
symbolic link, in a folder it leaves out) takes today's stat check.

A seal that still holds by that stat check, checked against the token read
before it, is written again with that token ("re-armed"): the next status
needs no stat calls again.

Where the token moved, the monitor says which paths changed since the
seal's token (monitorlink.changes): only the seal's paths at, above or below
them are stat-ed (fastpath/sealpaths.py), the rest held by the monitor's word.
"""

from __future__ import annotations

import os

from gitpipe.trust.monitorlink import changes, sync, vouchable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

# The seal's token field where it holds no token: its paths are not all
# ones the monitor sees (never vouched for, never re-armed), or they are but
# no monitor answered when the judgement began.
NOT_VOUCHABLE = "x"
NO_TOKEN = "-"
# Set (to anything), the monitor is not asked: every seal is checked with stat calls.
NO_MONITOR = "GITPIPE_NO_MONITOR"
# Where this names a file, each seal check the monitor answered appends one
# line to it: which way it went (as git's trace of its fsmonitor: for a user
# asking why a status was slow; the tests ask it too).
TRACE = "GITPIPE_TRACE_MONITOR"

# (this user's folder for the repository, the token read there, the paths
# known vouchable as of that token) by the latest check in this process: the
# token a seal written after it records.
_at_start: list[tuple[str, str | None, frozenset[str]]] = []


def token_now(folder: str, field: str | None = None) -> tuple[str | None, list[str] | None]:
    """(The monitor's token for the repository whose cache folder is `folder`,
    None: no monitor to trust; where `field`, a seal's token field, is an
    older token of that monitor, the paths changed since it, else None).
    The token is remembered for the seal that this command's judgement may write."""
    changed = None
    if os.environ.get(NO_MONITOR):
        token = None
    elif field is not None and field not in (NOT_VOUCHABLE, NO_TOKEN):
        token, changed = changes(folder, field) or (None, None)
    else:
        token = sync(folder)
    _at_start[:] = [(folder, token, frozenset())]
    return token, changed


def still_vouched(paths: frozenset[str]) -> None:
    """`paths` were vouchable when a seal was written and no change to them
    has been seen since: a seal this command writes need not look at them again."""
    if _at_start:
        folder, token, _ = _at_start[0]
        _at_start[:] = [(folder, token, paths)]


def field_for(root: str, folder: str, paths: list[str]) -> str:
    """The token field of a seal of `paths` written now in `folder`: the token
    read before this command judged anything, if its monitor vouches for every one.
    Without a token the paths are not looked at (the hard-link check walks
    every dep folder): a seal with no token is never vouched for, and one
    re-armed later is checked then (rearmed)."""
    for known_folder, token, vouched in _at_start:
        if known_folder == folder and token is not None:
            unknown = [path for path in paths if path not in vouched]
            return token if vouchable(root, unknown) else NOT_VOUCHABLE
    return NO_TOKEN


def rearm(seal_file: str, data: bytes, token_at: tuple[int, int], token: str, root: str,
          paths: list[str], write: Callable[[str, bytes], None]) -> None:
    """Write the seal `data` again with `token` (see rearmed), through `write`."""
    again = rearmed(data, token_at, token, root, paths)
    if again is not None:
        try:  # noqa: SIM105 (contextlib: an import the sealed answer does without)
            write(seal_file, again)
        except OSError:
            pass  # only the next status's time is lost


def rearmed(data: bytes, token_at: tuple[int, int], token: str, root: str,
            paths: list[str]) -> bytes | None:
    """The seal `data` (its token field at `token_at`) with `token` in place,
    for a seal that a stat check begun after that token found to hold; None
    if its paths are no longer all vouchable (a folder became a link)."""
    if not vouchable(root, paths):
        return None
    start, end = token_at
    return data[:start] + token.encode() + data[end:]


def held_before(field: str, token: str | None) -> bool:
    """Whether a seal whose token field is `field` holds by the monitor's word alone."""
    held = token is not None and field == token and field not in (NOT_VOUCHABLE, NO_TOKEN)
    if token is not None:
        trace("held by the token" if held else "token moved")
    return held


def trace(line: str) -> None:
    """Append `line` to the file TRACE names, if it names one."""
    where = os.environ.get(TRACE)
    if where:
        try:
            with open(where, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError:
            pass
