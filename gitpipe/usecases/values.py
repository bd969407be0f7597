"""Values, not digests: the params the stages use and the metrics they write,
at a revision or in the work tree, and how they changed between two.

A side is a revision (read from git objects, without a checkout) or None, the
work tree. Params are read from the params files, as DVC's `params diff`
does, not from gitpipe.lock: the lock holds what the last run saw, the files
what the next run will see. Metrics files are the outs declared under
`metrics:`; at a revision each is read from git where the commit holds it,
else from the cache by the digest the commit's gitpipe.lock records.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from gitpipe.core.errors import BadInputError, SpecError
from gitpipe.core.yamlio import parse_yaml
from gitpipe.git.revision import Revision
from gitpipe.hashing.canonical import same
from gitpipe.pipeline import graph as graph_module
from gitpipe.pipeline import lockfile
from gitpipe.pipeline.lockfile import LockEntry
from gitpipe.pipeline.model import DEFAULT_PARAMS_FILE, SPEC_FILE, Pipeline, Task
from gitpipe.pipeline.params import ABSENT, ParamsReader, flatten
from gitpipe.pipeline.parse import parse_pipeline
from gitpipe.project.root import Project
from gitpipe.usecases.metricfiles import WORKSPACE, MetricsFile, at_revision, in_work_tree

Key = tuple[str, str]  # (file, dotted key)


class Change(NamedTuple):
    """One value of a params or metrics `file` on two sides; ABSENT on a side
    that lacks it. `change` is new - old where both are numbers."""

    file: str
    key: str
    old: Any
    new: Any
    change: int | float | None = None

    @property
    def name(self) -> str:
        """As a reason names it: `train.lr` in params.yaml, else `file:key`."""
        return self.key if self.file == DEFAULT_PARAMS_FILE else f"{self.file}:{self.key}"

    @property
    def changed(self) -> bool:
        return self.old is ABSENT or self.new is ABSENT or not same(self.old, self.new)

    @property
    def how(self) -> str:
        """`(+0.01)` for numbers, `(added)` or `(removed)`; "" when nothing to add."""
        if self.old is ABSENT:
            return "(added)"
        if self.new is ABSENT:
            return "(removed)"
        return f"({self.change:+})" if self.change else ""

    def __str__(self) -> str:
        """`train.lr 0.01 -> 0.02 (+0.01)`, as `gitpipe diff` may name it."""
        return " ".join(part for part in (self.name, " -> ".join(distinct([self.old, self.new])),
                                          self.how) if part)


def show(value: Any) -> str:
    """A value as the files write it: true/false, null, lists and mappings as
    JSON; `-` for a side that lacks it."""
    if value is ABSENT:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


SHOWN_DIGITS = 12  # a metric's float in a table: float arithmetic's noise lies past them


def brief(value: Any, precision: int | None = None) -> Any:
    """A metric's float as a table shows it: a fraction that needs more than
    SHOWN_DIGITS significant digits (float arithmetic's 0.7259999999999999,
    a computed 0.773938187033374) to SHOWN_DIGITS, so every row reads alike
    (0.726, 0.77393818703; DVC rounds metrics too); a whole number
    (123456789012345.0) as it is, never a rounded number that looks exact;
    anything else as it is. `precision` (`--precision`, as DVC's): every
    float rounded to that many digits after the point instead. `--json`
    gives the values as written."""
    if not (isinstance(value, float) and math.isfinite(value)):
        return value
    if precision is not None:
        return round(value, precision)
    if not value.is_integer():
        return float(f"{value:.{SHOWN_DIGITS}g}")
    return value


def brief_values(values: Sequence[Any], precision: int | None = None) -> list[Any]:
    """One metric's values side by side, as numbers: each `brief`, unless
    that would show two differing values alike; then each as written, so a
    change past the shown digits is seen (the report's table takes these)."""
    shown = [brief(value, precision) for value in values]
    for i, value in enumerate(values):
        for j in range(i):
            if same(shown[i], shown[j]) and not same(value, values[j]):
                return list(values)
    return shown


def brief_row(values: Sequence[Any], precision: int | None = None) -> list[str]:
    """A row of one metric's values side by side (`metrics show A B`), as
    its cells read: `brief_values`, and where even those read alike, as
    `distinct` writes them."""
    return distinct(values, brief_values(values, precision))


def distinct(values: Sequence[Any], shown: Sequence[Any] | None = None) -> list[str]:
    """The cells of `values` (as `shown`, where given): each as `show` writes
    it, unless two differing values would read alike (the string "0.91" and
    the number, "true" and true, "x " and "x" in a padded column, "-" and
    a side without the key); then each as JSON writes it, strings quoted, or
    as Python does where even that cannot tell them apart (a date and its
    text)."""
    shown = values if shown is None else shown
    for write in (show, _json_text, _python_text):
        texts = [write(value) for value in shown]
        read = [text.strip() for text in texts]  # a column pads its cells with spaces
        if not any(read[i] == read[j] and not _same_value(values[i], values[j])
                   for i in range(len(read)) for j in range(i)):
            return texts
    return texts


def _same_value(one: Any, other: Any) -> bool:
    return one is other or (one is not ABSENT and other is not ABSENT and same(one, other))


def _json_text(value: Any) -> str:
    return show(value) if value is ABSENT else json.dumps(value, ensure_ascii=False, default=str)


def _python_text(value: Any) -> str:
    return show(value) if value is ABSENT else repr(value)


def briefly(change: Change, precision: int | None = None) -> Change:
    """A metric's change as a table shows it: each number `brief`, unless that
    would show two differing values alike; the change that of the numbers
    shown, or with `precision` the change of the values rounded (0.8206 ->
    0.8324 is `0.821 -> 0.832 (+0.012)` at 3, as DVC's, not +0.011)."""
    old, new = brief(change.old, precision), brief(change.new, precision)
    if change.changed and same(old, new):
        return change
    if precision is not None:  # as DVC's: the change itself rounded, not that of the rounded
        return change._replace(old=old, new=new, change=brief(change.change, precision))
    shown = numeric_change(old, new)  # the change of the numbers shown, in their decimals
    return change._replace(old=old, new=new,
                           change=change.change if shown is None else brief(shown))


class MetricsDiff(NamedTuple):
    """The metrics that differ (or all, when asked), and the files that could
    not be read on either side (their values are left out of the comparison)."""

    changes: list[Change]
    problems: list[MetricsFile]


def side_label(rev: str | None) -> str:
    return WORKSPACE if rev is None else rev


def numeric_change(old: Any, new: Any) -> int | float | None:
    """new - old for two numbers (booleans are not numbers here), in the
    decimals they are written with: 0.3 - 0.1 is 0.2, not 0.19999999999999998."""
    if not (_number(old) and _number(new)):
        return None
    if isinstance(old, int) and isinstance(new, int):
        return new - old
    if not (math.isfinite(old) and math.isfinite(new)):
        return None
    return float(Decimal(repr(new)) - Decimal(repr(old)))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compare(old: dict[Key, Any], new: dict[Key, Any], everything: bool = False) -> list[Change]:
    """A Change per key whose value differs (every key, with `everything`), by file and key."""
    found = []
    for file, key in sorted(set(old) | set(new)):
        was, now = old.get((file, key), ABSENT), new.get((file, key), ABSENT)
        change = Change(file, key, was, now, numeric_change(was, now))
        if everything or change.changed:
            found.append(change)
    return found


# Params --------------------------------------------------------------------------

def _revision(project: Project, rev: str) -> Revision:
    return Revision.resolve(project.git, rev)


def _pipeline_at(revision: Revision) -> Pipeline:
    """The commit's pipeline; none (no stages) where the commit predates it."""
    text = revision.read_text(SPEC_FILE)
    if text is None:
        return Pipeline(())
    source = f"{SPEC_FILE}@{revision.rev}"
    return parse_pipeline(parse_yaml(text, source), source, revision.read_text)


def params_at(project: Project, rev: str | None) -> dict[Key, Any]:
    """{(params file, dotted key): value} of every param a stage of that side
    names, read from that side's params files; a file or key it lacks is left
    out (it shows as added or removed)."""
    if rev is None:
        return _param_values(project.pipeline, project.params_reader(), WORKSPACE)
    revision = _revision(project, rev)
    return _param_values(_pipeline_at(revision), ParamsReader(revision.read_text), f"at {rev}")


def _param_values(pipeline: Pipeline, reader: ParamsReader, where: str) -> dict[Key, Any]:
    by_file: dict[str, dict[str, Any]] = {}
    for stage in pipeline.stages:
        for ref in stage.params:
            try:
                value = reader.values(stage._replace(params=(ref,)))
            except SpecError:
                continue  # the file or the key is not there on this side
            except BadInputError as exc:
                if exc.message.startswith(f"{ref.file}@"):  # names its side already
                    raise
                raise BadInputError(f"{exc.message} ({where})", exc.hint) from None
            for item in value.values():  # the one param asked for, if there
                by_file.setdefault(ref.file, {})[ref.key] = item
    found: dict[Key, Any] = {}
    for file, values in by_file.items():
        found.update({(file, key): leaf for key, leaf in flatten(values).items()})
    return found


def params_diff(project: Project, old: str | None, new: str | None,
                everything: bool = False) -> list[Change]:
    """The params that differ between two sides (None: the work tree)."""
    return compare(params_at(project, old), params_at(project, new), everything)


# Metrics -------------------------------------------------------------------------

def _metric_tasks(tasks: Iterable[Task]) -> list[tuple[str, str]]:
    """(path, task name) of every metrics file the tasks declare, by path."""
    return sorted({(out.path, task.name) for task in tasks for out in task.outs
                   if not out.cache})


def _tasks(graph: Any) -> list[Task]:
    return [graph.nodes[node]["task"] for node in graph]


def metrics_at(project: Project, rev: str | None) -> list[MetricsFile]:
    """Every metrics file the side's stages declare, read as the module says."""
    if rev is None:
        return [in_work_tree(project.root, path)
                for path, _ in _metric_tasks(_tasks(project.graph))]
    revision = _revision(project, rev)
    graph = graph_module.build(_pipeline_at(revision), project.today)
    found = []
    entries: dict[str, LockEntry] | None = None
    for path, task in _metric_tasks(_tasks(graph)):
        locked = None
        if revision.kind(path) != "file":  # not in git: the lock names its cached object
            entries = _lock_at(revision) if entries is None else entries
            entry = entries.get(task)
            locked = entry.out(path) if entry else None
        found.append(at_revision(revision, path, locked, project.cache))
    return found


def _lock_at(revision: Revision) -> dict[str, LockEntry]:
    try:
        return lockfile.parse(revision.read_text(lockfile.LOCK_FILE) or "")
    except BadInputError as exc:
        raise BadInputError(f"{exc.message} (at {revision.rev})", exc.hint) from None


def declared_metrics(project: Project) -> list[str]:
    """The paths of the metrics files the work tree's gitpipe.yaml declares."""
    return sorted({path for path, _ in _metric_tasks(_tasks(project.graph))})


def metrics_target(project: Project, arg: str, declared: list[str] | None = None) -> str | None:
    """`arg` as the metrics file it names (`./eval/m.json` is `eval/m.json`),
    where gitpipe.yaml declares one there; else None. DVC's `metrics show
    PATH` and `--targets PATH` name files where gitpipe's REVs name commits."""
    path = arg.removeprefix("./")
    return path if path in (declared_metrics(project) if declared is None else declared) \
        else None


def declared_params_files(project: Project) -> list[str]:
    """The params files the work tree's gitpipe.yaml reads."""
    return sorted({ref.file for stage in project.pipeline.stages for ref in stage.params})


def refuse_undeclared(project: Project, paths: Iterable[str], params: bool = False) -> list[str]:
    """`paths` as `--targets`: metrics files (params files, with `params`)
    gitpipe.yaml declares; BadInputError naming the declared ones for another."""
    from gitpipe.core.errors import did_you_mean

    declared = declared_params_files(project) if params else declared_metrics(project)
    what = "params" if params else "metrics"
    found = []
    for arg in paths:
        path = arg.removeprefix("./")
        if path not in declared:
            near = did_you_mean(path, declared)
            raise BadInputError(f"gitpipe.yaml declares no {what} file {arg!r}"
                                + (f" ({near})" if near else ""),
                                hint=f"its {what} files: " + (", ".join(declared) or "none"))
        found.append(path)
    return found


def refuse_path_as_revision(project: Project, revs: Iterable[str]) -> None:
    """A REV of `metrics show` that git does not know but the work tree has
    as a file: DVC's target of a file no stage declares under `metrics:`,
    said so rather than as an unknown revision."""
    from gitpipe.git.repo import start_commit

    for rev in revs:
        if not (project.root / rev).exists():
            continue
        try:
            start_commit(project.git, rev)
        except BadInputError:
            declared = declared_metrics(project)
            raise BadInputError(f"{rev!r} is neither a revision nor a metrics file "
                                "gitpipe.yaml declares", hint="its metrics files: "
                                + (", ".join(declared) or "none (list them under "
                                   "'metrics:')")) from None


def metrics_show(project: Project, revs: Sequence[str | None]) -> dict[str, list[MetricsFile]]:
    """{side label: its metrics files}, one side per revision (None: the work tree)."""
    return {side_label(rev): metrics_at(project, rev) for rev in revs}


def _metric_values(files: list[MetricsFile], unreadable: set[str]) -> dict[Key, Any]:
    return {(f.path, key): value for f in files if f.path not in unreadable
            for key, value in f.values.items()}


def metrics_diff(project: Project, old: str | None, new: str | None,
                 everything: bool = False) -> MetricsDiff:
    """The metrics whose values differ between two sides (None: the work tree).
    A file missing on a side has its metrics added or removed; a file that
    cannot be read on either side is left out and named in `problems`."""
    before, after = metrics_at(project, old), metrics_at(project, new)
    problems = [f for f in before + after if f.problem]
    unreadable = {f.path for f in problems}
    changes = compare(_metric_values(before, unreadable), _metric_values(after, unreadable),
                      everything)
    return MetricsDiff(changes, problems)


def metric_changes(project: Project, rev_a: str | None, rev_b: str | None) -> list[Change]:
    """The metrics whose values differ from `rev_a` to `rev_b` (None: the work
    tree), for `gitpipe diff` to name by value; unreadable files are left out."""
    return metrics_diff(project, rev_a, rev_b).changes
