"""Hashes of paths in the work tree, stat first: the stat cache, then bytes.

A git-tracked file is named by the git blob id of its bytes as they are,
everything else by xxh3; bytes are read only when the stat cache does not know
the file's (inode, mtime_ns, size, ctime_ns). The git index is asked whether a
file is tracked, never what it holds (see Workspace._blob_id).
"""

from __future__ import annotations

import os
import stat as stat_module
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from gitpipe.core.errors import BadInputError
from gitpipe.git.indexnames import project_tracked
from gitpipe.git.repo import GitRepo, raw_blob_id
from gitpipe.hashing.coldscan import ColdScan, HashProgress, scan_directory
from gitpipe.hashing.digests import (
    GIT,
    XXH3,
    gc_paused,
    hash_file,
    hash_many,
    is_executable,
    listing_digest,
)
from gitpipe.hashing.ignore import Ignore, forget_outer_rules
from gitpipe.hashing.statsig import (
    FileSignature,
    ListedFile,
    ReadLog,
    Signature,
    file_signature,
    index_signature,
    listing_signature,
    walk_files,
)
from gitpipe.storage.state import State, StatKey
from gitpipe.trust.checks import printable
from gitpipe.trust.dotdir import index_file

if TYPE_CHECKING:
    from gitpipe.hashing.walkahead import HeldListing, Signing, WalkedBefore

# The stat-cache key of a directory's digest names the manifest rules it
# was made by (executable files flagged): a digest remembered under older rules
# is not reused for a listing that has not changed since.
DIR_KEY = "tree:"


class PathInfo(NamedTuple):
    """What a path holds now: its digest and size, or `digest=None` when missing;
    `executable` for a file its owner may run (directories flag theirs in the
    manifest)."""

    path: str
    digest: str | None
    size: int = 0
    is_dir: bool = False
    files: int = 0
    executable: bool = False  # a file (or a symlink's target) its owner may run

    @property
    def exists(self) -> bool:
        return self.digest is not None


class PathHasher(Protocol):
    """Anything that can say what a project path holds: the work tree, or a commit."""

    def info(self, path: str, algo: str | None = None) -> PathInfo: ...


