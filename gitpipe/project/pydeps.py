"""The files a `python:` dep stands for: its module and every first-party module
that module imports, transitively, resolved statically from the syntax tree
(pipeline/pyimports.py reads a module's imports).

A name is looked up as Python's path finder does, in each directory of the
search path in turn: a package (`x/__init__.py`), then a module (`x.py`),
else a namespace portion (a directory without `__init__.py`, whose
submodules are looked up in every such portion). The search path is, in
order: the directory of a root given as a file (where `python src/x.py` puts
it), the stage's wdir, the project root, and `src/` where it is a directory.
A name found nowhere there (the standard library, third-party packages) is
not followed. Importing `a.b.c` imports `a/__init__.py` and `a/b/__init__.py`
too; `from a import b` follows `a/b.py` when it exists.

Module files are hashed with xxh3 (never git's blob id, which would make a
verdict depend on the git index), and a module's imports are remembered in
state.db by its digest: an unchanged module is never parsed again. Every
lookup that found nothing is noted as missing where the workspace notes what
it hashed, so the no-op seal (fastpath/seal.py) breaks when a file appears
that an import would now resolve to.
"""

from __future__ import annotations

import os
import stat as stat_module
from pathlib import Path
from typing import NamedTuple, Protocol

from gitpipe.core.errors import BadInputError
from gitpipe.hashing.digests import XXH3
from gitpipe.hashing.statsig import Signature, file_signature
from gitpipe.pipeline.model import SPEC_FILE, Task
from gitpipe.pipeline.pyimports import ImportRequest, decode, encode, scan
from gitpipe.storage.state import State
from gitpipe.storage.workspace import PathHasher, PathInfo, Workspace
from gitpipe.trust import checks

FILE, DIR, MISSING, OTHER = "file", "dir", "missing", "other"


class ModuleSeen(NamedTuple):
    """A module file of a closure: what it holds now, and the module that
    imports it (None for a `python:` root)."""

    info: PathInfo
    imported_by: str | None


class Closure(NamedTuple):
    """What one `python:` root stands for: its modules by path (breadth first,
    so each one's importer is the nearest), and whether the root names no
    module file."""

    modules: dict[str, ModuleSeen]
    missing: bool = False


class SourceTree(Protocol):
    """Where modules are looked up and read: the work tree, or a commit."""

    root: Path
    state: State

    def kind(self, path: str) -> str: ...

    def info(self, path: str) -> PathInfo: ...

    def read(self, path: str) -> bytes: ...

    def noted(self, path: str) -> Signature | str: ...  # as last hashed or looked up


