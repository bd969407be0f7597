"""The DAG of Tasks: edges from outs to deps, validation, and the pure plan.

An edge A → B exists when a dep of B is an out of A, lies inside a directory
out of A, or is a directory containing an out of A.
"""

from __future__ import annotations

import bisect
import datetime as dt
import fnmatch
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from gitpipe.core.digraph import Dag, ancestors, descendants, find_cycle, topological_order
from gitpipe.core.errors import BadInputError, SpecError, did_you_mean
from gitpipe.pipeline.model import SPEC_FILE, Pipeline, Stage, Task, tasks_of


def _parents(path: str) -> Iterable[str]:
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        yield path


class OutIndex:
    """Finds which Task writes a path, by exact match, ancestor or descendant."""

    def __init__(self, tasks: Iterable[Task]) -> None:
        self.owner: dict[str, Task] = {}
        self.problems: list[str] = []
        for task in tasks:
            for out in task.outs:
                other = self.owner.get(out.path)
                if other is task:
                    self.problem(task, f"stage {task.name!r}: out {out.path!r} is declared twice")
                elif other is not None:
                    self.problem(task, f"out {out.path!r} is written by both stage "
                                 f"{other.name!r} and stage {task.name!r}")
                self.owner[out.path] = task
        self.sorted_paths = sorted(self.owner)
        # The directories that hold an out: only a dep among them has outs below it.
        self.holding = {parent for path in self.owner for parent in _parents(path)}
        # Each dep's answer, kept: the index does not change once made, and the
        # items of a wide foreach all ask for the folder another one writes into.
        self._found: dict[str, list[Task]] = {}

    def problem(self, task: Task, message: str) -> None:
        """Record a problem at the line of the stage it concerns."""
        line = f":{task.stage.line}" if task.stage.line else ""
        self.problems.append(f"{SPEC_FILE}{line}: {message}")

    def producers(self, dep: str) -> list[Task]:
        """Tasks whose outs overlap `dep`, in path order.

        An ordered result, not a set: a set of Tasks iterates in the order of
        string hashes, which differ per process, and so would the edges, the
        plan and the order of `upstream:` reasons from one run to the next.
        The list is the index's own, the same for every ask: read, never changed.
        """
        known = self._found.get(dep)
        if known is not None:
            return known
        # Every dep of every task is asked for when the graph is built: the
        # parents are cut by index, not by a generator, and the rare result of
        # more than one task is made unique.
        owner = self.owner
        found: list[Task] = []
        if dep in owner:
            found.append(owner[dep])
        cut = dep.rfind("/")
        while cut >= 0:  # each parent, the nearest first (as _parents)
            parent = owner.get(dep[:cut])
            if parent is not None:
                found.append(parent)
            cut = dep.rfind("/", 0, cut)
        if dep in self.holding:
            # Outs below `dep` sort together right after `prefix`: walk them by
            # index (a slice would copy the rest of the list for every dep, which
            # makes building the graph quadratic in the number of outs).
            prefix = dep + "/"
            paths = self.sorted_paths
            for index in range(bisect.bisect_left(paths, prefix), len(paths)):
                path = paths[index]
                if not path.startswith(prefix):
                    break
                found.append(owner[path])
        # By identity: a Task hashes all its fields, its stage's items too, so
        # hashing each of many producers made a wide foreach's graph cubic.
        if len(found) > 1:
            found = list({id(task): task for task in found}.values())
        self._found[dep] = found
        return found

    def check_nesting(self) -> None:
        """An out inside another task's out makes ownership ambiguous."""
        for path, task in self.owner.items():
            for parent in _parents(path):
                owner = self.owner.get(parent)
                if owner is not None and owner is not task:
                    self.problem(task, f"out {path!r} of stage {task.name!r} is inside out "
                                 f"{parent!r} of stage {owner.name!r}")


