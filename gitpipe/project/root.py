"""Project: where the repository, its spec, lock, state and config are.

Everything is loaded lazily, so a command only pays for what it reads.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitpipe.core.digraph import Dag
from gitpipe.core.errors import BadInputError, NotAProjectError, SpecError
from gitpipe.git.repo import GitRepo
from gitpipe.hashing.statsig import ReadLog
from gitpipe.pipeline import graph as graph_module
from gitpipe.pipeline import lockfile
from gitpipe.pipeline.config import Config, load_config, remote_settings
from gitpipe.pipeline.lockfile import LockEntry
from gitpipe.pipeline.model import DEFAULT_EXECUTOR, SPEC_FILE, Pipeline, Stage, Task, tasks_of
from gitpipe.pipeline.params import ParamsReader
from gitpipe.pipeline.parse import FIRST_STAGE_HINT, load_pipeline
from gitpipe.project.gitignore import ignore_outs_if_parsed
from gitpipe.project.linkedpaths import PathPlaces
from gitpipe.project.workdirs import WDIR_HINT, wdir_problems
from gitpipe.storage.state import State
from gitpipe.storage.workspace import Workspace
from gitpipe.trust import dotdir, ignorerules
from gitpipe.trust.dotdir import IGNORE_FILE
from gitpipe.trust.ignorerules import write_missing_rules

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

    from gitpipe.hashing.coldscan import HashProgress
    from gitpipe.storage.cache import Cache
    from gitpipe.storage.remote import Remote
    from gitpipe.trust.signedruns import Sharing

GITPIPE_DIR = dotdir.GITPIPE_DIR


def _today() -> dt.date:
    """The date partitions are expanded for; GITPIPE_TODAY pins it (tests, replays)."""
    pinned = os.environ.get("GITPIPE_TODAY")
    if pinned:
        try:
            return dt.date.fromisoformat(pinned)
        except ValueError:
            raise BadInputError(f"GITPIPE_TODAY={pinned!r} is not a date (YYYY-MM-DD)") from None
    return dt.date.today()


def find_root(start: Path) -> Path:
    """The nearest directory at or above `start` holding gitpipe.yaml (or .gitpipe/)."""
    start = start.resolve()
    if not start.is_dir():
        raise NotAProjectError(f"{str(start)!r} is not a directory" if start.exists()
                               else f"directory {str(start)!r} does not exist")
    for candidate in (start, *start.parents):
        if (candidate / SPEC_FILE).is_file() or (candidate / GITPIPE_DIR).is_dir():
            return candidate
        if (candidate / ".git").exists():
            raise NotAProjectError(f"no {SPEC_FILE} in {str(start)!r} or its parents",
                                   hint=FIRST_STAGE_HINT)
    raise NotAProjectError(f"no {SPEC_FILE} in {str(start)!r} or its parents, and it is "
                           "not inside a git repository",
                           hint="a gitpipe project is a git repository: run 'git init', then "
                           f"'gitpipe init', and write {SPEC_FILE} by hand "
                           "(docs/getting-started.md)")


class Project:
    """A gitpipe project: a directory with gitpipe.yaml inside a git work tree."""

    def __init__(self, path: str | os.PathLike[str] = ".", *, find: bool = True,
                 today: dt.date | None = None) -> None:
        start = Path(path)
        self.root = find_root(start) if find else start.resolve()
        self.today = today or _today()
        # Where every stage runs instead of its `executor:` (`repro --executor`);
        # None: each where it says. See run_on.
        self.executor: str | None = None
        # Told of each large directory hashed for the first time (a progress bar).
        self.hash_progress: HashProgress | None = None
        dotdir.check(str(self.root))
        ignorerules.check(str(self.root))

    @property
    def gitpipe_dir(self) -> Path:
        """The project's `.gitpipe/`: config, state, cache and the project lock."""
        return self.root / GITPIPE_DIR

    @cached_property
    def parse_cache(self) -> Path | None:
        """Where parsed YAML is remembered by content: this user's folder for the
        repository, never inside it (a parse cache that came with a commit would
        decide what runs); none before `gitpipe init`, or where no folder of
        this user's can be had."""
        if not self.gitpipe_dir.is_dir():
            return None
        folder = dotdir.user_cache_dir(str(self.root), create=True)
        return Path(folder) / "parsed" if folder else None

    @cached_property
    def reads(self) -> ReadLog:
        """Every project path this project's judgement read (see statsig.ReadLog)."""
        return ReadLog()

    @cached_property
    def git(self) -> GitRepo:
        """The git repository whose work tree holds the project."""
        return GitRepo.discover(self.root)

    @cached_property
    def config(self) -> Config:
        """`.gitpipe/config.yaml` with `config.local.yaml` over it."""
        return load_config(self.gitpipe_dir, self.reads, self.parse_cache)

    @cached_property
    def pipeline(self) -> Pipeline:
        """gitpipe.yaml parsed and checked: its stages, as written. The config
        is read (and checked) first, so that every command reading the
        pipeline refuses a bad config as `validate` does."""
        _ = self.config
        return load_pipeline(self.root, cache_dir=self.parse_cache, reads=self.reads)

    @cached_property
    def tasks(self) -> list[Task]:
        """Every stage's tasks (partitions expanded for `today`), in the
        pipeline's order: made once for a status's early walks and the graph.
        SpecError where a stage's tasks cannot be made."""
        return [task for stage in self.pipeline.stages for task in tasks_of(stage, self.today)]

    @cached_property
    def graph(self) -> Dag:
        """The pipeline's tasks (partitions expanded for `today`) and the edges
        between them; SpecError, naming lines, when it cannot be built."""
        pipeline = self.pipeline  # a SpecError of its own names lines already
        try:
            return graph_module.build(pipeline, self.today, self.runtime_of, self.tasks)
        except SpecError:  # the fast parse has no line numbers: build from one with them
            graph_module.build(load_pipeline(self.root, with_lines=True), self.today)
            raise

    def run_on(self, executor: str | None) -> None:
        """Judge and run every stage on `executor` instead of where its
        `executor:` says (None: where it says). A fingerprint holds the inputs of
        the executor that runs the stage, so the graph is built again."""
        if executor != self.executor:
            self.executor = executor
            self.__dict__.pop("graph", None)

    def runtime_of(self, stage: Stage) -> tuple[tuple[str, str], ...]:
        """What the executor that runs the stage adds to its command, from the
        config: part of its fingerprint (the config is read only when that
        executor adds something; the local one adds nothing)."""
        if (self.executor or stage.executor) == DEFAULT_EXECUTOR:
            return ()  # as the registry answers, without importing it on a no-op status
        from gitpipe.pipeline import registry

        return registry.runtime_inputs(stage, lambda: self.config.raw, self.executor)

    @cached_property
    def lock_entries(self) -> dict[str, LockEntry]:
        """gitpipe.lock: each task's last recorded run (deps, params, outs), by task."""
        return lockfile.read(self.root, self.parse_cache, self.reads)

    @cached_property
    def state(self) -> State:
        """`.gitpipe/state.db`: the stat cache and the history of runs."""
        return State(self.gitpipe_dir / "state.db",
                     lambda: os.path.lexists(self.gitpipe_dir / IGNORE_FILE))

    @cached_property
    def workspace(self) -> Workspace:
        """The work tree as gitpipe hashes it, through the stat cache."""
        made = Workspace(self.root, self.state, lambda: self.git, self.reads)
        made.progress = self.hash_progress
        return made

    @cached_property
    def cache(self) -> Cache:
        """The local cache, `.gitpipe/cache`, checked out as config's cache.type says."""
        from gitpipe.storage.cache import Cache  # not on the status path: shutil, tempfile

        settings = self.config.raw.get("cache") or {}
        ensure_initialised(self.root)  # the cache is written into: never without ignore rules
        return Cache(self.gitpipe_dir / "cache", str(settings.get("type", "reflink")))

    def remote(self, name: str | None = None) -> Remote:
        """The remote `name` (default: the config's default remote), opened. A
        local folder inside the repository is refused unless config.local.yaml
        names it."""
        from gitpipe.storage.remote import Remote
        from gitpipe.storage.urls import check_outside, resolve_url

        settings = remote_settings(self.config, name)
        remote = Remote(settings.name, resolve_url(settings.url, self.root), settings.options)
        # The folder as opened: options (`dir://` with `path:`) may lead elsewhere than the URL.
        if remote.is_local and settings.name not in self.config.local_remotes:
            check_outside(settings, remote.base, self.repository_places())
        return remote

    def repository_places(self) -> list[Path]:
        """The work tree and git's own directories (a linked worktree's, and the
        common one all worktrees share), resolved."""
        from gitpipe.core.errors import GitpipeError

        places = [self.root]
        try:
            git = self.git
        except GitpipeError:
            return places
        gitdir = Path(git.repo.path).resolve()
        places += [git.workdir, gitdir]
        common = gitdir / "commondir"
        if common.is_file():
            places.append((gitdir / common.read_text().strip()).resolve())
        return places

    def run_sharing(self, name: str | None = None, read_scopes: tuple[str, ...] = (),
                    write_scope: str | None = None) -> Sharing:
        """How run-cache entries travel through the remote `name`: its trust
        lists, the scopes read besides main, the scope written, the pusher's keys."""
        from gitpipe.pipeline.config import run_sharing

        return run_sharing(remote_settings(self.config, name), read_scopes, write_scope)

    def remote_settings(self, name: str | None = None) -> dict[str, Any]:
        """The storage options of a remote (what a pod needs besides the URL)."""
        return dict(remote_settings(self.config, name).options)

    def has_remote(self) -> bool:
        """Whether the config names any remote."""
        return bool(self.config.raw.get("remotes"))

    def cache_lacks(self, outs: Iterable[tuple[str, str]]) -> bool:
        """Whether the local cache lacks an object of any of `outs` (task, out
        path; a directory's ends in "/") as gitpipe.lock records it, so that
        `checkout` could not put it back. A metric is git's to restore."""
        from gitpipe.storage.objects import ObjectStore  # read only: status writes nothing

        store, entries = ObjectStore(self.gitpipe_dir / "cache"), self.lock_entries
        for task, path in outs:
            entry = entries.get(task)
            out = None if entry is None else entry.out(path.removesuffix("/"))
            if out is not None and not out.metric and store.missing(out.digest):
                return True
        return False

    def params_reader(self) -> ParamsReader:
        """A reader of the work tree's params files, each parsed once."""
        return ParamsReader.from_workspace(self.root, self.parse_cache, self.reads)

    def check_paths_inside(self, paths: dict[str, list[str]] | None = None,
                           planned: Collection[Task] | None = None,
                           outs: dict[str, list[str]] | None = None) -> None:
        """Refuse deps and outs that resolve, through symlinks, outside the project,
        outs that resolve to gitpipe's own files, and (without `paths` or
        `outs`) unusable wdirs (project/workdirs.py).

        `paths` ({task: [paths]}) and `outs` ({task: [its outs]}) narrow the
        check to one task just before it runs, so a symlink swapped in after
        validation is caught too. `planned`: the tasks a repro would run (its
        targets and what they need): only their stages' wdirs are its concern,
        as `status TARGET` names only theirs; None (validate, a whole repro):
        every stage's.
        """
        places = PathPlaces(self.real_root)
        narrowed = paths is not None or outs is not None
        wdirs = [] if narrowed else self._wdir_problems(planned)
        if not narrowed:
            # Each node's paths as rendered: a foreach stage's `${item}/config`
            # as written is a folder that does not exist, its node's
            # `sub/config` may pass a committed `sub -> .git`.
            paths = {task.name: list(task.deps) for task in self.tasks}
            outs = {task.name: [out.path for out in task.outs] for task in self.tasks}
        problems = [*places.problems(paths or {}), *places.problems(outs or {}, written=True)]
        if problems or wdirs:
            raise BadInputError("\n".join(problems + wdirs),
                                hint=WDIR_HINT if wdirs else None)

    def _wdir_problems(self, planned: Collection[Task] | None) -> list[str]:
        """The unusable wdirs of the `planned` tasks' stages (every stage's
        without), a wdir their own outs make left for its stage's turn."""
        if planned is None:
            return wdir_problems(self.root, self.pipeline.stages,
                                 (out.path for task in self.tasks for out in task.outs))
        stages = {task.stage.name: task.stage for task in planned}
        return wdir_problems(self.root, stages.values(),
                             (out.path for task in planned for out in task.outs))

    @cached_property
    def real_root(self) -> str:
        """The root, symlinks resolved once: a task's paths are checked again
        before it runs, and only what lies below the root can be swapped."""
        return os.path.realpath(self.root)

    def refuse_tracked_outs(self, tasks: list[Task]) -> None:
        """Refuse cached outs that git tracks (gitpipe deletes and rewrites them),
        before anything runs; asks git only when one could be tracked."""
        from gitpipe.trust.checks import refuse_tracked

        cached_outs = [(t.name, o.path) for t in tasks for o in t.outs if o.cache]
        if dotdir.may_track(str(self.root), [path for _, path in cached_outs]):
            refuse_tracked(cached_outs, self.git.tracked_paths())

    def close(self) -> None:
        """Close the state database and the repository, where they were opened."""
        if "state" in self.__dict__:
            self.state.close()
        if "git" in self.__dict__:
            self.git.close()


