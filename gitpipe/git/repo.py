"""The repository through pygit2: the project's place in its work tree, what the
index tracks, the commit being staged, and the versions of a file gc keeps.
A commit's tree, read without a checkout, is revision.py's."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from gitpipe.core.errors import NotAProjectError
from gitpipe.git import plumbing as gitcli
from gitpipe.git.owndir import refuse_foreign_git_dir

if TYPE_CHECKING:
    import pygit2

# pygit2 is imported by the functions that use it, never at module level: its
# import (with ssl and tarfile) costs more than a whole no-op status needs once
# the stat cache knows every file (see Workspace).

_HOOK_LOCK = threading.Lock()


class GitRepo:
    """A git repository and the project's place in it (`prefix`, '' at the top)."""

    # Plain classes here and NamedTuples for the records of the status path,
    # not dataclasses: making a dataclass at import runs several exec calls,
    # and the first status after a change would pay that for each of them.
    def __init__(self, repo: pygit2.Repository, workdir: Path, prefix: str = "") -> None:
        self.repo = repo
        self.workdir = workdir
        self.prefix = prefix
        self._cli_entries: dict[str, str] | None = None

    @classmethod
    def discover(cls, start: Path) -> GitRepo:
        import pygit2

        found = pygit2.discover_repository(str(start))
        if found is None:
            raise NotAProjectError(
                f"{str(start)!r} is not inside a git repository", hint="run 'git init' first"
            )
        repo = pygit2.Repository(found)
        if repo.is_bare or repo.workdir is None:
            raise NotAProjectError(f"{found!r} is a bare git repository; gitpipe needs a work tree")
        workdir = Path(repo.workdir).resolve()
        refuse_foreign_git_dir(found, workdir)
        prefix = os.path.relpath(start.resolve(), workdir).replace(os.sep, "/")
        return cls(repo, workdir, "" if prefix == "." else prefix)

    def git_path(self, path: str) -> str:
        """A project-relative path as git names it (relative to the work tree)."""
        return f"{self.prefix}/{path}" if self.prefix else path

    def converts(self, path: str) -> bool:
        """Whether git converts the project file `path` between the work tree and
        its objects, either way: eol conversion (`text`, `eol`, core.autocrlf),
        `ident`, a filter driver, a working-tree encoding. There the index's
        blob id is not the id of the bytes a command reads (LF in the blob,
        CRLF in the work tree), and they can change without it changing."""
        from pygit2.enums import FilterMode

        if self.split_index:
            return True  # libgit2 reads attributes from the index too: cannot tell
        # Bytes, as git names the file: a name that is not UTF-8 (held
        # as surrogate escapes) cannot be encoded as a str by pygit2, which
        # passes bytes through as they are (its annotation says str only).
        git_path = os.fsencode(self.git_path(path))
        repo = self.repo
        # libgit2 loads its filters (crlf, ident) for the way into the
        # objects whenever they apply either way; asking once is half the cost.
        if repo.load_filter_list(git_path, FilterMode.TO_ODB) is not None:  # type: ignore[arg-type]
            return True
        return self.beyond_libgit2(path)

    def beyond_libgit2(self, path: str) -> bool:
        """Whether the attributes of the project file `path` name a conversion
        only git makes: libgit2 knows no filter driver but its own, nor
        working-tree encodings, and passes such a file through unchanged."""
        git_path = os.fsencode(self.git_path(path))
        return any(self.repo.get_attr(git_path, name) not in (None, False)
                   for name in ("filter", "working-tree-encoding"))

    @cached_property
    def split_index(self) -> bool:
        """Whether `.git/index` is one libgit2 cannot read (split by
        core.splitIndex); git's plumbing reads it then (git/plumbing.py)."""
        import pygit2

        try:
            _ = self.repo.index
        except pygit2.GitError as error:
            if gitcli.cannot_read_index(error):
                return True
            raise
        return False

    def _cli_index(self) -> dict[str, str]:
        """The index as git lists it, read once (see git/plumbing.py)."""
        if self._cli_entries is None:
            self._cli_entries = gitcli.index_entries(self.workdir)
        return self._cli_entries

    def close(self) -> None:
        """Nothing is held open but the repository, which Python closes."""

    def staged(self) -> StagedCommit:
        """The commit being made, as the index records it: the one GIT_INDEX_FILE
        names when git sets it (`git commit -a` and `git commit <paths>` stage
        into a temporary index and name it there for the hooks), else
        `.git/index`. A relative name is relative to the top of the work tree,
        where hooks run. Read once: the hook asks it several questions."""
        import pygit2

        named = os.environ.get("GIT_INDEX_FILE")
        if not named:
            return StagedCommit(self, None if self.split_index else self.repo.index)
        try:  # another index file than .git/index, split or not on its own
            return StagedCommit(self, _open_index(os.path.join(self.workdir, named)))
        except pygit2.GitError as error:
            if not gitcli.cannot_read_index(error):
                raise
            return StagedCommit(self, None, named)

    def is_tracked(self, path: str) -> bool:
        index = self._cli_index() if self.split_index else self.repo.index
        return self.git_path(path) in index

    def tracked_paths(self) -> list[str]:
        """Every path the index tracks under the project, project-relative, sorted."""
        names = self._cli_index() if self.split_index else (e.path for e in self.repo.index)
        if not self.prefix:
            return sorted(names)
        top = self.prefix + "/"
        return sorted(name[len(top):] for name in names if name.startswith(top))

    def staged_blob_id(self, git_path: str) -> str | None:
        """The blob id the index records at `git_path` (relative to the work
        tree), or None where it tracks no file there."""
        if self.split_index:
            return self._cli_index().get(git_path)
        try:
            return str(self.repo.index[git_path].id)
        except KeyError:
            return None

    def tracks_under(self, directory: str) -> bool:
        """Whether the index tracks any file below the project directory."""
        prefix = self.git_path(directory) + "/"
        if self.split_index:
            return any(path.startswith(prefix) for path in self._cli_index())
        return any(entry.path.startswith(prefix) for entry in self.repo.index)


