"""Is a Task stale against its LockEntry, and why: one small predicate per trigger.

Reasons carry a kind, a subject and old/new values, and render as the
sentences users see ("params: train.lr 0.1 -> 0.5").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from gitpipe.hashing.canonical import is_plain, untyped
from gitpipe.hashing.digests import DIR_SUFFIX, GIT, XXH3
from gitpipe.hashing.fingerprint import fingerprint, legacy_fingerprint, part_digest
from gitpipe.pipeline.items import ItemSpec
from gitpipe.pipeline.lockfile import LockedModule, LockedPath, LockEntry
from gitpipe.pipeline.model import Out, Task
from gitpipe.pipeline.params import ParamsReader, changes_between
from gitpipe.project.reasons import NEVER_RUN, RECORD_ONLY, Kind, Reason
from gitpipe.storage.workspace import PathHasher, PathInfo

if TYPE_CHECKING:
    from gitpipe.project.pydeps import ModuleSeen


class Observation(NamedTuple):
    """What a Task sees now: dep, out and `python:` module hashes, params, fingerprint."""

    deps: dict[str, PathInfo]
    params: dict[str, Any]
    outs: dict[str, PathInfo]
    fingerprint: str
    modules: dict[str, ModuleSeen] = {}  # noqa: RUF012 - read, never changed in place
    unresolved: tuple[str, ...] = ()


class Staleness(NamedTuple):
    """The verdict for one Task: stale when it has any reason. `note` says
    what is not a reason: a frozen task, which is not judged (`frozen_note`)."""

    task: str
    reasons: tuple[Reason, ...] = ()
    observation: Observation | None = None
    note: Reason | None = None

    @property
    def stale(self) -> bool:
        """The lock does not record this task as it is now."""
        return bool(self.reasons)

    @property
    def needs_run(self) -> bool:
        """Stale for a reason that a re-recording of the lock entry cannot settle."""
        return bool(self.reasons) and any(reason.kind not in RECORD_ONLY
                                          for reason in self.reasons)


def out_label(out: Out) -> str:
    return out.path + "/" if out.is_dir else out.path


def observe(task: Task, workspace: PathHasher, params: ParamsReader,
            entry: LockEntry | None = None,
            algorithms: list[tuple[str, str | None]] | None = None) -> Observation:
    """Hash deps and outs (stat first) and read params: the inputs of every predicate.

    A dep is hashed with the algorithm its lock entry used, so a file that
    becomes git-tracked (or stops being) is not "modified" by that alone, and
    whether nothing is stale never depends on the git index (fastpath/seal.py relies
    on it); a dep no entry names yet takes git's blob id if git tracks it.
    `algorithms`: `dep_algorithms(task, entry)`, where the caller made it already.
    """
    if algorithms is None:
        algorithms = dep_algorithms(task, entry)
    deps = {path: workspace.info(path, algo) for path, algo in algorithms}
    outs = {out.path: workspace.info(out.path, XXH3) for out in task.outs}
    values = params.values(task.stage)
    if not task.stage.python:
        return Observation(deps, values, outs, task_fingerprint(task, deps, values))
    from gitpipe.project.pydeps import modules_of  # only where a stage has python: deps

    python = modules_of(task, workspace)
    return Observation(deps, values, outs, task_fingerprint(task, deps, values, python), *python)


def dep_algorithms(task: Task, entry: LockEntry | None) -> list[tuple[str, str | None]]:
    """(path, algorithm) of each dep of `task`, as observe hashes it: the
    algorithm of the dep's digest in `entry`, None where no entry names it."""
    # reversed: the first of two rows of one path wins, as LockEntry.dep finds it
    locked = ({dep.path: dep.digest for dep in reversed(entry.deps)} if entry is not None
              else {})
    return [(path, _algo_of(locked.get(path))) for path in task.deps]


def outs_hashed(task: Task) -> list[tuple[str, str | None]]:
    """(path, algorithm) of every out that observe hashes for `task`: with
    `dep_algorithms`, every path it hashes (its `python:` modules aside)."""
    return [(out.path, XXH3) for out in task.outs]


