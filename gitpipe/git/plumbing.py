"""The git command line, for what libgit2 cannot do.

With `core.splitIndex` set, `.git/index` carries a "link" extension that
libgit2 refuses ("unsupported mandatory extension"), so pygit2 can neither
list the index nor compute a status; anyone with that setting has git itself,
whose plumbing commands read it. git also smudges what libgit2 cannot (filter
drivers, non-UTF-8 paths, a commit's own attributes) and lists the reflogs
and work trees gc keeps.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitpipe.core.errors import GitpipeError

if TYPE_CHECKING:
    from collections.abc import Callable

_NO_GIT = "this repository's index (split: core.splitIndex) needs the git command, not installed"
# The user's environment may set how git reads a pathspec; gitpipe says so in
# each of its own (`:(literal)…`), which GIT_LITERAL_PATHSPECS would turn into
# part of the name.
_PATHSPEC_MODES = frozenset(("GIT_LITERAL_PATHSPECS", "GIT_GLOB_PATHSPECS",
                             "GIT_NOGLOB_PATHSPECS", "GIT_ICASE_PATHSPECS"))

# git's discovery takes a repository's own folder found in the work tree (a
# bare repository a clone committed, core.worktree and all) unless told not
# to; its config could name a filter or fsmonitor command. GIT_DIR, as
# gitpipe's own calls give it, is still taken. Every git command gitpipe
# runs says it (trust/dotdir.py and usecases/hooks.py too).
ONLY_OWN_REPOSITORY = ("-c", "safe.bareRepository=explicit")


def has_git() -> bool:
    """Whether the git command is installed (gitpipe itself reads git's data
    through libgit2 and needs it only for what that cannot do)."""
    import shutil

    return shutil.which("git") is not None


def cannot_read_index(error: Exception) -> bool:
    """Whether a pygit2 error is libgit2 refusing an index format it lacks."""
    return "unsupported mandatory extension" in str(error)


def index_entries(workdir: Path, index_file: str | None = None) -> dict[str, str]:
    """{path relative to the work tree: blob id} of the index (stage 0 entries;
    a conflicted path has none)."""
    return {path: blob for path, (blob, _) in staged_entries(workdir, index_file).items()}


def staged_entries(workdir: Path, index_file: str | None = None) -> dict[str, tuple[str, int]]:
    """{path relative to the work tree: (blob id, mode)} of the index's stage 0
    entries: the mode tells a symlink (0o120000), whose blob is where it leads."""
    entries = {}
    for record in _git(workdir, ["ls-files", "--stage", "-z"], index_file).split(b"\0"):
        meta, _, path = record.partition(b"\t")
        fields = meta.split(b" ")
        if len(fields) == 3 and fields[2] == b"0":
            entries[os.fsdecode(path)] = (fields[1].decode(), int(fields[0], 8))
    return entries


def checkout_bytes(workdir: Path, blob_id: str, path: str) -> bytes:
    """A blob's bytes as a checkout writes them at `path` (relative to the top
    of the work tree): through the eol conversion and filters of its attributes."""
    return _git(workdir, ["cat-file", "--filters", f"--path={path}", blob_id])


def smudged_under(git_dir: str, work_tree: Path, blob_id: str, path: str) -> bytes:
    """A blob's bytes as a checkout writes them at `path` under the
    `.gitattributes` files `work_tree` holds (with the repository's
    `info/attributes` and `core.attributesFile`): `cat-file --filters` reads
    the rules of the work tree it runs in, never the index's. A filter
    driver runs there too."""
    return _git(work_tree, ["cat-file", "--filters", f"--path={path}", blob_id],
                place={"GIT_DIR": git_dir, "GIT_WORK_TREE": str(work_tree)})


def staged_paths(workdir: Path, index_file: str | None = None) -> set[str] | None:
    """Paths the index changes against HEAD; None without a HEAD commit."""
    try:
        _git(workdir, ["rev-parse", "--verify", "-q", "HEAD"])
    except GitpipeError:
        return None
    return _paths(_git(workdir, ["diff-index", "--cached", "--name-only", "-z", "HEAD"],
                       index_file))


def _paths(output: bytes) -> set[str]:
    return {os.fsdecode(path) for path in output.split(b"\0") if path}


def _git(workdir: Path, args: list[str], index_file: str | None = None,
         place: dict[str, str] | None = None) -> bytes:
    """git's output for `args`; `place` (GIT_DIR, GIT_WORK_TREE) as variables,
    so that an error names the command (`args[0]`), not an option."""
    env = _env(index_file, place)
    import subprocess  # not at import: the status path (git/repo.py) seldom runs git

    try:
        done = subprocess.run(["git", *ONLY_OWN_REPOSITORY, *args], cwd=workdir, env=env,
                              capture_output=True,
                              check=False)
    except FileNotFoundError as exc:
        raise GitpipeError(_NO_GIT) from exc
    except OSError as exc:  # E2BIG, ENOMEM: git never started
        raise GitpipeError(f"git {args[0]} could not start: {exc.strerror}") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise GitpipeError(f"git {args[0]} failed: {message}")
    return done.stdout


def _env(index_file: str | None, place: dict[str, str] | None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if name not in _PATHSPEC_MODES}
    env.update(place or {})
    if index_file is not None:
        env["GIT_INDEX_FILE"] = index_file
    return env


def checkout_digest(workdir: Path, blob_id: str, path: str | None,
                    place: dict[str, str] | None = None) -> tuple[str, int]:
    """The xxh3-128 hex and size of a blob's bytes as a checkout writes them
    at `path` (None: as git stores them, no conversion), hashed as git's
    output arrives."""
    import xxhash

    hasher = xxhash.xxh3_128()
    size = stream_checkout(workdir, blob_id, path, hasher.update, place)
    return hasher.hexdigest(), size


def checkout_blob_id(workdir: Path, blob_id: str, path: str,
                     place: dict[str, str] | None = None) -> str:
    """The git blob id of a blob's bytes as a checkout writes them at `path`.
    The id's header names their size, known only once git has written them
    all: they are spooled to an unnamed temporary file (gone however this
    process ends), then hashed from it."""
    import hashlib
    import tempfile

    from gitpipe.hashing.digests import chunk_buffer

    try:
        with tempfile.TemporaryFile(prefix="gitpipe-checkout-") as spool:
            size = stream_checkout(workdir, blob_id, path, spool.write, place)
            spool.seek(0)
            hasher = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
            view = chunk_buffer()
            while count := spool.readinto(view):
                hasher.update(view[:count])
    except OSError as exc:  # the temporary folder full, say
        raise GitpipeError(f"{path}: its checkout could not be spooled to a temporary file "
                           f"to be hashed: {exc.strerror or exc}") from None
    return hasher.hexdigest()


def stream_checkout(workdir: Path, blob_id: str, path: str | None,
                    sink: Callable[[memoryview], object],
                    place: dict[str, str] | None = None) -> int:
    """Feed `sink` a blob's bytes as a checkout writes them at `path` (None:
    as git stores them), as git's output arrives, and return their size: a
    blob of gigabytes is never whole in this process (git streams a blob it
    stores whole; one it converts is git's to hold)."""
    import subprocess
    import tempfile

    from gitpipe.hashing.digests import chunk_buffer

    args = ["cat-file", "--filters", f"--path={path}", blob_id] if path is not None \
        else ["cat-file", "blob", blob_id]
    view, size = chunk_buffer(), 0
    with tempfile.TemporaryFile() as errors:  # a filter's chatter never fills a pipe
        try:
            git = subprocess.Popen(["git", *ONLY_OWN_REPOSITORY, *args], cwd=workdir,
                                   env=_env(None, place), stdout=subprocess.PIPE,
                                   stderr=errors)
        except OSError as exc:
            raise GitpipeError(f"git {args[0]} could not start: {exc.strerror}") from None
        output: Any = git.stdout  # a BufferedReader: readinto fills the reused buffer
        try:
            with output:
                while count := output.readinto(view):
                    sink(view[:count])
                    size += count
        except BaseException:  # the sink failed: git is not left writing to no one
            git.kill()
            git.wait()
            raise
        if git.wait() != 0:
            errors.seek(0)
            message = errors.read(4096).decode(errors="replace").strip()
            raise GitpipeError(f"git {args[0]} failed: {message}")
    return size


# -- what git's own gc keeps: every worktree, stash and reflog -------------------------

def commits_git_keeps(workdir: Path) -> list[str]:
    """Every commit git's own gc keeps: reachable from any ref, from any worktree's
    HEAD, or from any reflog entry (stash entries included)."""
    output = _git(workdir, ["rev-list", "--all", "--reflog"])
    return [line for line in output.decode().split() if line]


def staged_blob_ids(workdir: Path, git_path: str, index_file: str) -> list[str]:
    """Blob ids the index file records for `git_path` (every stage of a conflict)."""
    output = _git(workdir, ["ls-files", "--stage", "-z", "--", f":(top,literal){git_path}"],
                  index_file)
    ids = []
    for record in output.split(b"\0"):
        fields = record.partition(b"\t")[0].split(b" ")
        if len(fields) == 3:
            ids.append(fields[1].decode())
    return ids


def index_files(workdir: Path) -> list[Path]:
    """Every worktree's index file: `.git/index` for the main one, and
    `.git/worktrees/<id>/index` for each linked one (even one whose folder is
    gone but not pruned: git's own gc still keeps what it names)."""
    common = Path(os.fsdecode(_git(workdir, ["rev-parse", "--path-format=absolute",
                                             "--git-common-dir"]).strip()))
    linked = common / "worktrees"
    found = [common / "index"]
    if linked.is_dir():
        found += sorted(gitdir / "index" for gitdir in linked.iterdir())
    return [index for index in found if index.is_file()]


def worktree_paths(workdir: Path) -> list[Path]:
    """The top folder of every worktree of the repository, the main one first."""
    found = []
    for record in _git(workdir, ["worktree", "list", "--porcelain", "-z"]).split(b"\0"):
        if record.startswith(b"worktree "):
            found.append(Path(os.fsdecode(record.removeprefix(b"worktree "))))
    return found


# -- what a run leaves for git: the paths to `git add` ---------------------------------

# The most bytes of pathspecs one git command is given: the kernel refuses
# an argument list past ARG_MAX (often 2 MiB, with the environment in it),
# and a stage may declare tens of thousands of `metrics:` files.
_PATHSPEC_BYTES = 1 << 17


def changed_paths(workdir: Path, paths: list[str]) -> set[str]:
    """Of `paths` (relative to `workdir`; a folder stands for what is under
    it), the files that differ from git's index or that it does not track
    and does not ignore, relative to `workdir`. ls-files only reads: the
    index is left as it is, and no libgit2 is loaded."""
    found: set[str] = set()
    for specs in _pathspec_batches(paths):
        found |= _paths(_git(workdir, ["ls-files", "--modified", "--others",
                                       "--exclude-standard", "-z", "--", *specs]))
    return found


def stage_paths(workdir: Path, paths: list[str]) -> None:
    """`git add` the paths (relative to `workdir`)."""
    for specs in _pathspec_batches(paths):
        _git(workdir, ["add", "--", *specs])


def _pathspec_batches(paths: list[str]) -> list[list[str]]:
    """`paths` as literal pathspecs (no `*` or `:(…)` magic), in batches each
    within _PATHSPEC_BYTES."""
    batches: list[list[str]] = [[]]
    size = 0
    for path in paths:
        spec = f":(literal){path}"
        length = len(os.fsencode(spec)) + 1
        if batches[-1] and size + length > _PATHSPEC_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(spec)
        size += length
    return [batch for batch in batches if batch]
