"""The sealable command lines (`status`, `status --check`, `repro [-j N]`)
answered by the engine directly when the seal does not hold: no click.

Importing click and the CLI modules is a large part of the first status
after a change (a commit, an edit, a run), and that status is what users and
hooks mostly see. Two answers are given here: a status, and a repro with
nothing to do. A repro with work to do returns `Stale`, the project it was
judged on: the console script runs it through the repro command's own
run-and-report (cli/reprorun.py), still without click. Any error returns
None: the CLI then starts over, so messages and exit codes keep one home;
but an invalid spec (SpecError) is raised, for the console script to report
as the CLI does (cli/exits.py): starting over would parse it again.
Both paths render through render.py and settle the seal the same way;
tests/func/test_quick.py compares their output.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from gitpipe.fastpath import noop, sealsettle
from gitpipe.fastpath.render import status_lines

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpipe.hashing.coldscan import HashProgress
    from gitpipe.hashing.walkahead import WalkedBefore
    from gitpipe.usecases.api import Project

Answer = tuple[str, int]  # (stdout text, exit code)


class Stale(NamedTuple):
    """A plain repro with work to do: the project judged, and when the command
    started (what the seal a run settles is timed from)."""

    project: Project
    started_ns: int


def answer(command: str, argv: list[str], hash_progress: HashProgress | None = None,
           walked: WalkedBefore | None = None,
           started_ns: int | None = None) -> Answer | Stale | None:
    """The output and exit code of `argv` (which `noop.command_of` names
    `command`); Stale: a repro to run; or None: let the CLI answer it.
    `hash_progress` hears of each large directory hashed for the first time;
    `walked`: the directories the seal check of this command walked
    (seal.check), which a status does not walk again; `started_ns`: when the
    command started (before that check), now if not given: a seal settled
    here never holds a path changed within RACY_NS of it."""
    started_ns = time.time_ns() if started_ns is None else started_ns
    try:
        from gitpipe.usecases.api import Project

        project = Project(".")
        project.hash_progress = hash_progress
        found: Answer | Stale
        if command == noop.STATUS:
            project.workspace.walked_before = walked
            found = _status(project, check=noop.CHECK in argv, started_ns=started_ns)
        else:
            found = _repro(project, started_ns)
        if not isinstance(found, Stale):
            # The process may end without teardown: the state database is
            # closed here (its write-ahead log folded in), as an exit would.
            project.close()
        return found
    except Exception as exc:  # the CLI reports it, as it reports every error
        from gitpipe.core.errors import SpecError

        if isinstance(exc, SpecError):
            raise
        return None


def _status(project: Project, check: bool, started_ns: int) -> Answer:
    if project.workspace.walked_before is None:
        # No seal's check walked the directories: their records may spare the walks.
        from gitpipe.fastpath.heldlistings import for_status

        project.workspace.held_listing = for_status(str(project.root))
    report = project.status()
    order = [str(node) for node in project.graph.nodes]
    text = "\n".join(status_lines(report, has_remote=project.has_remote, order=order,
                                  key_names=project.key_names,
                                  cache_lacks=project.cache_lacks)) + "\n"
    sealsettle.settle(project, noop.STATUS, noop.status_answer(report), started_ns)
    return text, noop.status_exit_code(report.stale, check)


def _repro(project: Project, started_ns: int) -> Answer | Stale:
    from gitpipe.engine.repro import noop_report

    report = noop_report(project)
    text = None if report is None else noop.repro_answer(report)
    if text is None:
        return Stale(project, started_ns)  # something to run, with live output
    sealsettle.settle(project, noop.REPRO, text, started_ns)
    return text, 0