class WorkTree:
    """The work tree, through the workspace's stat cache; lookups noted for the seal."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.root = workspace.root
        self.state = workspace.state

    def kind(self, path: str) -> str:
        try:
            info = os.stat(os.path.join(self.workspace.root, path))
        except (FileNotFoundError, NotADirectoryError):
            self.workspace.observed[path] = None
            return MISSING
        except OSError:  # a symlink loop, a folder this user may not read
            self.workspace.observed[path] = None  # the seal cannot stat it either: no replay
            return OTHER
        if stat_module.S_ISREG(info.st_mode):
            return FILE  # noted when it is hashed
        if stat_module.S_ISDIR(info.st_mode):
            return DIR  # its files are looked up one by one, and noted
        self.workspace.observed[path] = file_signature(info)
        return OTHER

    def info(self, path: str) -> PathInfo:
        return self.workspace.info(path, XXH3)

    def noted(self, path: str) -> Signature | str:
        return self.workspace.observed.get(path, MISSING)

    def read(self, path: str) -> bytes:
        with open(os.path.join(self.workspace.root, path), "rb") as handle:
            return handle.read(checks.MAX_MODULE_BYTES + 1)


class CommitTree:
    """A commit (`status --rev`): its files; where it has nothing, the work tree
    (whose untracked files a checkout keeps)."""

    def __init__(self, space: PathHasher, worktree: WorkTree) -> None:
        self.space = space
        self.revision = getattr(space, "revision")  # noqa: B009 - usecases/revision.py's
        self.worktree = worktree
        self.root = worktree.root
        self.state = worktree.state

    def kind(self, path: str) -> str:
        kind = self.revision.kind(path)
        if kind is None:
            return self.worktree.kind(path)
        return {"file": FILE, "dir": DIR}.get(kind, OTHER)  # a link is not followed

    def info(self, path: str) -> PathInfo:
        return self.space.info(path, XXH3)

    def noted(self, path: str) -> Signature | str:
        return MISSING  # a commit does not change

    def read(self, path: str) -> bytes:
        if self.revision.kind(path) is None:
            return self.worktree.read(path)
        data: bytes = self.revision.bounded_checkout(path, "a python: module")
        return data


class ModuleFinder:
    """Closures of `python:` roots over one SourceTree, for one command.

    What a closure is made of is remembered for the command and shared by
    every stage: each lookup's answer, each module's digest, its import
    requests (by digest) and the files they resolve to (by digest and search
    path). A module's digest is taken again once the workspace has hashed its
    file anew (a stage of the same repro wrote it), and with it everything
    found from it. A file that appears during the command is seen by the
    next one, which then finds the stage stale.
    """

    def __init__(self, tree: SourceTree) -> None:
        self.tree = tree
        self._kinds: dict[str, str] = {}
        self._infos: dict[str, tuple[PathInfo, Signature | str]] = {}
        self._requests: dict[str, tuple[ImportRequest, ...]] = {}
        self._targets: dict[tuple[str, str, tuple[str, ...]], tuple[str, ...]] = {}
        self._closures: dict[tuple[str, str], Closure] = {}

    def closure(self, root: str, wdir: str, stage: str) -> Closure:
        known = self._closures.get((root, wdir))
        if known is not None and all(self._fresh(path) for path in known.modules):
            return known
        found = _Walk(self, root, wdir, stage).run()
        self._closures[(root, wdir)] = found
        return found

    def kind(self, path: str) -> str:
        kind = self._kinds.get(path)
        if kind is None:
            kind = self._kinds[path] = self.tree.kind(path)
        return kind

    def _fresh(self, path: str) -> bool:
        known = self._infos.get(path)
        return known is not None and self.tree.noted(path) == known[1]

    def info(self, path: str) -> PathInfo | str:
        """The module file's digest, once it is known to lie inside the
        repository and to be of a size a source file has; else why not."""
        if self._fresh(path):
            return self._infos[path][0]
        refused = checks.module_file_problem(self.tree.root, path)
        if refused is not None:
            return refused
        info = self.tree.info(path)
        refused = checks.module_file_problem(self.tree.root, path, info.size)
        if refused is not None:
            return refused
        self._infos[path] = (info, self.tree.noted(path))
        return info

    def requests(self, path: str, digest: str) -> tuple[ImportRequest, ...]:
        """The module's import statements: from state.db by its digest where known."""
        known = self._requests.get(digest)
        if known is not None:
            return known
        text = self.tree.state.module_imports(digest)
        decoded = decode(text) if text is not None else None
        if decoded is not None:
            found = decoded[0]
        else:
            scanned = scan(self.tree.read(path))
            self.tree.state.record_module_imports(digest, encode(scanned.imports, scanned.error))
            found = scanned.imports
        self._requests[digest] = found
        return found

    def targets(self, walk: _Walk, path: str, digest: str) -> tuple[str, ...]:
        """Every file the module's imports run, looked up on `walk`'s search path."""
        key = (path, digest, walk.search_key)
        known = self._targets.get(key)
        if known is None:
            found = [target for request in self.requests(path, digest)
                     for target in walk.resolve(request, path)]
            known = self._targets[key] = tuple(dict.fromkeys(found))
        return known


def finder_for(hasher: PathHasher) -> ModuleFinder:
    """The ModuleFinder of a workspace (kept on it for the command) or of a commit."""
    finder = getattr(hasher, "module_finder", None)
    if isinstance(finder, ModuleFinder):
        return finder
    if isinstance(hasher, Workspace):
        made = hasher.module_finder = ModuleFinder(WorkTree(hasher))
        return made
    # A commit's view over the work tree (usecases/revision.py, a layer above):
    # found anew for each task, which `status --rev` can afford.
    fallback = getattr(hasher, "fallback", None)
    if not isinstance(fallback, Workspace):
        raise TypeError(f"python: deps cannot be followed in {type(hasher).__name__}")
    return ModuleFinder(CommitTree(hasher, WorkTree(fallback)))


def modules_of(task: Task, hasher: PathHasher) -> tuple[dict[str, ModuleSeen], tuple[str, ...]]:
    """Every module file the task's `python:` deps stand for, by path (the first
    root's importer where two reach one), and the roots that name none."""
    if not task.stage.python:
        return {}, ()
    finder = finder_for(hasher)
    modules: dict[str, ModuleSeen] = {}
    missing = []
    for root in task.stage.python:
        found = finder.closure(root, task.stage.wdir, task.stage.name)
        if found.missing:
            missing.append(root)
        for path, seen in found.modules.items():
            modules.setdefault(path, seen)
    return modules, tuple(missing)


def module_identities(modules: dict[str, ModuleSeen],
                      unresolved: tuple[str, ...]) -> dict[str, str | None]:
    """What `python:` deps add to a task's fingerprint, beside its deps: each
    module file's digest and each root that names none, under a key no dep
    path can be (a dep is never absolute), so a stage without them keeps its
    fingerprint."""
    found: dict[str, str | None] = {f"/python/{p}": m.info.digest for p, m in modules.items()}
    found.update((f"/python/{root}", None) for root in unresolved)
    return found


