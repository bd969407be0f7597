"""Whether gitpipe.lock matches gitpipe.yaml and params, read without hashing
or running anything: what the pre-commit hook (usecases/hooks.py) refuses a
commit for, worded and grouped as `status` words and groups its reasons.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from gitpipe.core.digraph import Dag
    from gitpipe.pipeline.lockfile import LockEntry
    from gitpipe.pipeline.model import Task
    from gitpipe.pipeline.params import ParamsReader
    from gitpipe.project.reasons import Reason
    from gitpipe.usecases.envbefore import Env


class Problems(NamedTuple):
    """Each task whose lock entry disagrees, with what disagrees, and every
    task in the spec's order (a stage's items and partitions are grouped by
    their places in it)."""

    tasks: list[tuple[str, list[Reason | str]]]
    order: list[str]
    key_names: dict[str, str]  # what the spec calls a stage's keys (pipeline/graph.key_names)


def lock_problems(graph: Dag, params: ParamsReader, entries: dict[str, LockEntry],
                  env_before: Callable[[str], Env | None] = lambda task: None) -> Problems:
    """Where gitpipe.lock disagrees with gitpipe.yaml and params, task by task
    in the spec's order: a stage without an entry, or whose cmd, params, env,
    wdir, executor settings or declared deps/outs differ (a frozen stage is
    not asked); `env_before` gives the env an entry recorded, where it is known
    (usecases/envbefore.py). Nothing is hashed or run."""
    from gitpipe.hashing.canonical import same
    from gitpipe.pipeline import graph as graph_module
    from gitpipe.project.staleness import Kind, Reason, env_change, recipe_changed

    problems = Problems([], [], graph_module.key_names(graph))
    for node in graph:
        task = graph.nodes[node]["task"]
        problems.order.append(task.name)
        if task.stage.frozen:
            # Never judged, as `status` judges it: no repro brings its entry
            # in line, so a refusal would name no way out.
            continue
        entry = entries.get(task.name)
        if entry is None:
            problems.tasks.append((task.name, ["not in gitpipe.lock"]))
            continue
        found: list[Reason | str] = []
        if entry.cmd != task.cmd:
            found.append(Reason(Kind.CMD))
        now = params.values(task.stage)
        if not _holds_as_v1(task, entry, now):
            found += [env_change(env_before(task.name), task.env)
                      if reason.kind is Kind.ENV else reason
                      for reason in recipe_changed(task, entry)]
        if not same(entry.params, now):  # NaN equals NaN there
            found += _params_problems(entry.params, now)
        if {d.path for d in entry.deps} != set(task.deps) or _python_roots_changed(task, entry):
            found.append("deps changed")
        if {o.path for o in entry.outs} != {o.path for o in task.outs}:
            found.append("outs changed")
        if found:
            problems.tasks.append((task.name, found))
    return problems


def _holds_as_v1(task: Task, entry: LockEntry, values: dict[str, Any]) -> bool:
    """A version-1 entry that matches the task by the lock's own dep digests: it
    records no env, wdir or executor settings, and status holds it up to date
    without them (staleness.holds_as_v1)."""
    from gitpipe.project.staleness import holds_as_v1
    from gitpipe.storage.workspace import PathInfo

    deps = {d.path: PathInfo(d.path, d.digest, executable=d.executable) for d in entry.deps}
    return holds_as_v1(task, entry, deps, values)


def _python_roots_changed(task: Task, entry: LockEntry) -> bool:
    """A module file a `python:` dep names that the lock's modules lack, or (where
    every root is a file) a module the lock recorded as a root that is one no
    longer. A dotted root (`pkg.mod`) names its file through a lookup, which
    this check, reading no work-tree file, does not make."""
    files = {root for root in task.stage.python if root.endswith(".py")}
    if files - {module.path for module in entry.python}:
        return True
    if len(files) < len(task.stage.python):
        return False
    return bool({module.path for module in entry.python if module.imported_by is None} - files)


def _params_problems(before: dict[str, Any], after: dict[str, Any]) -> list[Reason | str]:
    """`params: train.lr 0.1 -> 0.5`, one per changed param, as status words it."""
    from gitpipe.pipeline.params import changes_between
    from gitpipe.project.staleness import Kind, Reason

    found: list[Reason | str] = [Reason(Kind.PARAM, name, old, new)
                                 for name, old, new in changes_between(before, after)]
    return found or ["params changed"]


def verdict(problems: Problems) -> tuple[int, str]:
    """The refusal, each task's problems worded and grouped as `status` words
    and groups its reasons (a stage's items or partitions alike are one entry)."""
    from gitpipe.core.ranges import entries, entry_lines, positions_of

    if not problems.tasks:
        return 0, ""
    grouped = entries(problems.tasks, positions_of(problems.order),
                      key_names=problems.key_names)
    lines = "\n".join(entry_lines(grouped, indent="  "))
    return 1, (f"gitpipe: gitpipe.lock does not match gitpipe.yaml and params:\n{lines}\n"
               "hint: run 'gitpipe repro' (or 'gitpipe commit' for outs made by hand), "
               "then stage gitpipe.lock")