def build(pipeline: Pipeline, today: dt.date | None = None,
          runtime: Callable[[Stage], tuple[tuple[str, str], ...]] | None = None,
          tasks: list[Task] | None = None) -> Dag:
    """The DAG of the pipeline's Tasks (one per partition); SpecError for overlaps, cycles.

    `runtime(stage)` gives what the executor that runs the stage adds to its command (the
    executor's runtime inputs, see gitpipe.pipeline.registry), once per stage.
    `tasks`: the stages' tasks for `today` as `tasks_of` makes them, where the
    caller has them already.
    """
    day = today or dt.date.today()
    if tasks is None:
        tasks = [task for stage in pipeline.stages for task in tasks_of(stage, day)]
    if runtime is not None:
        inputs = {stage.name: runtime(stage) for stage in pipeline.stages}
        tasks = [task._replace(runtime=inputs[task.stage.name]) if inputs[task.stage.name]
                 else task for task in tasks]
    index = OutIndex(tasks)
    index.check_nesting()
    graph = Dag()
    named = [(task.name, task) for task in tasks]  # a name is made anew at each ask
    for name, task in named:
        graph.add_node(name, task=task)
    name_of = {id(task): name for name, task in named}
    # A dep of many producers (a folder many items write into) is often read
    # by many tasks too: its producers' names are made once, its edges added
    # in one call. A dep of one producer, the common case, costs no more.
    makers: dict[str, tuple[str, ...]] = {}
    for name, task in named:
        for dep in task.deps:
            found = index.producers(dep)
            if len(found) == 1 and found[0] is not task:
                graph.add_edge(name_of[id(found[0])], name)
            elif found:
                sources = makers.get(dep)
                if sources is None:
                    sources = makers[dep] = tuple(name_of[id(p)] for p in found)
                if name in sources:
                    index.problem(task, f"stage {name!r} depends on its own out {dep!r}")
                    sources = tuple(source for source in sources if source != name)
                graph.add_edges_to(name, sources)
    if index.problems:
        raise SpecError(index.problems)
    _check_acyclic(graph)
    return graph


def _check_acyclic(graph: Dag) -> None:
    cycle = find_cycle(graph)
    if cycle is None:
        return
    names = [str(node) for node in cycle]
    raise SpecError([f"{SPEC_FILE}: the stages form a cycle: {' -> '.join(names)}"],
                    hint="a stage cannot depend, directly or not, on its own outs")


def is_pattern(target: str) -> bool:
    """Whether a target is a glob (`train@lr-*`), as repro and the lock's
    commands (checkout, pull, fetch, push) take one."""
    return any(c in target for c in "*?[")


def select(graph: Dag, targets: Iterable[str]) -> list[Hashable]:
    """Resolve target names (a stage, `stage@partition` or `stage@item`, or a glob of
    them such as `train@lr-*`) to graph nodes."""
    nodes: list[Hashable] = []
    for target in targets:
        if target in graph:
            nodes.append(target)
            continue
        if is_pattern(target):
            matches = [n for n in graph if fnmatch.fnmatchcase(str(n), target)]
        else:
            matches = [n for n in graph if str(n).split("@", 1)[0] == target]
        if not matches:
            raise _unknown(graph, target)
        nodes.extend(matches)
    return nodes


def _task_word(task: Task) -> str:
    """What one task of a stage is called: a foreach `item`, or a date `partition`."""
    from gitpipe.pipeline.items import ItemSpec

    return "item" if isinstance(task.stage.partition, ItemSpec) else "partition"


def _which_keys(key: str, keys: list[str], word: str, by_index: bool = False) -> str:
    """The hint for a key a stage lacks: the range of its date partitions (the
    nearest date by spelling is no better than any other), else the nearest
    key or the first few; `by_index`: the items are a list's mappings, named
    by their places (a name inside them names none)."""
    if not keys:
        return "it has no partitions or items"
    if word == "partition":
        return f"its partitions run from {min(keys)} to {max(keys)}"
    shown = ", ".join(keys[:8]) + (", …" if len(keys) > 8 else "")
    if by_index:
        return (f"its items: {shown} (a foreach over a list of mappings names its items by "
                "index, as DVC does)")
    return did_you_mean(key, keys) or f"its items: {shown}"