class Workspace:
    """Hashes project paths under `root`, sharing one State and one git view."""

    def __init__(self, root: Path, state: State,
                 git: Callable[[], GitRepo] | None, reads: ReadLog | None = None) -> None:
        self.root = root
        self._root = str(root)
        self.state = state
        self._open_git = git  # opened on first need: see _git_aware
        forget_outer_rules(self._root)  # a new command: see hashing/ignore.py
        # The stat signature of every path hashed, noted where the project
        # notes every file its judgement reads (fastpath/seal.py): a no-op answer is
        # valid for as long as these stay the same.
        self.observed: dict[str, Signature] = (reads or ReadLog()).seen
        self.progress: HashProgress | None = None  # hears of large directories hashed
        # The closures of `python:` deps found this command (project/pydeps.py).
        self.module_finder: object | None = None
        # Listing signatures of directories taken ahead by a reading pass
        # (walk_ahead), each used once by _directory in place of its walk.
        self.signed_ahead: dict[str, tuple[FileSignature, int]] = {}
        # What the command's seal check walked before it found the seal broken
        # (fastpath/seal.py), for the next walk_ahead to take instead of its own.
        self.walked_before: WalkedBefore | None = None
        # A directory's listing as a record that holds gives it, asked before
        # each walk (fastpath/heldlistings.py); None: every directory is walked.
        self.held_listing: HeldListing | None = None
        # The walks walk_ahead started, until the first directory takes them.
        self._signing: Signing | None = None
        self._signing_known: dict[str, str] = {}
        # In a reading pass: the directories walked ahead (signed or not; each one
        # recorded at its start, so to its end), a descriptor of the root for lstat.
        self._listed_ahead: frozenset[str] = frozenset()
        self._root_fd: int | None = None
        # What a reading pass found of each (path, algorithm), until end_pass:
        # an out of one task is a dep of the next, and is hashed once.
        self._found_in_pass: dict[tuple[str, str | None], PathInfo] | None = None

    @cached_property
    def git(self) -> GitRepo | None:
        return self._open_git() if self._open_git is not None else None

    @cached_property
    def _index_signature(self) -> str | None:
        return index_signature(self.root) if self._open_git is not None else None

    def prefetch(self, paths: list[str]) -> None:
        """Read what the stat cache knows of `paths` (files or directories) at once."""
        # Four keys a path (a directory's digest, a file's blob id, its
        # tracked-or-not verdict, its xxh3), made only where rows are looked up.
        if not self.state.prefetch_all(4 * len(paths)):
            self.state.prefetch([key for path in paths for key in
                                 (f"{DIR_KEY}{path}", f"git:{path}", f"git?:{path}", path)])

    def walk_ahead(self, paths: list[str]) -> None:
        """Begin a pass that only reads, until end_pass: nothing may write to
        the work tree meanwhile. The listings of the known directories among
        `paths` are signed now, in forked shares (hashing/walkahead.py), but
        those the command's broken seal walked already (`walked_before`), and
        each path is hashed once in the pass, however many tasks ask for it."""
        from gitpipe.hashing.walkahead import start_signing, taken_over

        # Only the directories' rows are read before the fork: the rest of the
        # stat cache is read while the walks run, into memory they do not share.
        self.state.prefetch_prefix(DIR_KEY)
        known = {os.path.join(self._root, path): path
                 for path in self.state.recorded_among(dict.fromkeys(paths), DIR_KEY)}
        walked, self.walked_before = self.walked_before, None
        taken = taken_over(walked, known) if walked else {}
        # The forked walks go on while the caller reads what needs none (the
        # lock, the params); the first directory hashed waits for them.
        self._signing = start_signing([full for full, path in known.items()
                                       if path not in taken], self.held_listing)
        self._signing_known = known
        self.signed_ahead = taken
        self._found_in_pass = {}
        self._listed_ahead = frozenset(known.values())
        # A path's lstat by its name from the root's descriptor: the kernel
        # resolves the root's own folders once, not at each of many files.
        try:
            self._root_fd = os.open(self._root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:  # each path is then stat-ed by its full path, as outside a pass
            self._root_fd = None

    def hash_ahead(self, requests: list[tuple[str, str | None]]) -> None:
        """In the pass walk_ahead began, hash each (path, algorithm) of
        `requests` but the directories walked ahead, as `info` would when
        asked: while the forked walks run, the paths that need none of them
        (files, directories never hashed before) are hashed meanwhile."""
        walked = set(self._signing_known.values()) if self._signing is not None else set()
        if not walked:
            return  # nothing runs meanwhile: each path is hashed when asked for
        for path, algo in dict.fromkeys(requests):
            if path not in walked:
                self.info(path, algo)

    def _ahead(self) -> dict[str, tuple[FileSignature, int]]:
        """signed_ahead, with the listings the forked walks signed once they are done."""
        signing, self._signing = self._signing, None
        if signing is not None:
            known, self._signing_known = self._signing_known, {}
            self.signed_ahead.update({known[full]: found
                                      for full, found in signing.signed().items()})
        return self.signed_ahead

    def end_pass(self) -> None:
        """End the reading pass walk_ahead began: paths are hashed as they are now."""
        signing, self._signing = self._signing, None
        if signing is not None:  # a pass that ended before any directory (an error)
            signing.stop()
        self.signed_ahead = {}
        self._signing_known = {}
        self._found_in_pass = None
        self._listed_ahead = frozenset()
        root_fd, self._root_fd = self._root_fd, None
        if root_fd is not None:
            os.close(root_fd)

    def info(self, path: str, algo: str | None = None) -> PathInfo:
        """Hash `path` (file or directory); never raises for a missing path.

        `algo` names a file's digest: GIT (the blob id `git add` would store,
        tracked or not), XXH3, or None: GIT if git tracks the file, else XXH3.
        Directories are always XXH3 manifests; so are symlinks to files: git
        stores a link's text, the stage reads its target.
        """
        found_in_pass = self._found_in_pass
        if found_in_pass is None:
            return self._info(path, algo)
        found = found_in_pass.get((path, algo))
        if found is None:
            found = found_in_pass[path, algo] = self._info(path, algo)
        return found

    def _info(self, path: str, algo: str | None) -> PathInfo:
        if path in self._listed_ahead and path in self._ahead():
            # A walk of the pass opened it as a folder: what an lstat (or the
            # stat of a link to it) would find, at the moment of that walk.
            return self._directory(path)
        try:
            info = self._lstat(path)
            link = stat_module.S_ISLNK(info.st_mode)
            if link:
                info = os.stat(os.path.join(self._root, path))
        except (FileNotFoundError, NotADirectoryError):
            self.observed[path] = None
            return PathInfo(path, None)
        except OSError as exc:  # a symlink loop, a folder it may not enter
            raise BadInputError(f"{printable(path)}: cannot be read "
                                f"({(exc.strerror or str(exc)).lower()})",
                                hint="gitpipe hashes files, symlinks to them and "
                                "directories") from None
        if stat_module.S_ISDIR(info.st_mode):
            return self._directory(path)
        if not stat_module.S_ISREG(info.st_mode):  # reading a fifo would wait forever
            raise BadInputError(f"{printable(path)}: a fifo, socket or device; gitpipe hashes "
                                "files, symlinks and directories only")
        signature = self.observed[path] = file_signature(info)
        if algo == XXH3 or link or self._open_git is None:
            digest = self._cached(path, path, signature, hash_file)
        elif algo == GIT:
            digest = self._blob_id(path, signature)
        else:
            digest = self._git_aware(path, signature)
        return PathInfo(path, digest, info.st_size, False, 0, is_executable(info.st_mode))

    def _lstat(self, path: str) -> os.stat_result:
        root_fd = self._root_fd
        if root_fd is None or not path:  # "" names the root itself only when joined
            return os.lstat(os.path.join(self._root, path))
        return os.lstat(path, dir_fd=root_fd)

    def _blob_id(self, path: str, signature: FileSignature) -> str:
        """The git blob id of the file's bytes as they are (no filter, no eol
        conversion), whatever the index says of it: the bytes the command
        reads, so that any change to them changes it.

        That id depends on the bytes alone, so it is remembered by the file's
        stat data like any hash: a commit, `git add` of another file or a
        checkout that left this file alone rewrites the index but costs no
        lookup in it (and no `import pygit2`, which costs more than the lookup).
        """
        # The index's id is never taken instead of reading the file. A
        # clean entry proves nothing where status does not compare it
        # (skip-worktree, assume-unchanged), where git converts the bytes (eol,
        # filters), nor where the entry was written under a conversion that no
        # longer applies (a branch whose attributes checked out CRLF): its id
        # is then LF's, the file CRLF, and stat data says nothing changed.
        known = self.state.cached_digest(f"git:{path}", signature)
        if known is not None:
            return known
        digest = f"{GIT}:{raw_blob_id(os.path.join(self._root, path))}"
        self.state.record_digest(f"git:{path}", StatKey(*signature), digest)
        return digest

    def _git_aware(self, path: str, signature: FileSignature) -> str:
        """A tracked file's git blob id, else xxh3 (a dep no lock entry names yet).

        Whether git tracks the file decides, so this verdict is remembered with
        the index's signature: while neither the file nor the index changed, it
        is one stat-cache lookup, without opening the repository at all.
        """
        index = self._index_signature
        if index is not None:
            remembered = self.state.cached_digest(f"git?:{path}", signature)
            if remembered is not None:
                seen, _, digest = remembered.partition(" ")
                if seen == index:
                    return digest
        if self._is_tracked(path):
            digest = self._blob_id(path, signature)
        else:
            digest = self._cached(path, path, signature, hash_file)
        if index is not None:
            self.state.record_digest(f"git?:{path}", StatKey(*signature), f"{index} {digest}")
        return digest

    def _is_tracked(self, path: str) -> bool:
        tracked = self._tracked
        if tracked is not None:
            return path in tracked
        git = self.git
        assert git is not None
        return git.is_tracked(path)

    @cached_property
    def _tracked(self) -> frozenset[str] | None:
        """The project paths git's index tracks, read from the index file
        (no `import pygit2`); None where only git can say (git/indexnames.py)."""
        found = index_file(self._root)
        if found is None or found[0] is None or "GIT_WORK_TREE" in os.environ:
            return None
        return project_tracked(found[0], found[1])

    def _cached(self, key: str, path: str, signature: FileSignature, hasher: object) -> str:
        digest = self.state.cached_digest(key, signature)
        if digest is None:
            digest = str(hasher(os.path.join(self._root, path)))  # type: ignore[operator]
            self.state.record_digest(key, StatKey(*signature), digest)
        return digest

    def _directory(self, path: str) -> PathInfo:
        """A directory's digest is the xxh3 of its sorted manifest.

        An unchanged directory is recognized from its listing's stat data alone
        (one signature, one lookup), without a per-file lookup or a manifest.
        One never hashed before is scanned instead: every file is read anyway.
        """
        full = os.path.join(self._root, path)
        self._note_outer_rules(full)
        if path not in self._listed_ahead and not self.state.recorded(f"{DIR_KEY}{path}"):
            with gc_paused():
                cold = scan_directory(full, self.progress)
            if cold is not None:
                return self._record_cold(path, cold)
        ahead = self._ahead().pop(path, None)
        if ahead is None and self.held_listing is not None:
            ahead = self.held_listing(full)
        if ahead is not None:
            signature, files = ahead
            cached = self.state.cached_digest(f"{DIR_KEY}{path}", signature)
            if cached is not None:
                self.observed[path] = ("dir", *signature)
                return PathInfo(path, cached, signature[2], True, files)
        with gc_paused():
            listing = walk_files(full)
            key = StatKey(*listing_signature(listing))
        self.observed[path] = ("dir", *key)
        cached = self.state.cached_digest(f"{DIR_KEY}{path}", key)
        if cached is not None:
            return PathInfo(path, cached, key.size, True, len(listing))
        with gc_paused():
            info = self._directory_manifest(path, listing)
        assert info.digest is not None
        self.state.record_digest(f"{DIR_KEY}{path}", key, info.digest)
        return info

    def _note_outer_rules(self, full: str) -> None:
        """The `.gitpipeignore` files above a directory decide which of its files
        count, so they are inputs of the answer too (those inside it are its files).

        Each is noted by the signature it had when its rules were read (once a
        command, for every directory below it: see hashing/ignore.py), so the rules a
        walk used and the signature the seal compares are of one file."""
        prefix = self._root + "/"
        for rules, signature in Ignore.above(full).sources:
            inside = rules.startswith(prefix)
            name = rules[len(prefix):] if inside else os.path.relpath(rules, self._root)
            self.observed[name] = signature

    def _directory_manifest(self, path: str, listing: list[ListedFile]) -> PathInfo:
        # One pass over plain tuples, no pathlib and no per-file objects
        # but the manifest's: with 20,000 small files, building paths and key
        # objects cost more than the hashing.
        base = os.path.join(self._root, path)
        known = self.state.directory_entries(path)
        digests: list[str] = []
        todo: list[int] = []  # indexes of the files to hash
        for index, (rel, inode, mtime_ns, size, mode, ctime_ns) in enumerate(listing):
            if stat_module.S_ISLNK(mode):
                digests.append("link:" + os.readlink(f"{base}/{rel}"))
            elif ((hit := known.get(rel)) is not None
                  and hit[0] == (inode, mtime_ns, size, ctime_ns)):
                digests.append(hit[1])
            else:
                todo.append(index)
                digests.append("")  # filled in below
        fresh = hash_many([f"{base}/{listing[i][0]}" for i in todo],
                          sizes=[listing[i][3] for i in todo])
        for index, digest in zip(todo, fresh, strict=True):
            digests[index] = digest
        self.state.record_directory(path, listing, digests)
        digest, size = listing_digest(listing, digests)
        return PathInfo(path, digest, size, True, len(listing))

    def _record_cold(self, path: str, cold: ColdScan) -> PathInfo:
        key = StatKey(*cold.signature)
        self.observed[path] = ("dir", *key)
        if cold.row is not None:
            self.state.record_directory_row(path, cold.row)
        else:
            self.state.record_directory(path, cold.listing, cold.digests)
        self.state.record_digest(f"{DIR_KEY}{path}", key, cold.digest)
        return PathInfo(path, cold.digest, cold.size, True, cold.files)