def _algo_of(locked_digest: str | None) -> str | None:
    """The algorithm of a dep's locked digest (None: no entry names the dep)."""
    if locked_digest is None:
        return None
    return GIT if locked_digest.startswith(f"{GIT}:") else XXH3


def task_fingerprint(task: Task, deps: dict[str, PathInfo], values: dict[str, Any],
                     python: tuple[dict[str, ModuleSeen], tuple[str, ...]] | None = None) -> str:
    identities = {p: dep_identity(i) for p, i in deps.items()}
    if python is not None and task.stage.python:
        from gitpipe.project.pydeps import module_identities

        identities.update(module_identities(*python))
    return fingerprint(
        task.cmd, task.env, identities, values,
        [o.path for o in task.outs], task.stage.wdir, task.runtime,
    )


def dep_identity(info: PathInfo) -> str | None:
    """What a dep contributes to the fingerprint: its digest, and its executable
    bit when set (a script run as `./tool` behaves otherwise without it). A
    dep that is not executable contributes its digest alone, as it always did."""
    if info.digest is None or not info.executable:
        return info.digest
    return f"{info.digest} +x"


def _legacy_match(task: Task, entry: LockEntry, seen: Observation) -> bool:
    return holds_as_v1(task, entry, seen.deps, seen.params)


def holds_as_v1(task: Task, entry: LockEntry, deps: dict[str, PathInfo],
                values: dict[str, Any]) -> bool:
    """Was `entry` written before fingerprint version 2 for the task as it is now,
    with these deps and params values? Such an entry records no env, wdir or
    executor settings of its own. (Never with python: deps, which no such
    entry had.)"""
    return not task.stage.python and entry.fingerprint == legacy_fingerprint(
        task.cmd, task.env, {p: dep_identity(i) for p, i in deps.items()},
        untyped(values), [(o.path, o.is_dir, o.cache) for o in task.outs],
        task.stage.wdir)


def _untyped_match(task: Task, entry: LockEntry, seen: Observation) -> bool:
    """Was `entry` written while params were hashed with their keys and
    timestamps as text, for the task as it is now? The predicates still
    compare the lock's typed values with the params file's."""
    return not is_plain(seen.params) and entry.fingerprint == task_fingerprint(
        task, seen.deps, untyped(seen.params), (seen.modules, seen.unresolved))


def _kind_of(out: Out) -> str:
    return "an out" if out.cache else "a metric"


# Each predicate: (task, lock entry, observation) -> reasons. -----------------------

def cmd_changed(task: Task, entry: LockEntry, seen: Observation) -> Iterable[Reason]:
    if task.cmd != entry.cmd:
        yield Reason(Kind.CMD, old=entry.cmd, new=task.cmd)


def deps_changed(task: Task, entry: LockEntry, seen: Observation) -> Iterable[Reason]:
    by_path = {dep.path: dep for dep in reversed(entry.deps)}  # as LockEntry.dep: the first
    for path, info in seen.deps.items():
        locked = by_path.get(path)
        if (locked is not None and info.digest is not None and locked.digest == info.digest
                and locked.executable == info.executable):
            continue  # as recorded: most deps at every status, with no label to make
        # A directory that is gone is still shown as one (its lock entry says so).
        was_dir = locked is not None and locked.digest.endswith(DIR_SUFFIX)
        label = path + "/" if info.is_dir or was_dir else path
        if not info.exists:
            yield Reason(Kind.DEP_MISSING, label)
        elif locked is None:
            yield Reason(Kind.DEP_ADDED, label)
        elif locked.digest != info.digest:
            yield Reason(Kind.DEP_MODIFIED, label, locked.digest, info.digest)
        elif locked.executable != info.executable:
            yield Reason(Kind.DEP_MODE, label, locked.executable, info.executable)
    for locked_dep in entry.deps:
        if locked_dep.path not in seen.deps:
            yield Reason(Kind.DEP_REMOVED, locked_dep.path)


def modules_changed(task: Task, entry: LockEntry, seen: Observation) -> Iterable[Reason]:
    """Each root that names no module; each module newly imported, changed, or
    no longer imported."""
    if not (seen.unresolved or seen.modules or entry.python):
        return ()  # no `python:` deps, now or then: most tasks, asked at every status
    return _module_changes(entry, seen)


