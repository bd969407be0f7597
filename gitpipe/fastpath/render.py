"""The text of the answers both front doors give: a status report, the repro
table and a dry run's plan. Plain strings, no click: cli/launch.py's quick
path prints them without importing the CLI, cli/output.py with click.echo.

Output scales with the pipeline: a stage's partitions that are stale for the
same reasons make one entry (`features@2024-01-01 … 2024-12-31 (366 of 366)`),
repeated `upstream:` reasons one line, and long lists are cut with a count
that `--all` (or `--json`) lifts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitpipe.core.columns import aligned
from gitpipe.core.ranges import (
    ENTRIES_SHOWN,
    Entry,
    cut,
    entries,
    entry_lines,
    is_date,
    more_line,
    plural,
    positions_of,
    shared_reasons,
    split_task,
)
from gitpipe.fastpath.statusnotes import (
    checkout_hint,
    frozen_lines,
    lacks_none,
    missing_outs_hint,
    never_ran_frozen,
    never_run_frozen_lines,
    orphaned_lines,
    renamed_lines,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from gitpipe.engine.reports import Report, TaskResult
    from gitpipe.fastpath.statusnotes import CacheLacks
    from gitpipe.project.reasons import Reason
    from gitpipe.project.status import StatusReport

UP_TO_DATE = "everything is up to date"
# Nothing stale while stages run: the lock matches the work tree as it is now.
NOTHING_STALE = "nothing is stale in the work tree as it is now"
STAGES_COUNTED = 3  # stages whose partitions or items a count line names
MAY_RUN = "may run"  # a dry run's task downstream of forced ones alone
NOTHING_WOULD_RUN = "everything is up to date: nothing would run"
# A dry run that considered some of the pipeline (targets, -s, --downstream):
# what it left out may be stale.
NOTHING_CONSIDERED_WOULD_RUN = ("nothing would run: the stages considered are up to date "
                                "('gitpipe status' judges them all)")
ROWS_SHOWN = 40  # rows of the repro table before the cut
SKIPPED_ROWS_UP_TO = 30  # a larger pipeline's table leaves out its skipped rows


def positions(names: list[str], order: Iterable[str] | None) -> dict[str, dict[str, int]]:
    """Each partitioned stage's keys by their place in `order` (every task of
    the pipeline), or else in `names`. Runs are judged by place, so they must
    come from the whole range: of a few partitions picked by name, the 1st,
    2nd, 3rd and 7th of May are not one run."""
    return positions_of(order if order is not None else names)


def reasons_of(result: TaskResult) -> Sequence[Reason | str]:
    """A result's reasons as Reasons where the judge gave them (its details
    say the same sentences), else as the sentences."""
    details = result.details
    if len(details) == len(result.reasons) and all(
            str(detail) == said for detail, said in zip(details, result.reasons, strict=True)):
        return details
    return result.reasons


def counts_text(names: list[str], chosen: set[str], verb: str) -> str:
    """`2 of 3 stages stale (366 of 366 partitions)`: the stages of gitpipe.yaml
    (a partitioned or foreach stage is one, `chosen` when any of its tasks is),
    then, per stage, its date partitions or foreach items chosen, as `validate`
    counts them. A stage none of whose tasks is chosen is left out (`0 of 4
    partitions` says nothing the stage count does not); where several stages
    count one kind, each is named (`daily: 1 of 3 partitions, feats: 2 of 3
    partitions`): a sum over stages reads as one stage's."""
    by_stage: dict[str, list[str]] = {}
    for name in names:
        by_stage.setdefault(name.partition("@")[0], []).append(name)
    picked = {name.partition("@")[0] for name in chosen}
    parts = {(stage, kind): f"{count} of {plural(len(group), kind)}"
             for stage, tasks in by_stage.items()
             for kind, group in tasks_by_kind(tasks).items() if group and kind != "stage"
             and (count := sum(n in chosen for n in group))}
    kinds = [kind for _, kind in parts]
    said = list(parts.values()) if len(kinds) == len(set(kinds)) else \
        [f"{stage}: {part}" for (stage, _), part in parts.items()]
    said = said if len(said) <= STAGES_COUNTED else \
        [*said[:STAGES_COUNTED], plural(len(said) - STAGES_COUNTED, "more stage")]
    within = f" ({', '.join(said)})" if said else ""
    return (f"{len(set(by_stage) & picked)} of {plural(len(by_stage), 'stage')} "
            f"{verb}{within}")


def tasks_by_kind(names: Iterable[str]) -> dict[str, list[str]]:
    """Task names as `stage` (a stage's one task), `partition` (of a date-
    partitioned stage) and `item` (of a foreach or matrix stage): the one
    definition `status`, `repro --dry-run` and `validate` count by."""
    kinds: dict[str, list[str]] = {"stage": [], "partition": [], "item": []}
    for name in names:
        _, at, key = name.partition("@")
        kinds["partition" if at and is_date(key) else "item" if at else "stage"] \
            .append(name)
    return kinds