def _unknown(graph: Dag, target: str) -> BadInputError:
    stage, at, key = target.partition("@")
    stages = {str(n).split("@", 1)[0] for n in graph}
    if at and stage in stages:
        nodes = [n for n in graph if str(n).startswith(stage + "@")]
        keys = [str(n).split("@", 1)[1] for n in nodes]
        word = _task_word(graph.nodes[nodes[0]]["task"]) if nodes else "partition or item"
        by_index = word == "item" and key_names(graph).get(stage) == ""
        return BadInputError(f"stage {stage!r} has no {word} {key!r}",
                             hint=_which_keys(key, keys, word, by_index))
    if is_pattern(target):
        return BadInputError(f"no stage or node matches {target!r}",
                             hint="'gitpipe status' lists them")
    maker = _maker_of(graph, target)
    if maker is not None:
        return BadInputError(f"unknown stage {target!r}: it is an out of stage {maker!r}",
                             hint=f"name the stage instead: {maker}")
    return file_addressed(target, stages) or BadInputError(
        f"unknown stage {target!r}", hint=stage_hint(target, stages))


def file_addressed(target: str, stages: Iterable[str]) -> BadInputError | None:
    """The error for a target that names a stage by its file, as DVC's
    `dvc.yaml:train` (or `dvc.yaml`, every stage) does, or None for another:
    gitpipe has the one gitpipe.yaml, and a target is a stage's name."""
    spec, colon, named = target.rpartition(":")
    if (spec if colon else target).rsplit("/", 1)[-1] not in SPEC_NAMES:
        return None
    names = set(stages)
    hint = (f"name the stage alone: {named}" if named in names else
            stage_hint(named, names)) if colon else \
        "with no targets, the command takes every stage of gitpipe.yaml"
    return BadInputError(f"unknown stage {target!r}: targets are stage names, without "
                         "a file (gitpipe has one gitpipe.yaml)", hint=hint)


def _maker_of(graph: Dag, target: str) -> str | None:
    """The node whose out is at the path `target` (`dvc commit models/` takes
    an out where gitpipe's stage targets take its stage), or None."""
    path = target.removeprefix("./").strip("/")
    for node in graph:
        task = graph.nodes[node].get("task")
        if task is not None and any(out.path.rstrip("/") == path for out in task.outs):
            return str(node)
    return None


# The pipeline files a DVC user names in a target (`dvc.yaml:train`).
SPEC_NAMES = (SPEC_FILE, "dvc.yaml")

# As many stage names as a hint lists in full; beyond, it points at status.
HINT_STAGES = 8


def stage_hint(target: str, stages: Iterable[str]) -> str:
    """A near miss's "did you mean", else the stages there are (as a missing
    item lists the items), or where to see them when there are many."""
    names = sorted(set(stages))
    near = did_you_mean(target, names)
    if near is not None:
        return near
    if not names:
        return "gitpipe.yaml declares no stage yet"
    if len(names) <= HINT_STAGES:
        return "the stages are " + ", ".join(names)
    return f"{len(names)} stages: 'gitpipe status' lists them"


def plan(graph: Any, targets: Iterable[Hashable] | None = None,
         downstream: bool = False, upstream: bool = True) -> list[Hashable]:
    """The nodes to consider, in a topological order; pure, any hashable nodes.

    With targets: the targets and everything upstream of them (what they need;
    not with `upstream=False`), plus everything downstream when `downstream`
    is set. Without: every node.
    """
    if targets is None:
        return topological_order(graph)  # ties broken by the graph's node order, as below
    chosen: set[Hashable] = set()
    for node in targets:
        chosen.add(node)
        if upstream:
            chosen |= ancestors(graph, node)
        if downstream:
            chosen |= descendants(graph, node)
    order = {node: i for i, node in enumerate(graph.nodes)}
    return topological_order(graph.subgraph(chosen), key=order.__getitem__)


def key_names(graph: Dag) -> dict[str, str]:
    """What the spec calls the keys of the graph's foreach stages, where it is
    not `${key}` (pipeline/items.key_names): for lines their nodes share."""
    from gitpipe.pipeline.items import key_names as of_stages

    return of_stages({graph.nodes[node]["task"].stage.name: graph.nodes[node]["task"].stage
                      for node in graph}.values())
