"""The lines under a status's answer: the hint that names the command which
settles what is stale (`pull`, `checkout`, `repro`, `commit`), asking the
local cache before it names `checkout`; and the notes on what status does
not judge (frozen stages never run, lock entries of tasks gitpipe.yaml no
longer declares). Plain strings, as fastpath/render.py's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitpipe.core.ranges import positions_of, tasks_text

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from gitpipe.project.reasons import Reason
    from gitpipe.project.status import StatusReport

    # Whether the local cache lacks an object of some of these outs (task, out).
    CacheLacks = Callable[[Iterable[tuple[str, str]]], bool]


NAMED = 5  # stages (or single tasks) an orphaned-entries note names before a count


def orphaned_lines(report: StatusReport) -> list[str]:
    """The lock entries of tasks gitpipe.yaml no longer declares, which status
    does not judge: that they are there until a repro drops them."""
    if not report.orphaned:
        return []
    from gitpipe.trust.checks import terminal_text  # the lock's task names come from git

    found = tasks_text(report.orphaned, positions_of(report.orphaned))
    names = ", ".join(found[:NAMED]) + (f" and {len(found) - NAMED} more"
                                        if len(found) > NAMED else "")
    one = len(report.orphaned) == 1
    return [f"note: gitpipe.lock still holds the {'entry' if one else 'entries'} of "
            f"{terminal_text(names)}, which gitpipe.yaml no longer declares: the next "
            f"'gitpipe repro' drops {'it' if one else 'them'}"]


def renamed_lines(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """A note for each task that declares the outs of a lock entry gitpipe.yaml
    no longer declares (a stage renamed): status and a dry run call it new,
    and a repro restores it from that entry's outs when nothing else changed."""
    from gitpipe.trust.checks import terminal_text  # the lock's task names come from git

    return [f"note: {terminal_text(task)} declares the outs gitpipe.lock records for "
            f"{terminal_text(former)} (renamed?): if nothing else changed, 'gitpipe repro' "
            f"restores them from the cache rather than running {terminal_text(task)}"
            for task, former in pairs]


def frozen_lines(report: StatusReport) -> list[str]:
    """The frozen stages that never ran here, which status judges neither
    stale nor up to date: that they have no outs, and what lets them run."""
    return never_run_frozen_lines(v.task for v in report.tasks
                                  if v.note is not None and never_ran_frozen(v.note))


def never_ran_frozen(reason: Reason) -> bool:
    from gitpipe.project.reasons import NEVER_RUN, Kind  # loaded: it made the report

    return reason.kind is Kind.FROZEN and reason.new == NEVER_RUN


def never_run_frozen_lines(tasks: Iterable[str]) -> list[str]:
    """The note status and a dry run give for frozen stages that never ran."""
    from gitpipe.project.reasons import FROZEN_HINT  # loaded: it made the report

    never = {task.partition("@")[0]: None for task in tasks}
    if not never:
        return []
    from gitpipe.trust.checks import terminal_text

    return [f"note: frozen (frozen: true) and never run, so no outs are recorded: "
            f"{terminal_text(', '.join(never))}", FROZEN_HINT]


def lacks_none(outs: Iterable[tuple[str, str]]) -> bool:
    return False


