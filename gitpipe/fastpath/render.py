"""The text of the two answers both front doors give: a status report and the
repro table. Plain strings, no click: cli/launch.py's quick path prints them
without importing the CLI, cli/output.py with click.echo."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitpipe.engine.reports import Report
    from gitpipe.project.status import StatusReport

UP_TO_DATE = "everything is up to date"


def status_lines(report: StatusReport) -> list[str]:
    """Each stale task and its reasons; a partitioned stage as ranges of partitions."""
    stale = [v for v in report.tasks if v.stale]
    if not stale:
        return [UP_TO_DATE]
    by_stage: dict[str, list[Any]] = {}
    for verdict in report.tasks:
        by_stage.setdefault(verdict.task.split("@", 1)[0], []).append(verdict)
    lines: list[str] = []
    for stage, verdicts in by_stage.items():
        if "@" in verdicts[0].task:
            lines += _partition_lines(stage, verdicts)
            continue
        for verdict in (v for v in verdicts if v.stale):
            lines.append(f"{verdict.task}:")
            lines += [f"    {reason}" for reason in verdict.reasons]
    lines.append(f"{len(stale)} of {len(report.tasks)} task(s) stale")
    return lines


def _partition_lines(stage: str, verdicts: list[Any]) -> list[str]:
    """'features: 3 of 365 stale: 2024-03-01..2024-03-02, 2024-07-04', then the reasons."""
    stale = [v for v in verdicts if v.stale]
    if not stale:
        return []
    keys = [v.task.split("@", 1)[1] for v in verdicts]
    flags = [v.stale for v in verdicts]
    lines = [f"{stage}: {len(stale)} of {len(verdicts)} stale: {_ranges(keys, flags)}"]
    counts: dict[str, int] = {}
    for verdict in stale:
        for reason in verdict.reasons:
            counts[str(reason)] = counts.get(str(reason), 0) + 1
    for reason, count in sorted(counts.items(), key=lambda kv: -kv[1])[:8]:
        lines.append(f"    {reason}" + (f"  (×{count})" if count > 1 else ""))
    return lines


def _ranges(keys: list[str], flags: list[bool]) -> str:
    """Runs of consecutive stale partitions as 'first..last', single ones alone."""
    runs: list[str] = []
    start = None
    for index, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            first, last = keys[start], keys[index - 1]
            runs.append(first if first == last else f"{first}..{last}")
            start = None
    shown = runs[:10]
    return ", ".join(shown) + (f", … ({len(runs) - 10} more runs)" if len(runs) > 10 else "")


def table_lines(report: Report) -> list[str]:
    """The repro table: one row per task that did something, then the counts."""
    from gitpipe.core.outcome import Outcome

    # Up-to-date rows are listed only for small pipelines: on a large one a
    # wall of "skipped" hides what ran and costs real time to draw. Plain
    # aligned columns, because rich's Table costs more than the whole no-op.
    rows = report.results if len(report.results) <= 30 else [
        r for r in report.results if r.outcome is not Outcome.SKIPPED]
    cells = [("stage", "result", "time", "why")] + [
        (r.task, r.outcome.value, f"{r.duration:.2f}s" if r.duration else "",
         "; ".join(r.reasons)) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(3)]
    lines = [("  ".join(row[i].ljust(widths[i]) for i in range(3)) + "  " + row[3]).rstrip()
             for row in cells]
    return [*lines, ", ".join(f"{report.count(o)} {o.value}" for o in Outcome if report.count(o))]
