"""A stale task that `repro` refuses to run: a dep that does not exist when
its turn comes (nothing that runs before it makes it), or a `python:` root
that names no module of the project. The runner refuses it with
`missing_message`; a dry run says the same of it beforehand (`as_repro_will`),
and what depends on it would not run."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from pathlib import Path

from gitpipe.core.digraph import Dag
from gitpipe.core.errors import did_you_mean
from gitpipe.core.outcome import Outcome
from gitpipe.engine.reports import Said, TaskResult
from gitpipe.pipeline.graph import OutIndex
from gitpipe.pipeline.model import Task
from gitpipe.pipeline.parse import spec_places
from gitpipe.project.root import Project
from gitpipe.project.staleness import Staleness, unmade_deps
from gitpipe.project.status import StaleWriters
from gitpipe.trust.checks import printable

NEAR_MISSES_AMONG = 1000  # files beside a missing dep, at most, to look for a near miss in


def missing_message(root: Path, task: Task, missing: Sequence[str],
                    unresolved: tuple[str, ...], place: Callable[[str], str],
                    frozen: str | None = None) -> Said:
    """Why a stale stage cannot run, after where it is declared (`place`, as
    `spec_places` says it): a dep that does not exist (and a near miss beside
    it, for a typo; or the `frozen` stage upstream whose out it is, which
    never runs), or a `python:` root that names no module file of the
    project (a standard-library or installed module is no `python:` dep: it
    is not followed)."""
    where = place(task.stage.name)
    if missing:
        near = near_miss(root, missing[0], own={out.path for out in task.outs})
        hint = "fix the path in gitpipe.yaml, create the file, or add the stage that writes it"
        if frozen is not None:
            hint = (f"{missing[0]!r} is an out of stage {frozen!r}, which is frozen (frozen: "
                    "true) and never runs: remove 'frozen: true' to let it run, or bring back "
                    "the out its lock records ('gitpipe checkout', 'gitpipe pull')")
        return Said(f"{where}: stage {task.name!r}: dependency {missing[0]!r} does not exist"
                    f"{f' ({near})' if near else ''}", hint)
    return Said(f"{where}: stage {task.name!r}: python: {printable(unresolved[0])} names no "
                "module file of the project (looked for beside it, in the stage's wdir, the "
                "root and src/)",
                "a python: dep follows the project's own modules; an installed or "
                "standard-library module is not one, so drop it or name the project's file")


def frozen_maker(graph: Dag, node: Hashable, missing: Sequence[str]) -> str | None:
    """The stage upstream of `node` that is frozen and whose out the first
    missing dep is (or is inside): a stage that never runs to make it."""
    frozen = [graph.nodes[up]["task"] for up in graph.predecessors(node)
              if graph.nodes[up]["task"].stage.frozen]
    makers = OutIndex(frozen).producers(missing[0]) if frozen and missing else []
    return makers[0].stage.name if makers else None


def near_miss(root: Path, dep: str, outs: Iterable[str] = (),
              own: Collection[str] = ()) -> str | None:
    """`did you mean '…'?` for a missing dep: a close name among the files
    beside it (unless a data folder's many) and the `outs` named; never one of
    `own`, the outs of the dep's own stage, which it cannot depend on."""
    parent = (root / dep).parent
    try:
        with os.scandir(parent) as entries:
            found = list(entries)
    except OSError:
        found = []
    if len(found) > NEAR_MISSES_AMONG:  # a data folder: a typo's neighbours are not there
        found = []
    a_file = bool(Path(dep).suffix)  # `prep.py` is a file: the folder `prep` is no near miss
    beside = [str((parent / entry.name).relative_to(root)) for entry in found
              if not (a_file and entry.is_dir(follow_symlinks=False))]
    return did_you_mean(dep, [name for name in [*beside, *outs] if name not in own])


def as_repro_will(project: Project, nodes: Iterable[Hashable], verdicts: Iterable[Staleness],
                  results: Iterable[TaskResult]) -> list[TaskResult]:
    """A dry run's `results` (one per node, in plan order, as judged in
    `verdicts`), with each task that would run but that `repro` will refuse
    FAILED with the runner's message, and each task after it BLOCKED. A
    missing dep is awaited only from a task that would run before it: an up
    to date one leaves its outs as they are."""
    graph = project.graph
    would: set[str] = set()
    place = spec_places(project.root, project.pipeline.source)
    blockers: dict[str, frozenset[str]] = {}
    said = []
    writers = StaleWriters(graph)
    for node, verdict, result in zip(nodes, verdicts, results, strict=True):
        ups = [str(up) for up in graph.predecessors(node)]
        if result.outcome is not Outcome.RAN:
            said.append(result)
            continue
        failed = frozenset().union(*(blockers.get(up, ()) for up in ups))
        if failed:
            blockers[result.task] = failed
            said.append(result._replace(outcome=Outcome.BLOCKED,
                                        reasons=(_blocked_why(failed),), details=()))
            continue
        seen = verdict.observation
        missing = unmade_deps(seen, writers.among([up for up in ups if up in would])) \
            if seen is not None else []
        if missing or (seen is not None and seen.unresolved):
            assert seen is not None
            task = graph.nodes[node]["task"]
            blockers[result.task] = frozenset((result.task,))
            refused = missing_message(project.root, task, missing, seen.unresolved, place,
                                      frozen_maker(graph, node, missing))
            said.append(result._replace(outcome=Outcome.FAILED, message=refused.message,
                                        hint=refused.hint))
            continue
        would.add(result.task)
        said.append(result)
    return said


def _blocked_why(failed: frozenset[str]) -> str:
    names = sorted(failed)
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return f"upstream {', '.join(repr(name) for name in names[:3])}{more} would fail"
