"""The pipeline model: Stages (with their params, outs and Kubernetes settings),
the Pipeline, and Tasks (a Stage, or one partition of it, as the scheduler
runs it). Reading and validating `gitpipe.yaml` into it is pipeline/parse.py.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from gitpipe.pipeline.items import ItemSpec
from gitpipe.pipeline.partitions import PartitionSpec, substitute, variables

SPEC_FILE = "gitpipe.yaml"
LOCK_FILE = "gitpipe.lock"
# The project files gitpipe itself reads and rewrites (the root .gitignore
# holds its lines for cached outs beside the user's own): a stage's out is
# removed before its run and replaced from the cache, so none may be one.
OWN_FILES = (SPEC_FILE, LOCK_FILE, ".gitignore")
DEFAULT_PARAMS_FILE = "params.yaml"
DEFAULT_EXECUTOR = "local"  # a stage without `executor:` (pipeline/registry.py names it)


def own_file(path: str) -> str | None:
    """The file of OWN_FILES that the normal project path `path` names, in
    any case (a case-insensitive file system opens it by any), or None."""
    folded = path.lower()
    return next((name for name in OWN_FILES if folded == name), None)


def own_file_problem(path: str) -> str | None:
    """Why a stage may not write the normal project path `path` (the file it
    names and the rule), or None."""
    name = own_file(path)
    if name is None:
        return None
    return (f"{name}, which gitpipe itself writes (no stage's out may be "
            f"{', '.join(OWN_FILES[:-1])} or the root {OWN_FILES[-1]})")


class ParamRef(NamedTuple):
    """A key (dotted, or a whole section) of a params file."""

    file: str
    key: str


class Out(NamedTuple):
    """A declared output; `is_dir` when written with a trailing slash."""

    path: str
    is_dir: bool = False
    cache: bool = True


class WaitFor(NamedTuple):
    """A sensor: wait until `path` (any fsspec URL, may use ${date}) exists."""

    path: str
    timeout: float = 6 * 3600.0
    poke: float = 60.0


class KubeSpec(NamedTuple):
    """What a stage asks of Kubernetes; cluster-wide defaults live in the config."""

    image: str | None = None
    resources: tuple[tuple[str, str], ...] = ()
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[str, ...] = ()          # each a JSON object, kept hashable
    service_account: str | None = None
    env_from_secret: tuple[tuple[str, str, str], ...] = ()  # (VAR, secret, key)


class Stage(NamedTuple):
    """One stage as declared; paths are repository-relative POSIX paths."""

    name: str
    cmd: str
    deps: tuple[str, ...] = ()
    params: tuple[ParamRef, ...] = ()
    outs: tuple[Out, ...] = ()
    wdir: str = "."
    env: tuple[tuple[str, str], ...] = ()
    retries: int = 0
    timeout: float | None = None
    always_changed: bool = False
    frozen: bool = False
    persist: bool = False
    line: int | None = None
    partition: PartitionSpec | ItemSpec | None = None  # dates, or foreach/matrix items
    concurrency: int | None = None
    wait_for: WaitFor | None = None
    pool: str | None = None
    executor: str = DEFAULT_EXECUTOR
    k8s: KubeSpec | None = None
    # `python:` deps: module files (`src/train.py`) or names (`pkg.mod`), each
    # standing for what it imports (project/pydeps.py).
    python: tuple[str, ...] = ()
    # False: its outs may differ between runs on the same inputs (docs/howto/verify.md):
    # never restored from the run-cache, never an early cutoff for its dependents.
    deterministic: bool = True


class Pipeline(NamedTuple):
    """All stages of a `gitpipe.yaml`, in file order (`stage_lines`: where each
    stage's name is, for messages about a stage as a whole)."""

    stages: tuple[Stage, ...]
    source: str = SPEC_FILE
    stage_lines: dict[str, int] | None = None
    # The files `${…}` values were read from (vars, params.yaml), with a digest of
    # each ("" when missing): a remembered pipeline holds only while they do.
    inputs: tuple[tuple[str, str], ...] = ()

    def names(self) -> list[str]:
        return [stage.name for stage in self.stages]

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)


class Task(NamedTuple):
    """A node the scheduler runs: a Stage, or one partition of it, with paths resolved.

    `cmd`, `deps` and `outs` are the stage's, after partition substitution.
    """

    stage: Stage
    partition: str | None
    cmd: str
    deps: tuple[str, ...]
    outs: tuple[Out, ...]
    env: tuple[tuple[str, str], ...]
    # What the executor puts around the command (its runtime inputs, see registry.py),
    # set by graph.build from the config: part of the fingerprint.
    runtime: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return f"{self.stage.name}@{self.partition}" if self.partition else self.stage.name

    @classmethod
    def of(cls, stage: Stage) -> Task:
        return cls(stage, None, stage.cmd, stage.deps, stage.outs, stage.env)

    @property
    def wait_path(self) -> str | None:
        wait = self.stage.wait_for
        if wait is None:
            return None
        if self.partition is None:
            return wait.path
        if isinstance(self.stage.partition, ItemSpec):
            return item_text(wait.path, self.stage.partition.variables(self.partition))
        return substitute(wait.path, variables(self.partition, _freq(self.stage)))


def _freq(stage: Stage) -> str:
    return stage.partition.freq if isinstance(stage.partition, PartitionSpec) else "daily"


def item_text(text: str, context: dict[str, object], in_cmd: bool = False) -> str:
    from gitpipe.pipeline.templates import render_text

    return render_text(text, context, in_cmd) if "${" in text else text


def item_path(text: str, context: dict[str, object]) -> str:
    import posixpath

    return posixpath.normpath(item_text(text, context)) if "${" in text else text


def item_task(stage: Stage, key: str, context: dict[str, object]) -> Task:
    """The Task of one foreach/matrix item: `${item…}`, `${key}` rendered as DVC does."""
    outs = tuple(Out(item_path(o.path, context), o.is_dir, o.cache) for o in stage.outs)
    return Task(stage, key, item_text(stage.cmd, context, in_cmd=True),
                tuple(item_path(d, context) for d in stage.deps), outs,
                tuple((k, item_text(v, context)) for k, v in stage.env))


def partition_task(stage: Stage, key: str) -> Task:
    """The Task of one partition: `${…}` substituted in cmd, deps, outs and env."""
    if isinstance(stage.partition, ItemSpec):
        return item_task(stage, key, stage.partition.variables(key))
    values = variables(key, _freq(stage))
    outs = tuple(Out(substitute(o.path, values), o.is_dir, o.cache) for o in stage.outs)
    return Task(stage, key, substitute(stage.cmd, values),
                tuple(substitute(d, values) for d in stage.deps), outs,
                tuple((k, substitute(v, values)) for k, v in stage.env))


def tasks_of(stage: Stage, today: dt.date) -> list[Task]:
    """One Task per partition in the stage's declared range (or per item), or the
    stage's one Task."""
    if stage.partition is None:
        return [Task.of(stage)]
    if isinstance(stage.partition, ItemSpec):
        return [item_task(stage, key, context) for key, context in stage.partition.items()]
    return [partition_task(stage, key) for key in stage.partition.keys(today)]