def init_project(path: Path) -> tuple[Project, BadInputError | None, bool]:
    """Create `.gitpipe/` (config, ignore rules) in a git work tree; idempotent.
    The project, why its outs are not ignored yet (gitpipe.yaml does not
    parse), and whether a config was there already (kept as it is)."""
    from gitpipe.pipeline.config import CONFIG_FILE, default_config_text

    root = path.resolve()
    GitRepo.discover(root)
    dotdir.check(str(root))  # not ignorerules.check: its rules are written again below
    _refuse_nested(root)
    gitpipe_dir = root / GITPIPE_DIR
    gitpipe_dir.mkdir(exist_ok=True)
    kept = (gitpipe_dir / CONFIG_FILE).exists()
    if not kept:
        lockfile.atomic_write(gitpipe_dir / CONFIG_FILE, default_config_text())
    lockfile.atomic_write(gitpipe_dir / IGNORE_FILE, ignorerules.rules_for_init(gitpipe_dir))
    project = Project(root, find=False)
    spec = (root / SPEC_FILE).exists()
    unparsed = ignore_outs_if_parsed(root, lambda: project.pipeline) if spec else None
    return project, unparsed, kept


def _refuse_nested(root: Path) -> None:
    """`gitpipe init` in a folder of a project: a `.gitpipe/` there would make
    every command run from it look for a gitpipe.yaml it does not have. A
    folder with its own gitpipe.yaml is a project of its own, and may be; so is
    the top of a repository (a submodule, a clone inside a project's folder),
    where find_root stops."""
    if (root / SPEC_FILE).exists() or (root / GITPIPE_DIR).is_dir() or \
            (root / ".git").exists():
        return
    for parent in root.parents:
        if (parent / SPEC_FILE).is_file() or (parent / GITPIPE_DIR).is_dir():
            raise BadInputError(f"{str(root)!r} is inside the gitpipe project at {str(parent)!r}",
                                hint=f"run 'gitpipe init' in {str(parent)!r}; or, for a "
                                f"project of its own here, write {SPEC_FILE} here first")
        if (parent / ".git").exists():
            return


def ensure_initialised(root: Path) -> None:
    """Before gitpipe first writes its own state into `.gitpipe/` (the
    ProjectLock, the cache): a project `gitpipe init` never ran in is
    initialised fully, and a missing `.gitpipe/.gitignore` is written again, so
    that nothing gitpipe keeps there can be committed by `git add -A`."""
    gitpipe_dir = root / GITPIPE_DIR
    if not gitpipe_dir.is_dir():
        init_project(root)
    else:
        write_missing_rules(gitpipe_dir)