def status_lines(report: StatusReport, everything: bool = False,
                 has_remote: Callable[[], bool] | None = None,
                 order: Iterable[str] | None = None,
                 key_names: Mapping[str, str] | None = None,
                 cache_lacks: CacheLacks | None = None) -> list[str]:
    """Each stale entry and its reasons, a count, and a hint when outs the lock
    records are missing (a fresh clone): `pull` with a remote, else `repro`.
    `has_remote` is asked only then; without it there is no hint. `order` is
    every task of the pipeline in plan order (see `positions`), `key_names` what
    the spec calls a stage's keys (core/ranges.entries). `cache_lacks` says
    whether the local cache lacks some of the recorded outs (task, out) the
    hints would have `checkout` put back; without it, none is lacking."""
    stale = [v for v in report.tasks if v.stale]
    running, stop = running_lines(report)
    if not stale:
        said = [*running, NOTHING_STALE, *stop] if running else [UP_TO_DATE]
        return [*said, *frozen_lines(report), *orphaned_lines(report)]
    tasks = [v.task for v in report.tasks]
    found = entries(((v.task, v.reasons) for v in stale),
                    positions(tasks, order), everything, key_names)
    lines = [*running, *entry_lines(found, everything)]
    lines.append(counts_text(tasks, {v.task for v in stale}, "stale"))
    # While a stage runs, its outs are half written and the commands the
    # hints name would refuse beside it: the running hint alone is said.
    lacks = cache_lacks or lacks_none
    hint = None if running else (missing_outs_hint(report, has_remote, lacks)
                                 or checkout_hint(report, has_remote, lacks))
    return [*lines, *([hint] if hint else []), *stop, *frozen_lines(report),
            *orphaned_lines(report), *renamed_lines(report.renamed)]


def running_lines(report: StatusReport) -> tuple[list[str], list[str]]:
    """A line for each stage running as the work tree is judged (as Airflow
    shows a task instance running); for those a killed gitpipe left running,
    the hint that `repro` waits for them, and for a live gitpipe's, that
    what is stale is judged again once it ends."""
    from gitpipe.trust.checks import terminal_text  # the record's task names: this machine's

    lines = [f"{terminal_text(stage.task)}: running{_for(stage.seconds)} ("
             + ("started by a gitpipe that was killed; " if stage.killed else "")
             + f"process group {stage.process_group})" for stage in report.running]
    left = [stage.process_group for stage in report.running if stage.killed]
    live = len(report.running) - len(left)
    hints = [f"hint: another gitpipe is running {plural(live, 'stage')} now: ask "
             "'gitpipe status' again once it ends"] if live else []
    if not left:
        return lines, hints
    from gitpipe.project.projectlock import stop_advice

    return lines, [f"hint: 'gitpipe repro' refuses to run beside {plural(len(left), 'stage')} "
                   f"a killed gitpipe left running: {stop_advice(left)}", *hints]


