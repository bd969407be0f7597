"""The run history as a Chrome/Perfetto trace (`gitpipe runs --trace`): one
process per repro or backfill, one thread per concurrent slot, and the
critical path of each marked and drawn again on a track of its own.

The format is the trace-event JSON object form (`traceEvents`, complete
events `ph: "X"` in microseconds, `M` metadata naming processes and
threads) that Perfetto, chrome://tracing and speedscope open.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from gitpipe.core.digraph import Dag
from gitpipe.core.errors import BadInputError, GitpipeError, did_you_mean
from gitpipe.core.timeline import assign_slots, critical_path, kept_edges
from gitpipe.storage.state import RunRecord, State

# Colour names the viewers know (catapult's reserved `cname`s), one per result.
COLOURS = {"ran": "good", "failed": "terrible", "interrupted": "bad", "restored": "grey"}
CRITICAL_COLOUR = "yellow"
CRITICAL_TRACK = "critical path"


@dataclass(frozen=True)
class TracePick:
    """Which invocations to export: one by id prefix, else the newest `last`
    (started at `since` or later, when given); the default, the newest one."""

    invocation: str | None = None
    last: int = 1
    since: float | None = None


class NoHistoryError(GitpipeError):
    """Nothing recorded to export (exit 1: the trace asked for is not written)."""


def pick_invocations(state: State, pick: TracePick) -> list[str]:
    """The invocation ids `pick` names, oldest first; an unknown or ambiguous
    prefix is BadInputError, no history at all NoHistoryError."""
    known = state.invocations(None if pick.invocation else pick.since)
    if not known:
        raise NoHistoryError(_nothing(pick.since), hint="run 'gitpipe repro' or 'gitpipe "
                             "backfill' first; 'gitpipe runs' lists what is recorded")
    if pick.invocation is None:
        return known[:pick.last][::-1]
    matches = [i for i in known if i.startswith(pick.invocation)]
    if len(matches) == 1:
        return matches
    if not matches:
        raise BadInputError(f"no recorded invocation starts with {pick.invocation!r}",
                            hint=did_you_mean(pick.invocation, known)
                            or "'gitpipe runs' shows each run's invocation")
    shown = ", ".join(matches[:5])
    raise BadInputError(f"invocation prefix {pick.invocation!r} is ambiguous: {shown}",
                        hint="give more of the id")


def since_time(text: str, now: float | None = None) -> float:
    """`--since`: a duration ago ('90m', '2h', '3d') or a local date or time
    (ISO 8601: '2026-12-01', '2026-12-01T08:00'), as seconds since the epoch."""
    from datetime import datetime

    from gitpipe.pipeline.stage import parse_duration

    try:
        return (time.time() if now is None else now) - parse_duration(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise BadInputError(f"--since {text!r} is neither a date nor a duration",
                            hint="a date or time (2026-12-01, 2026-12-01T08:00) or a "
                            "duration ago (90m, 2h, 3d)") from None


def _nothing(since: float | None) -> str:
    if since is None:
        return "no runs recorded yet: there is no trace to write"
    return f"no repro or backfill started since {_clock(since)}: there is no trace to write"


def trace_document(records: Sequence[RunRecord], graph: Dag) -> dict[str, Any]:
    """The trace of `records` (runs of one or more invocations): a process per
    invocation, in the order their first runs started."""
    by_invocation: dict[str, list[RunRecord]] = {}
    for record in records:
        by_invocation.setdefault(record.invocation or "", []).append(record)
    events: list[dict[str, Any]] = []
    for pid, (invocation, runs) in enumerate(sorted(
            by_invocation.items(), key=lambda item: min(r.started for r in item[1])), start=1):
        events += _process(pid, invocation, runs, graph)
    return {"traceEvents": events, "displayTimeUnit": "ms",
            "otherData": {"generator": "gitpipe runs --trace", "runs": len(records),
                          "invocations": list(by_invocation)}}


def _process(pid: int, invocation: str, runs: list[RunRecord], graph: Dag) -> list[dict[str, Any]]:
    spans = [run_span(run) for run in runs]
    slots = assign_slots(spans)
    critical = set(_critical(runs, spans, graph))
    width = max(slots) + 1
    started = min(run.started for run in runs)
    events = [_meta("process_name", pid, 0, f"{invocation[:8]} {_clock(started)}"),
              _meta("process_sort_index", pid, 0, pid, key="sort_index")]
    events += [_meta("thread_name", pid, slot + 1, f"slot {slot + 1}") for slot in range(width)]
    for index, (run, (start, end), slot) in enumerate(zip(runs, spans, slots, strict=True)):
        events.append(_complete(run, pid, slot + 1, (start, end), index in critical))
    if critical:
        events += _critical_track(pid, width + 1, [(runs[i], spans[i]) for i in sorted(
            critical, key=lambda i: spans[i])])
    return events


def run_span(run: RunRecord) -> tuple[int, int]:
    """Start and end in whole microseconds: events are compared as written."""
    start = round(run.started * 1e6)
    return start, start + max(0, round(run.duration * 1e6))


def _critical(runs: list[RunRecord], spans: list[tuple[int, int]], graph: Dag) -> list[int]:
    """Indexes of the runs on the critical path: of each task's last run, those
    in the graph, chained through its edges."""
    last: dict[Hashable, int] = {}
    for index, run in enumerate(runs):
        if run.task in graph:
            last[run.task] = index
    durations = {task: float(spans[i][1] - spans[i][0]) for task, i in last.items()}
    ends = {task: float(spans[i][1]) for task, i in last.items()}
    return [last[task] for task in critical_path(durations, ends, kept_edges(graph, last))]


def _critical_track(pid: int, tid: int, chain: list[tuple[RunRecord, tuple[int, int]]]
                    ) -> list[dict[str, Any]]:
    """The critical path again on a track of its own; each event starts no
    earlier than the one before it ends (clocks round), so none overlap."""
    events = [_meta("thread_name", pid, tid, CRITICAL_TRACK),
              _meta("thread_sort_index", pid, tid, -1, key="sort_index")]
    after = 0
    for run, (start, end) in chain:
        start = max(start, after)
        end = max(start, end)
        event = _complete(run, pid, tid, (start, end), True)
        events.append({**event, "cat": f"critical,{event['cat']}", "cname": CRITICAL_COLOUR})
        after = end
    return events


def _complete(run: RunRecord, pid: int, tid: int, span: tuple[int, int],
              critical: bool) -> dict[str, Any]:
    stage, _, key = run.task.partition("@")
    args = {"task": run.task, "result": run.result, "stage": stage, "partition": key or None,
            "fingerprint": run.fingerprint, "bytes_in": run.bytes_in,
            "bytes_out": run.bytes_out, "log": run.log, "invocation": run.invocation,
            "critical": critical}
    return {"name": run.task, "cat": run.result, "ph": "X", "ts": span[0],
            "dur": span[1] - span[0], "pid": pid, "tid": tid,
            "cname": COLOURS.get(run.result, "generic_work"), "args": args}


def _meta(name: str, pid: int, tid: int, value: object, key: str = "name") -> dict[str, Any]:
    return {"name": name, "ph": "M", "pid": pid, "tid": tid, "args": {key: value}}


def _clock(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


__all__ = ["NoHistoryError", "TracePick", "pick_invocations", "since_time", "trace_document"]
