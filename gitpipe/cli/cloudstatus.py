"""`gitpipe status --cloud`'s lines: the outs the local cache and a remote
do not both hold, under what settles each kind (usecases/cloudstatus.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gitpipe.project.lockguard import LockedOut
    from gitpipe.usecases.cloudstatus import CloudStatus

SHOWN = 10  # outs listed under a heading before the rest are counted


def _listed(outs: list[LockedOut], everything: bool) -> list[str]:
    from gitpipe.hashing.digests import DIR_SUFFIX
    from gitpipe.trust.checks import terminal_text  # a lock's paths come from git

    # a directory out as status writes it, with its `/`
    lines = [f"    {terminal_text(out.path)}{'/' if out.digest.endswith(DIR_SUFFIX) else ''} "
             f"({terminal_text(out.task)})" for out in (outs if everything else outs[:SHOWN])]
    if len(outs) > len(lines):
        lines.append(f"    … and {len(outs) - SHOWN} more (--all lists them)")
    return lines


def cloud_lines(found: CloudStatus, targeted: bool = False,
                everything: bool = False) -> list[str]:
    """The headed lists, cut past SHOWN outs each unless `everything`, or one
    line saying both sides hold every out (of the lock, or of the targets
    where `targeted`)."""
    name = f"remote {found.remote!r}"
    if not found.total:
        return [f"gitpipe.lock records no outs yet: nothing to compare with {name} "
                "('gitpipe repro' computes them)"]
    if found.in_sync:
        which = (f"the {found.total} out(s) of the targets" if targeted else
                 f"all {found.total} out(s) gitpipe.lock records")
        return [f"the local cache and {name} hold {which}"]
    lines = []
    for outs, heading in (
            (found.new, f"new: in the local cache, not on {name} ('gitpipe push' uploads them)"),
            (found.deleted, f"deleted: on {name}, not in the local cache ('gitpipe pull' "
                            "fetches them)"),
            (found.missing, f"missing: neither in the local cache nor on {name} ('gitpipe "
                            "repro' computes them)")):
        if outs:
            lines += [f"{heading}:", *_listed(outs, everything)]
    return lines
