"""How the CLI shows reports: status reasons, the repro table, live stage
output and backfill progress. Printing only; the commands are in
cli/pipeline.py, cli/gitcmds.py and cli/storage.py."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import click

from gitpipe.fastpath.render import dry_run_lines, status_lines, table_lines

if TYPE_CHECKING:
    from gitpipe.engine.reports import Event, Report
    from gitpipe.project.status import StatusReport


def console(err: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=err, highlight=False, no_color=bool(os.environ.get("NO_COLOR")))


def print_status(report: StatusReport, everything: bool = False,
                 has_remote: Any = None, order: Any = None) -> None:
    for line in status_lines(report, everything, has_remote, order):
        click.echo(line)


class LivePrinter:
    """Streams stage output with a `[stage]` prefix; one lock so lines never interleave."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def line(self, task: str, text: str) -> None:
        with self._lock:
            click.echo(f"[{task}] {text}")

    def event(self, event: Event) -> None:
        labels = {"start": "running", "retry": "retrying", "fail": "failed",
                  "restored": "restored", "recorded": "re-recorded", "warn": "warning"}
        if event.kind not in labels:
            return
        with self._lock:
            detail = event.message.splitlines()[0] if event.message else ""
            click.echo(f"{labels[event.kind]} {event.task}" + (f": {detail}" if detail else ""),
                       err=event.kind in ("fail", "warn"))


def print_report(report: Report, everything: bool = False, order: Any = None) -> None:
    if report.dry_run:
        for line in dry_run_lines(report, everything, order):
            click.echo(line)
        return
    print_table(report, everything, order)
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


def print_table(report: Report, everything: bool = False, order: Any = None) -> None:
    for line in table_lines(report, everything, order):
        click.echo(line)


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
            elif event.kind in ("done", "fail", "restored", "recorded", "skip"):
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