def raw_blob_id(full_path: str) -> str:
    """The git blob id of a file's bytes as they are, through no filter: what
    `git hash-object --no-filters` prints; the index's id for a file git does
    not convert (see GitRepo.converts), as long as the file is what was added."""
    fd = os.open(full_path, os.O_RDONLY | os.O_CLOEXEC)  # a file object would stat it again
    try:
        size, read = os.fstat(fd).st_size, 0
        hasher = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
        while chunk := os.read(fd, 1 << 20):
            hasher.update(chunk)
            read += len(chunk)
    finally:
        os.close(fd)
    if read != size:  # written while read: the header named another length
        raise OSError(f"{full_path}: changed while it was hashed")
    return hasher.hexdigest()


def bytes_blob_id(data: bytes) -> str:
    """The git blob id of `data`, as raw_blob_id of a file holding it."""
    hasher = hashlib.sha1(f"blob {len(data)}\0".encode(), usedforsecurity=False)
    hasher.update(data)
    return hasher.hexdigest()


def _open_index(path: str) -> pygit2.Index:
    """pygit2.Index(path), without the "Exception ignored" traceback pygit2
    prints when one fails to open (its __del__ then meets an attribute its
    __init__ never set), as an index libgit2 cannot read does."""
    import gc

    import pygit2

    with _HOOK_LOCK:  # the hook is the process's: one swap at a time
        default = sys.unraisablehook

        def quiet(unraisable: sys.UnraisableHookArgs) -> None:
            if not (unraisable.object is pygit2.Index.__del__
                    and isinstance(unraisable.exc_value, AttributeError)):
                default(unraisable)

        sys.unraisablehook = quiet
        try:
            try:
                return pygit2.Index(path)
            except pygit2.GitError as error:
                failure = str(error)
            # The half-made Index is held in a reference cycle of that
            # exception's frames: collected here, under `quiet`, and the error
            # raised anew.
            gc.collect()
            raise pygit2.GitError(failure)
        finally:
            sys.unraisablehook = default


class StagedCommit:
    """The commit being made, from one read of its index; paths are project-relative.

    `index` None: an index libgit2 cannot read (a split index), which git's
    command line reads instead: `index_file` as GIT_INDEX_FILE names it, or
    None for .git/index.
    """

    def __init__(self, git: GitRepo, index: pygit2.Index | None,
                 index_file: str | None = None) -> None:
        self.git = git
        self.index = index
        self.index_file = index_file
        self._cli_entries: dict[str, tuple[str, int]] | None = None

    def paths(self) -> set[str] | None:
        """Project paths the commit changes against HEAD (None: no HEAD yet,
        everything is new)."""
        git = self.git
        if git.repo.head_is_unborn:
            return None
        if self.index is None:
            changed = gitcli.staged_paths(git.workdir, self.index_file) or set()
        else:
            diff = git.repo.head.peel().tree.diff_to_index(self.index)
            changed = {path for delta in diff.deltas
                       for path in (delta.old_file.path, delta.new_file.path)}
        strip = len(git.prefix) + 1 if git.prefix else 0
        return {path[strip:] for path in changed
                if not strip or path.startswith(git.prefix + "/")}

    def text(self, path: str) -> str | None:
        """A project file as the commit records it (None: not in it). A staged
        symlink is refused, naming it: its blob is where it leads, not the
        file's text."""
        entry = self._entry(self.git.git_path(path))
        if entry is None:
            return None
        from gitpipe.git.blobtext import blob_text, bounded_blob  # the commit hook's only

        blob_id, mode = entry
        return blob_text(bounded_blob(self.git.repo, blob_id, f"{path} (staged)"), mode,
                         f"{path} (staged)", "in the commit being made")

    def _entry(self, git_path: str) -> tuple[str, int] | None:
        """The blob id and mode the index records at `git_path`, or None. A
        split index is read by git, which gives the mode too."""
        if self.index is not None:
            try:
                found = self.index[git_path]
            except KeyError:
                return None
            return str(found.id), int(found.mode)
        if self._cli_entries is None:
            self._cli_entries = gitcli.staged_entries(self.git.workdir, self.index_file)
        return self._cli_entries.get(git_path)


