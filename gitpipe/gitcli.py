"""The git command line, for the one thing libgit2 cannot read: a split index.

With `core.splitIndex` set, `.git/index` carries a "link" extension that
libgit2 refuses ("unsupported mandatory extension"), so pygit2 can neither
list the index nor compute a status. Anyone with that setting has git itself,
whose plumbing commands read it; gitrepo.py asks them instead, and only then.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path

from gitpipe.errors import GitpipeError

_NO_GIT = "this repository's index (split: core.splitIndex) needs the git command, not installed"


def cannot_read_index(error: Exception) -> bool:
    """Whether a pygit2 error is libgit2 refusing an index format it lacks."""
    return "unsupported mandatory extension" in str(error)


def index_entries(workdir: Path, index_file: str | None = None) -> dict[str, str]:
    """{path relative to the work tree: blob id} of the index (stage 0 entries;
    a conflicted path has none)."""
    entries = {}
    for record in _git(workdir, ["ls-files", "--stage", "-z"], index_file).split(b"\0"):
        meta, _, path = record.partition(b"\t")
        fields = meta.split(b" ")
        if len(fields) == 3 and fields[2] == b"0":
            entries[os.fsdecode(path)] = fields[1].decode()
    return entries


def unclean_paths(workdir: Path) -> set[str]:
    """Tracked paths whose work-tree file may differ from the index (by stat data,
    or by content where the stat data cannot tell)."""
    return _paths(_git(workdir, ["diff-files", "--name-only", "-z"]))


def staged_paths(workdir: Path, index_file: str | None = None) -> set[str] | None:
    """Paths the index changes against HEAD; None without a HEAD commit."""
    try:
        _git(workdir, ["rev-parse", "--verify", "-q", "HEAD"])
    except GitpipeError:
        return None
    return _paths(_git(workdir, ["diff-index", "--cached", "--name-only", "-z", "HEAD"],
                       index_file))


class BlobHasher:
    """Blob ids `git add` would store for work-tree files (through their
    filters), from one `git hash-object --stdin-paths` kept running: a process
    per file took 500 modified files from 0.17 s to 0.94 s. Thread-safe."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None

    def blob_id(self, path: str) -> str:
        """`path` is relative to the top of the work tree."""
        # A path per line: one with a line break in it, or one git would read
        # as C-quoted (a leading ") or trim (a trailing CR), goes alone.
        if "\n" in path or "\r" in path or path.startswith('"'):
            return self._alone(path)
        with self._lock:
            process = self._start()
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(path + "\n")
                process.stdin.flush()
                answer = process.stdout.readline().strip()
            except BrokenPipeError:
                answer = ""
            except BaseException:
                # Interrupted between question and answer: an answer left in
                # the pipe would be taken for the next file's.
                self._stop(kill=True)
                raise
            if len(answer) < 40:  # git stopped (the file went away): ask once more, alone
                self._stop(kill=True)
                return self._alone(path)
            return answer

    def _alone(self, path: str) -> str:
        """One process for one file; a missing file is a GitpipeError."""
        return _git(self.workdir, ["hash-object", f"--path={path}", "--", path]).decode().strip()

    def _start(self) -> subprocess.Popen[str]:
        if self._process is None or self._process.poll() is not None:
            try:
                self._process = subprocess.Popen(
                    ["git", "hash-object", "--stdin-paths"], cwd=self.workdir,
                    env={**os.environ, "GIT_FLUSH": "1"},  # an answer per line, not buffered
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                    encoding=sys.getfilesystemencoding(), errors="surrogateescape")
            except FileNotFoundError as exc:
                raise GitpipeError(_NO_GIT) from exc
        return self._process

    def _stop(self, kill: bool = False) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if kill:
            process.kill()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        process.wait()

    def close(self) -> None:
        with self._lock:
            self._stop()


def _paths(output: bytes) -> set[str]:
    return {os.fsdecode(path) for path in output.split(b"\0") if path}


def _git(workdir: Path, args: list[str], index_file: str | None = None) -> bytes:
    env = dict(os.environ)
    if index_file is not None:
        env["GIT_INDEX_FILE"] = index_file
    try:
        done = subprocess.run(["git", *args], cwd=workdir, env=env, capture_output=True,
                              check=False)
    except FileNotFoundError as exc:
        raise GitpipeError(_NO_GIT) from exc
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise GitpipeError(f"git {args[0]} failed: {message}")
    return done.stdout


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