def _for(seconds: int | None) -> str:
    """` for 42 s`, ` for 3 min`, ` for 2 h 05 min`: how long a stage has run."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f" for {seconds} s"
    if seconds < 3600:
        return f" for {seconds // 60} min"
    return f" for {seconds // 3600} h {seconds % 3600 // 60:02d} min"


def dry_run_lines(report: Report, everything: bool = False,
                  order: Iterable[str] | None = None,
                  key_names: Mapping[str, str] | None = None) -> list[str]:
    """What a dry run would run and why, grouped as status groups, then a
    count; what may run (downstream of forced tasks alone: it runs only if
    their outs change); then what `repro` would refuse (`would fail`, its
    error said after the lines as a run says it) and what that blocks (`would
    not run`)."""
    from gitpipe.core.outcome import Outcome

    verbs = {Outcome.RAN: "would run", Outcome.FAILED: "would fail",
             Outcome.BLOCKED: "would not run"}
    acting = [r for r in report.results if r.outcome in verbs]
    names = [r.task for r in report.results]
    frozen = never_run_frozen_lines(r.task for r in report.results
                                    if any(never_ran_frozen(d) for d in r.details))
    if not acting:
        whole = order is None or set(names) >= set(order)
        return [NOTHING_WOULD_RUN if whole else NOTHING_CONSIDERED_WOULD_RUN, *frozen]
    maybe = _after_forced_alone(acting)
    said = {r.task: MAY_RUN if r.task in maybe else verbs[r.outcome] for r in acting}
    where = positions(names, order)
    lines = [f"{verb} {entry.title}: {'; '.join(entry.reasons)}"
             for verb in (verbs[Outcome.RAN], MAY_RUN, *list(verbs.values())[1:])
             for entry in entries(((r.task, reasons_of(r)) for r in acting
                                   if said[r.task] == verb), where, everything, key_names)]
    lines = cut(lines, ENTRIES_SHOWN, "", everything)
    count = counts_text(_of_stages(names, order),
                        {task for task, verb in said.items() if verb == verbs[Outcome.RAN]},
                        "would run")
    refused = [f"{plural(len(tasks), 'task')} {verbs[outcome]}" for outcome in verbs
               if outcome is not Outcome.RAN
               and (tasks := [r for r in acting if r.outcome is outcome])]
    may = [f"{plural(len(maybe), 'task')} {MAY_RUN} (if the outs above them change)"] \
        if maybe else []
    return [*lines, ", ".join([count, *may, *refused]), *frozen]


def _after_forced_alone(acting: list[TaskResult]) -> set[str]:
    """The tasks a dry run would run only because a forced task, or such a
    task, is upstream of them (their own reasons are all `upstream:`): they
    run only if the forced outs change. Right below a forced `deterministic:
    false` task (its note says so) they run whatever its outs hold, and what
    is below them again runs only if their outs change. `acting` is in plan
    order."""
    from gitpipe.core.outcome import Outcome
    from gitpipe.project.reasons import Kind

    forced: set[str] = set()  # run for sure: below, only if their outs change
    always: set[str] = set()  # run for sure, `deterministic: false`: below, for sure
    maybe: set[str] = set()
    for result in acting:
        kinds = {reason.kind for reason in result.details}
        above = {r.subject for r in result.details if r.kind is Kind.UPSTREAM}
        if Kind.FORCED in kinds or (result.outcome is Outcome.RAN and above & always):
            (always if Kind.NONDETERMINISTIC in kinds else forced).add(result.task)
        elif (result.outcome is Outcome.RAN and kinds == {Kind.UPSTREAM}
              and above <= forced | maybe):
            maybe.add(result.task)
    return maybe


def _of_stages(names: list[str], order: Iterable[str] | None) -> list[str]:
    """Every task of the stages `names` touch (`order`: all the pipeline's), so
    a count says `2 of 5 partitions` as the entry's title does, not 2 of the
    2 selected; `names` where the pipeline's tasks are not known."""
    if order is None:
        return names
    stages = {name.partition("@")[0] for name in names}
    return [task for task in order if task.partition("@")[0] in stages] or names


def table_lines(report: Report, everything: bool = False,
                order: Iterable[str] | None = None,
                key_names: Mapping[str, str] | None = None) -> list[str]:
    """The repro table: a row per task that did something (partitions of one
    stage with one result and alike reasons share a row), then the counts.
    No rows, no header."""
    from gitpipe.core.outcome import Outcome

    # Up-to-date rows are listed only for small pipelines: on a large one a
    # wall of "skipped" hides what ran and costs real time to draw. Plain
    # aligned columns, because rich's Table costs more than the whole no-op.
    results = report.results
    rows = results if len(results) <= SKIPPED_ROWS_UP_TO or everything else [
        r for r in results if r.outcome is not Outcome.SKIPPED]
    cells = _rows(rows, positions([r.task for r in results], order), everything, key_names)
    counts = ", ".join(f"{report.count(o)} {o.value}" for o in Outcome if report.count(o))
    if not cells:
        return [f"{UP_TO_DATE}: {counts}" if counts else UP_TO_DATE]
    shown = cells if everything else cells[:ROWS_SHOWN]
    lines = aligned([("stage", "result", "time", "why"), *shown])
    if len(shown) < len(cells):
        lines.append(more_line(len(cells) - len(shown), "rows"))
    return [*lines, counts]


# A skipped task's why, as `dvc repro` says "didn't change, skipping".
UP_TO_DATE_WHY = "up to date"


def _rows(results: list[TaskResult], positions: dict[str, dict[str, int]],
          everything: bool, key_names: Mapping[str, str] | None) -> list[tuple[str, str, str, str]]:
    """(task, result, time, why) cells; a group's time is the sum of its members'."""
    from gitpipe.core.outcome import Outcome

    groups: dict[tuple[str, str], list[TaskResult]] = {}
    for result in results:
        groups.setdefault((split_task(result.task)[0], result.outcome.value), []).append(result)
    cells = []
    for (_, outcome), members in groups.items():
        for entry, chosen in _alike(members, positions, everything, key_names):
            duration = sum(r.duration for r in chosen)
            skipped = outcome == Outcome.SKIPPED.value
            why = "; ".join(entry.reasons) or (UP_TO_DATE_WHY if skipped else "")
            cells.append((entry.title, outcome, f"{duration:.2f}s" if duration else "", why))
    return cells


def _alike(members: list[TaskResult], positions: dict[str, dict[str, int]],
           everything: bool, key_names: Mapping[str, str] | None
           ) -> list[tuple[Entry, list[TaskResult]]]:
    """The members (one stage, one result) as entries, each with its results:
    `entries` groups partitions by their reasons with `${date}` for the key,
    in the order the groups first appear, and so does this."""
    by_reasons: dict[tuple[str, ...], list[TaskResult]] = {}
    for result in members:
        stage, key = split_task(result.task)
        alike = shared_reasons(reasons_of(result), key, (key_names or {}).get(stage)) if key \
            else result.reasons
        by_reasons.setdefault(alike, []).append(result)
    found = entries(((r.task, reasons_of(r)) for r in members), positions, everything, key_names)
    return list(zip(found, by_reasons.values(), strict=True))
