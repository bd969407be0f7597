"""How the CLI shows reports: status reasons, the repro table, live stage
output and backfill progress. Printing only; the commands are in cli.py."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from gitpipe.repro import Event, Report
    from gitpipe.status import StatusReport


def console(err: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=err, highlight=False, no_color=bool(os.environ.get("NO_COLOR")))


UP_TO_DATE = "everything is up to date"


def print_status(report: StatusReport) -> None:
    stale = [v for v in report.tasks if v.stale]
    if not stale:
        click.echo(UP_TO_DATE)
        return
    by_stage: dict[str, list[Any]] = {}
    for verdict in report.tasks:
        by_stage.setdefault(verdict.task.split("@", 1)[0], []).append(verdict)
    for stage, verdicts in by_stage.items():
        if "@" in verdicts[0].task:
            _print_partitions(stage, verdicts)
            continue
        for verdict in (v for v in verdicts if v.stale):
            click.echo(f"{verdict.task}:")
            for reason in verdict.reasons:
                click.echo(f"    {reason}")
    click.echo(f"{len(stale)} of {len(report.tasks)} task(s) stale")


def _print_partitions(stage: str, verdicts: list[Any]) -> None:
    """'features: 3 of 365 stale: 2024-03-01..2024-03-02, 2024-07-04', then the reasons."""
    stale = [v for v in verdicts if v.stale]
    if not stale:
        return
    keys = [v.task.split("@", 1)[1] for v in verdicts]
    flags = [v.stale for v in verdicts]
    click.echo(f"{stage}: {len(stale)} of {len(verdicts)} stale: {_ranges(keys, flags)}")
    counts: dict[str, int] = {}
    for verdict in stale:
        for reason in verdict.reasons:
            counts[str(reason)] = counts.get(str(reason), 0) + 1
    for reason, count in sorted(counts.items(), key=lambda kv: -kv[1])[:8]:
        click.echo(f"    {reason}" + (f"  (×{count})" if count > 1 else ""))


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


class LivePrinter:
    """Streams stage output with a `[stage]` prefix; one lock so lines never interleave."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def line(self, task: str, text: str) -> None:
        with self._lock:
            click.echo(f"[{task}] {text}")

    def event(self, event: Event) -> None:
        labels = {"start": "running", "retry": "retrying", "fail": "failed",
                  "restored": "restored"}
        if event.kind not in labels:
            return
        with self._lock:
            detail = event.message.splitlines()[0] if event.message else ""
            click.echo(f"{labels[event.kind]} {event.task}" + (f": {detail}" if detail else ""),
                       err=event.kind == "fail")


def print_report(report: Report) -> None:
    from gitpipe.scheduler import Outcome

    if report.dry_run:
        would = [r for r in report.results if r.outcome is Outcome.RAN]
        for result in would:
            click.echo(f"would run {result.task}: {'; '.join(result.reasons)}")
        click.echo(f"{len(would)} of {len(report.results)} stage(s) would run"
                   if would else "everything is up to date: nothing would run")
        return
    print_table(report)
    for failed in report.failed:
        if failed.message:
            click.echo(f"error: {failed.message}", err=True)
        if failed.log:
            click.echo(f"hint: the log is {failed.log}", err=True)
            if "@" in failed.task:
                for line in _tail(failed.log, 5):
                    click.echo(f"    | {line}", err=True)


def _tail(path: str, count: int) -> list[str]:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 8192))
            return handle.read().decode(errors="replace").splitlines()[-count:]
    except OSError:
        return []


def print_table(report: Report) -> None:
    for line in table_lines(report):
        click.echo(line)


def table_lines(report: Report) -> list[str]:
    from gitpipe.scheduler import Outcome

    # NOTE: up-to-date rows are listed only for small pipelines; on 1,000
    # stages a wall of "skipped" hides what ran and costs real time to draw.
    # Plain aligned columns: rich's Table took ~0.15 s for 200 rows.
    rows = report.results if len(report.results) <= 30 else [
        r for r in report.results if r.outcome is not Outcome.SKIPPED]
    cells = [("stage", "result", "time", "why")] + [
        (r.task, r.outcome.value, f"{r.duration:.2f}s" if r.duration else "",
         "; ".join(r.reasons)) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(3)]
    lines = [("  ".join(row[i].ljust(widths[i]) for i in range(3)) + "  " + row[3]).rstrip()
             for row in cells]
    return [*lines, ", ".join(f"{report.count(o)} {o.value}" for o in Outcome if report.count(o))]


class BackfillProgress:
    """done / running / failed / waiting with elapsed time and an estimate, on a terminal."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.started = time.monotonic()
        self.counts = {"done": 0, "running": 0, "failed": 0}
        self._live: Any = None

    def __enter__(self) -> BackfillProgress:
        if sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
            from rich.live import Live

            self._live = Live("", console=console(), transient=True, refresh_per_second=4)
            self._live.start()
        return self

    def wrap(self, inner: Any) -> Any:
        def listener(event: Event) -> None:
            if event.kind == "start":
                self.counts["running"] += 1
            elif event.kind in ("done", "fail", "restored", "skip"):
                if event.kind != "skip" and self.counts["running"]:
                    self.counts["running"] -= 1
                self.counts["failed" if event.kind == "fail" else "done"] += 1
            if self._live is not None:
                self._live.update(self.line())
            inner(event)
        return listener

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        done = self.counts["done"] + self.counts["failed"]
        waiting = max(0, self.total - done - self.counts["running"])
        eta = elapsed / done * (self.total - done) if done else None
        return (f"done {self.counts['done']}/{self.total}  running {self.counts['running']}  "
                f"failed {self.counts['failed']}  waiting {waiting}  elapsed {elapsed:.0f}s"
                + (f"  eta {eta:.0f}s" if eta is not None else ""))

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
