"""The one home of the no-op fast path's decisions: which command lines a
seal may answer, and what the no-op answer of each is.

The console script (cli/launch.py), the engine's door without click
(fastpath/quick.py) and the click commands (cli/pipeline.py) all ask here; fastpath/seal.py
stores and replays the answers. No imports: the console script asks before
it loads anything else.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpipe.engine.reports import Report, ReproOptions
    from gitpipe.project.status import StatusReport

# The argument lists a seal answers, and which seal answers them. `status
# --check` exits 0 when nothing is stale, as plain `status` does; a no-op
# repro prints the same table whatever its -j.
STATUS = "status"
REPRO = "repro"
CHECK = "--check"  # `status --check`: exit 1 when anything is stale
SEALED = {(STATUS,): STATUS, (STATUS, CHECK): STATUS, (REPRO,): REPRO}
# The still-running line's setting (cli/stillrunning.py reads and checks it):
# where it is set, a repro the seal answers checks it first, as a run does.
STILL_RUNNING_VAR = "GITPIPE_STILL_RUNNING_AFTER"


def command_of(argv: list[str]) -> str | None:
    """Which seal answers `argv` (STATUS or REPRO); None for any other command line."""
    return SEALED.get(_without_jobs(argv))


def status_exit_code(stale: bool, check: bool) -> int:
    """What a status exits with: 1 only for `--check` with something stale."""
    return 1 if check and stale else 0


def jobs_of(argv: list[str]) -> int | None:
    """The N of `repro -j N` (`--jobs N`, `-jN`, `--jobs=N`), a whole number of
    at least 1; None for any other command line."""
    rest = argv[1:]
    if argv[:1] != [REPRO] or not rest:
        return None
    if len(rest) == 2 and rest[0] in ("-j", "--jobs"):
        value = rest[1]
    elif len(rest) == 1 and rest[0].startswith("--jobs="):
        value = rest[0].removeprefix("--jobs=")
    elif len(rest) == 1 and rest[0].startswith("-j"):
        value = rest[0].removeprefix("-j")
    else:
        return None
    return int(value) if value.isdecimal() and int(value) >= 1 else None


def _without_jobs(argv: list[str]) -> tuple[str, ...]:
    """`repro -j 4` (`--jobs 4`, `-j4`, `--jobs=4`) as `repro`; anything else as is."""
    return (REPRO,) if jobs_of(argv) is not None else tuple(argv)


def seals_status(targets: tuple[str, ...], rev: str | None) -> bool:
    """May a status of these targets at this revision settle plain `status`'s
    seal? Only a status of the whole work tree answers what plain `status` asks."""
    return not targets and rev is None


def seals_repro(options: ReproOptions) -> bool:
    """May this repro settle plain `repro`'s seal? Not one of some targets, a
    dry run or a forced one; nor one on another executor, which judged other
    fingerprints (its no-op is not plain `repro`'s answer), nor one that left
    stages with missing data alone, which plain `repro` runs."""
    return not (options.targets or options.dry_run or options.force or options.executor
                or options.downstream or options.allow_missing)


def status_answer(report: StatusReport) -> str | None:
    """What a status with nothing stale prints, to be sealed; None when
    something is stale or a stage runs (which no seal's stat data sees end)."""
    from gitpipe.fastpath.render import UP_TO_DATE
    from gitpipe.fastpath.statusnotes import frozen_lines, orphaned_lines

    if report.stale or report.running:
        return None
    return "\n".join([UP_TO_DATE, *frozen_lines(report), *orphaned_lines(report)]) + "\n"


def repro_answer(report: Report) -> str | None:
    """The table of a repro that skipped every stage, to be sealed; None when
    anything ran, was restored or failed."""
    from gitpipe.core.outcome import Outcome
    from gitpipe.fastpath.render import table_lines

    if not report.ok or any(r.outcome is not Outcome.SKIPPED for r in report.results):
        return None
    return "\n".join(table_lines(report)) + "\n"


def stages_running(root: str, sizes: dict[str, int]) -> bool:
    """Whether the project lock's record names a stage still running: a
    status then says so and a repro refuses, which no seal answers. `sizes`:
    of `.gitpipe/`'s parts (dotdir.link_problems): the record is read only
    where it is not empty (a gitpipe works here, or was killed)."""
    from gitpipe.trust.dotdir import GITPIPE_DIR, PROJECT_LOCK

    if not sizes.get(PROJECT_LOCK):
        return False
    from pathlib import Path

    from gitpipe.project.projectlock import running_stages

    return bool(running_stages(Path(root, GITPIPE_DIR)))