class _Walk:
    """One root's closure, breadth first (no recursion: import chains from git
    may be as deep as they like; cycles meet the `found` set)."""

    def __init__(self, finder: ModuleFinder, root: str, wdir: str, stage: str) -> None:
        self.finder = finder
        self.root = root
        self.stage = stage
        self.found: dict[str, ModuleSeen] = {}
        self.queue: list[str] = []
        self.search = self._search_path(root, wdir)
        self.search_key = tuple(self.search)

    def _search_path(self, root: str, wdir: str) -> list[str]:
        first = [os.path.dirname(root)] if root.endswith(".py") else []
        places = [*first, "" if wdir == "." else wdir, ""]
        if self.finder.kind("src") == DIR:
            places.append("src")
        return list(dict.fromkeys(places))

    def run(self) -> Closure:
        if self.root.endswith(".py"):
            start = [self.root] if self.finder.kind(self.root) == FILE else []
            is_module = bool(start)
        else:
            start, _, is_module = self._walk(self.search, self.root.split("."))
        for path in start:
            self._add(path, None)
        index = 0
        while index < len(self.queue):
            importer = self.queue[index]
            index += 1
            digest = self.found[importer].info.digest
            if digest is not None:
                for path in self.finder.targets(self, importer, digest):
                    self._add(path, importer)
        return Closure(self.found, not is_module)

    def _add(self, path: str, importer: str | None) -> None:
        if path in self.found:
            return
        if len(self.found) >= checks.MAX_MODULES:
            raise BadInputError(
                f"{SPEC_FILE}: stage {self.stage!r}: python: {checks.printable(self.root)} "
                f"imports more than {checks.MAX_MODULES:,} modules of the project; nothing was run",
                hint="name the modules it needs as plain deps instead")
        info = self.finder.info(path)
        if isinstance(info, str):
            by = f" (imported by {checks.printable(importer)})" if importer else ""
            raise BadInputError(f"{SPEC_FILE}: stage {self.stage!r}: python: "
                                f"{checks.printable(path)}{by} {info}; nothing was run",
                                hint="a module followed by python: must be a file of the "
                                "repository; add what it needs as a plain dep")
        self.found[path] = ModuleSeen(info, importer)
        self.queue.append(path)

    def resolve(self, request: ImportRequest, importer: str) -> list[str]:
        """The files an import statement runs: each package's `__init__.py` on the
        way, the module, and each name of a from-import that is a submodule."""
        parts = request.module.split(".") if request.module else []
        files: list[str] = []
        if request.level:
            base = _up(os.path.dirname(importer), request.level - 1)
            if base is None:
                return []  # above the repository: nothing of the project
            init = _join(base, "__init__.py")
            if base and self.finder.kind(init) == FILE:
                files.append(init)
            walked, portions, _ = self._walk([base], parts)
        else:
            walked, portions, _ = self._walk(self.search, parts)
        files.extend(walked)
        for name in request.names if portions else ():
            files.extend(self._step(portions, name)[0])
        return files

    def _walk(self, portions: list[str], parts: list[str]) -> tuple[list[str], list[str], bool]:
        """Look up `parts` one after another from `portions`: the files found,
        where submodules of the last part would be (empty: nowhere), and
        whether the last part is a module file (a package's or a module's)."""
        files: list[str] = []
        last_found = False
        for part in parts:
            if not portions:
                return files, [], False
            found, portions = self._step(portions, part)
            files.extend(found)
            last_found = bool(found)
        return files, portions, last_found

    def _step(self, portions: list[str], part: str) -> tuple[list[str], list[str]]:
        """One part, as the path finder looks it up in each portion in turn:
        the file found, and where its submodules are."""
        kind = self.finder.kind
        namespace = []
        for folder in portions:
            candidate = _join(folder, part)
            if kind(candidate) == DIR:
                init = _join(candidate, "__init__.py")
                if kind(init) == FILE:
                    return [init], [candidate]
                namespace.append(candidate)
            module = candidate + ".py"
            if kind(module) == FILE:
                return [module], []
        return [], namespace


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _up(folder: str, levels: int) -> str | None:
    for _ in range(levels):
        if not folder:
            return None
        folder = os.path.dirname(folder)
    return folder


def dynamic_imports(task: Task, hasher: PathHasher) -> list[str]:
    """For `gitpipe validate`: imports of the task's modules that cannot be followed and
    modules that do not parse, by file and line, shown plainly (their text is git's)."""
    notes = []
    modules, missing = modules_of(task, hasher)
    read = finder_for(hasher).tree.read
    for root in missing:
        notes.append(f"stage {task.name!r}: python: {root} names no module file of the "
                     "project (it is looked for in the stage's wdir, the root and src/)")
    for path in modules:
        found = scan(read(path))
        if found.error is not None:
            notes.append(f"{path}: {found.error}; it is a dep by its bytes, its imports "
                         "are not followed")
        for line, text in found.dynamic:
            notes.append(f"{path}:{line}: {text} cannot be followed by python: (stage "
                         f"{task.name!r}); add what it imports as a plain dep")
    return [checks.terminal_text(note) for note in notes]