def _module_changes(entry: LockEntry, seen: Observation) -> Iterator[Reason]:
    yield from (Reason(Kind.PYTHON_MISSING, root) for root in seen.unresolved)
    locked = {module.path: module.digest for module in entry.python}
    for path, module in seen.modules.items():
        before = locked.get(path)
        if before != module.info.digest:
            kind = Kind.PYTHON_IMPORTED if before is None else Kind.PYTHON_MODIFIED
            yield Reason(kind, path, before, module.info.digest, module.imported_by)
    yield from (Reason(Kind.PYTHON_DROPPED, path) for path in locked if path not in seen.modules)


def params_changed(task: Task, entry: LockEntry, seen: Observation) -> Iterable[Reason]:
    for name, before, after in changes_between(entry.params, seen.params):
        yield Reason(Kind.PARAM, name, before, after)


def outs_changed(task: Task, entry: LockEntry, seen: Observation) -> Iterable[Reason]:
    declared = {out.path for out in task.outs}
    for out in task.outs:
        locked = entry.out(out.path)
        info = seen.outs[out.path]
        if (locked is not None and info.digest is not None and locked.digest == info.digest
                and (info.is_dir or locked.executable == info.executable)):
            continue  # as recorded (a directory's digest holds its files' bits)
        if locked is None:
            yield Reason(Kind.OUT_DECLARED, out_label(out), new="added")
        elif not info.exists:
            yield Reason(Kind.OUT_MISSING, out_label(out))
        elif locked.digest != info.digest:
            yield Reason(Kind.OUT_MODIFIED, out_label(out), locked.digest, info.digest)
        elif not info.is_dir and locked.executable != info.executable:
            # The bytes are the lock's, the mode is not: a command run as
            # `./tool` fails without its bit (a directory's digest holds its
            # files' bits already).
            yield Reason(Kind.OUT_MODE, out_label(out), locked.executable, info.executable)
    for locked_out in entry.outs:
        if locked_out.path not in declared:
            yield Reason(Kind.OUT_DECLARED, locked_out.path, new="removed")


def out_kinds_changed(task: Task, entry: LockEntry, seen: Observation) -> Iterable[Reason]:
    """An out that became a metric, or back: gitpipe records it differently, the
    command produces the same bytes."""
    for out in task.outs:
        locked = entry.out(out.path)
        if locked is not None and locked.metric == out.cache:
            yield Reason(Kind.OUT_KIND, out_label(out), new=_kind_of(out))


def recipe_changed(task: Task, entry: LockEntry) -> Iterable[Reason]:
    """The parts of the fingerprint no other predicate looks at, each named
    (the pre-commit hook asks it too: nothing is hashed)."""
    if task.stage.wdir != entry.wdir:
        yield Reason(Kind.WDIR, old=entry.wdir, new=task.stage.wdir)
    if part_digest(task.env) != entry.env:
        yield env_change(None, task.env)
    if part_digest(task.runtime) != entry.runtime:
        yield Reason(Kind.RUNTIME)


def env_change(before: tuple[tuple[str, str], ...] | None,
               now: tuple[tuple[str, str], ...]) -> Reason:
    """`env changed`. The lock records only a digest of the env: where the env
    `before` is known (usecases/envbefore.py), the subject names the variables
    that changed; the values, before and now, never a secret's."""
    if before is None:
        return Reason(Kind.ENV, new=shown_env(now))
    old, new = dict(before), dict(now)
    changed = [name for name in sorted(old.keys() | new.keys()) if old.get(name) != new.get(name)]
    return Reason(Kind.ENV, ", ".join(changed), shown_env(before), shown_env(now))


def shown_env(env: tuple[tuple[str, str], ...]) -> dict[str, str | None]:
    """An env as a reason shows it: each variable, its value None where the
    name says it holds a secret."""
    from gitpipe.core.secretnames import secret_name  # only where an env changed

    return {name: None if secret_name(name) else value for name, value in env}


PREDICATES: tuple[Callable[[Task, LockEntry, Observation], Iterable[Reason]], ...] = (
    cmd_changed, deps_changed, modules_changed, params_changed, outs_changed,
)