class HistoryScope(NamedTuple):
    """Which versions of a file beyond the work tree's gc keeps (DVC's gc flags)."""

    branches: bool = False  # every branch tip, remote-tracking branches too
    tags: bool = False  # every tag
    all_commits: bool = False  # every commit git's own gc keeps, every worktree and index
    revs: tuple[str, ...] = ()  # these commits

    def explicit(self) -> bool:
        return self.branches or self.tags or self.all_commits or bool(self.revs)


class FileVersion(NamedTuple):
    """One version of a file and where it was found (for messages)."""

    where: str
    text: str


def versions_in_scope(git: GitRepo, name: str, scope: HistoryScope) -> list[FileVersion]:
    """Every distinct version of the project's file `name` that `scope` names, read
    from git objects without a checkout: in its commits, in this worktree's index
    and, with all_commits, in every worktree's index and work tree. The file in
    this work tree is the caller's to read."""
    path = git.git_path(name)
    found: dict[str, FileVersion] = {}
    for commit_id, where in _commits_in_scope(git, scope).items():
        blob_id = _blob_at(git, commit_id, path)
        if blob_id is not None and blob_id not in found:
            found[blob_id] = FileVersion(where, _blob_text(git, blob_id, f"{name}@{where}"))
    indexes = (gitcli.index_files(git.workdir) if scope.all_commits
               else [Path(git.repo.path) / "index"])
    for index in indexes:
        if not index.is_file():
            continue
        for blob_id in gitcli.staged_blob_ids(git.workdir, path, str(index)):
            if blob_id not in found and blob_id in git.repo:
                found[blob_id] = FileVersion(f"the index {str(index)!r}",
                                             _blob_text(git, blob_id, f"{name} (staged)"))
    versions = list(found.values())
    if scope.all_commits:
        versions += _other_worktree_files(git, path)
    return versions


def _commits_in_scope(git: GitRepo, scope: HistoryScope) -> dict[str, str]:
    """{commit id: where it was named} for the scope."""
    import pygit2

    repo = git.repo
    commits: dict[str, str] = {}
    if scope.all_commits:
        commits.update((c, f"commit {c[:12]}") for c in gitcli.commits_git_keeps(git.workdir))
    prefixes = (("refs/heads/", "refs/remotes/") if scope.branches else ()) + \
        (("refs/tags/",) if scope.tags else ())
    for ref in repo.references if prefixes else ():
        if not ref.startswith(prefixes):
            continue
        try:
            commit = repo.references[ref].peel(pygit2.Commit)
        except (pygit2.InvalidSpecError, ValueError, KeyError):
            continue  # a tag of a tree or blob names no lock
        commits.setdefault(str(commit.id), f"{ref} ({str(commit.id)[:12]})")
    for rev in scope.revs:
        commit_id = _commit_id(git, rev)
        commits.setdefault(commit_id, f"{rev} ({commit_id[:12]})")
    return commits


def _commit_id(git: GitRepo, rev: str) -> str:
    return str(start_commit(git, rev).id)


def start_commit(git: GitRepo, rev: str) -> pygit2.Commit:
    """The commit `rev` names; BadInputError for a name git does not know, or
    for a repository without commits."""
    import pygit2

    from gitpipe.core.errors import BadInputError

    try:
        return git.repo.revparse_single(rev).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        if rev == "HEAD" and git.repo.head_is_unborn:
            raise BadInputError("the repository has no commits yet",
                                hint="commit gitpipe.lock after a repro") from None
        raise BadInputError(f"unknown revision {rev!r}",
                            hint="a commit, branch or tag, as git understands it") from None



def _blob_at(git: GitRepo, commit_id: str, path: str) -> str | None:
    try:
        entry = git.repo[commit_id].tree[path]  # type: ignore[attr-defined,unused-ignore]
    except (KeyError, ValueError, AttributeError):
        return None
    return str(entry.id) if entry.type_str == "blob" else None


def _blob_text(git: GitRepo, blob_id: str, name: str) -> str:
    from gitpipe.git.blobtext import bounded_text_or_nothing
    return bounded_text_or_nothing(git.repo, blob_id, name)


def _other_worktree_files(git: GitRepo, path: str) -> list[FileVersion]:
    """The file as it stands in every other worktree's folder (a regular file,
    never read through a symlink)."""
    from gitpipe.core.nofollow import FileTooLarge, regular_file_bytes
    from gitpipe.core.yamlio import MAX_BYTES

    versions = []
    for tree in gitcli.worktree_paths(git.workdir):
        if tree.resolve() == git.workdir:
            continue
        try:
            data = regular_file_bytes(str(tree / path), MAX_BYTES)
        except FileTooLarge:  # as a past commit's: a lock no command reads names nothing
            data = b""
        except OSError:
            continue  # absent, or its worktree folder gone
        if data is not None:  # a symlink, a fifo: not the file
            versions.append(FileVersion(f"the work tree {str(tree)!r}",
                                        data.decode("utf-8", errors="replace")))
    return versions