def checkout_hint(report: StatusReport, has_remote: Callable[[], bool] | None,
                  cache_lacks: CacheLacks) -> str | None:
    """After `git checkout` of another commit (without the hooks) the outs
    are the other commit's: every stale task is stale only because its outs,
    or the outs it reads, differ from the lock, which `checkout` settles
    where the local cache holds the recorded ones (not after a `gc`)."""
    from gitpipe.project.staleness import Kind  # loaded already: it made the report

    if has_remote is None:
        return None
    reasons = [r for v in report.tasks if v.stale for r in v.reasons]
    outs = {r.subject for r in reasons if r.kind is Kind.OUT_MODIFIED}

    def settled(reason: Reason) -> bool:  # a dep is settled when it is such an out
        if reason.kind is Kind.DEP_MODIFIED:
            return any(reason.subject == out or (out.endswith("/")
                       and reason.subject.startswith(out)) for out in outs)
        return reason.kind in (Kind.OUT_MODIFIED, Kind.UPSTREAM, Kind.NONDETERMINISTIC)

    if not outs or not all(settled(r) for r in reasons):
        return None
    by_hand = "'gitpipe commit' records them as they are (made by hand)"
    if cache_lacks((v.task, r.subject) for v in report.tasks if v.stale
                   for r in v.reasons if r.kind is Kind.OUT_MODIFIED):
        pull = "'gitpipe pull' fetches them from the remote, " if has_remote() else ""
        return ("hint: outs differ from what gitpipe.lock records (after a git checkout?) and "
                "the local cache lacks the recorded ones (after 'gitpipe gc'?): "
                f"{pull}'gitpipe repro' recomputes them, {by_hand}")
    # With the recorded outs in the cache, a repro restores them as checkout
    # does (their stage's fingerprint is the lock's): only a forced run recomputes.
    return ("hint: outs differ from what gitpipe.lock records (after a git checkout?): "
            "'gitpipe checkout' (or 'gitpipe repro') puts the recorded ones back from the "
            f"cache, 'gitpipe repro -f -s STAGE' recomputes a stage's, {by_hand}")


def missing_outs_hint(report: StatusReport, has_remote: Callable[[], bool] | None,
                      cache_lacks: CacheLacks) -> str | None:
    from gitpipe.project.staleness import Kind  # loaded already: it made the report

    missing = [v for v in report.tasks if any(r.kind is Kind.OUT_MISSING for r in v.reasons)]
    if not missing or has_remote is None:
        return None
    # A pull restores the outs the lock records: it settles a task stale for
    # nothing else (a fresh clone), never one whose lock entry no longer
    # matches it (a failed or interrupted run, an edit since).
    settles = {Kind.OUT_MISSING, Kind.DEP_MISSING, Kind.UPSTREAM, Kind.NONDETERMINISTIC}
    unsettled = [v.task for v in missing if any(r.kind not in settles for r in v.reasons)]
    if unsettled:
        its = "its" if len(unsettled) == 1 else "their"
        # Without a remote there is no pull to warn against.
        pull = "; 'gitpipe pull' would restore stale ones" if has_remote() else ""
        return (f"hint: {_names(unsettled)} no longer {'matches' if its == 'its' else 'match'}"
                f" gitpipe.lock (changed since, or {its} last run failed): 'gitpipe repro' "
                f"rebuilds {its} outs{pull}")
    if cache_lacks((v.task, r.subject) for v in missing
                   for r in v.reasons if r.kind is Kind.OUT_MISSING):
        lacking = "hint: outs that gitpipe.lock records are missing and not in the local cache: "
        if has_remote():
            return f"{lacking}'gitpipe pull' fetches them from the remote, 'gitpipe repro' " \
                   "rebuilds them"
        return f"{lacking}'gitpipe repro' rebuilds them ('gitpipe remote add' names a " \
               "remote to pull them from)"
    # Deleted here (by hand, or by a forced run that was interrupted), the
    # outs are in the local cache: `checkout` puts them back, as DVC's does.
    if has_remote():
        return ("hint: outs that gitpipe.lock records are missing: 'gitpipe pull' fetches "
                "them from the remote (a fresh clone?), 'gitpipe checkout' puts them back "
                "from the local cache (deleted here?)")
    return ("hint: outs that gitpipe.lock records are missing: 'gitpipe checkout' puts them "
            "back from the local cache, 'gitpipe repro' rebuilds them ('gitpipe remote add' "
            "names a remote to pull them from)")


def _names(tasks: list[str], shown: int = 3) -> str:
    """`'train'`, `'a', 'b' and 2 more`: the first few task names, quoted."""
    quoted = ", ".join(repr(task) for task in tasks[:shown])
    return quoted if len(tasks) <= shown else f"{quoted} and {len(tasks) - shown} more"