def _reasons_against(task: Task, entry: LockEntry, seen: Observation) -> list[Reason]:
    if entry.fingerprint != seen.fingerprint and _legacy_match(task, entry, seen):
        return []  # a version-1 entry that still holds; it is rewritten on its next run
    reasons = [reason for predicate in PREDICATES for reason in predicate(task, entry, seen)]
    if entry.fingerprint != seen.fingerprint and not _untyped_match(task, entry, seen):
        reasons.extend(recipe_changed(task, entry))
        if not reasons:
            # The safety net: a fingerprint that differs always runs the
            # stage, even where the lock lacks the parts to name why (an entry
            # written by an older gitpipe).
            reasons.append(Reason(Kind.FINGERPRINT))
    reasons.extend(out_kinds_changed(task, entry, seen))
    return reasons


def judge(task: Task, entry: LockEntry | None, seen: Observation,
          upstream: Iterable[str] = (), force: bool = False,
          awaited: Callable[[str], bool] | None = None) -> Staleness:
    """The Staleness of `task`; `upstream` names stale tasks it depends on.
    A forced task is `forced`, never also `new`: `backfill --force` clears its
    partitions' entries before judging them. `awaited(path)` says whether a
    stale upstream task, which runs first, writes a missing dep (None: none
    does)."""
    if task.stage.frozen:
        return Staleness(task.name, (), seen, frozen_note(task, entry))
    reasons: list[Reason] = []
    if force:
        reasons.append(Reason(Kind.FORCED))
    if entry is not None:
        reasons.extend(_reasons_against(task, entry, seen))
    else:
        if not force:
            reasons.append(Reason(Kind.NEW, _node_word(task)))
        reasons.extend(Reason(Kind.DEP_MISSING, path) for path in unmade_deps(seen, awaited))
    if task.stage.always_changed:
        reasons.append(Reason(Kind.ALWAYS))
    reasons.extend(Reason(Kind.UPSTREAM, name) for name in upstream)
    if reasons and any(reason.kind not in RECORD_ONLY for reason in reasons):
        reasons = [reason._replace(old=True) if reason.kind is Kind.OUT_KIND else reason
                   for reason in reasons]
        if not task.stage.deterministic:
            reasons.append(Reason(Kind.NONDETERMINISTIC))
    return Staleness(task.name, tuple(reasons), seen)


def frozen_note(task: Task, entry: LockEntry | None) -> Reason | None:
    """What is said of a frozen task in place of "up to date": it is not
    judged, and, without a lock entry, it never ran and has no outs recorded
    (None for a task that is not frozen)."""
    if not task.stage.frozen:
        return None
    return Reason(Kind.FROZEN, new=NEVER_RUN if entry is None else None)


def unmade_deps(seen: Observation, awaited: Callable[[str], bool] | None = None) -> list[str]:
    """The deps that do not exist and that no stale upstream task will make
    (`awaited`): a repro refuses to run the task while one is missing."""
    return [path for path, info in seen.deps.items()
            if not info.exists and not (awaited is not None and awaited(path))]


def lock_entry_for(task: Task, seen: Observation, outs: dict[str, PathInfo]) -> LockEntry:
    """The LockEntry recording a successful run that saw `seen` and produced `outs`."""
    deps = tuple(LockedPath(p, i.digest, i.size if not i.digest.startswith("git:") else None,
                            executable=i.executable)
                 for p, i in seen.deps.items() if i.digest is not None)
    metrics = {out.path for out in task.outs if not out.cache}
    locked_outs = tuple(LockedPath(p, i.digest, i.size, metric=p in metrics,
                                   executable=i.executable)
                        for p, i in outs.items() if i.digest is not None)
    modules = tuple(LockedModule(p, m.info.digest, m.imported_by)
                    for p, m in seen.modules.items() if m.info.digest is not None)
    return LockEntry(task.cmd, seen.fingerprint, deps, seen.params, locked_outs,
                     task.stage.wdir, part_digest(task.env), part_digest(task.runtime), modules)


def _node_word(task: Task) -> str:
    """What a new task is called: a stage's one task is a stage ("new stage")."""
    if not task.partition:
        return ""
    return "item" if isinstance(task.stage.partition, ItemSpec) else "partition"
