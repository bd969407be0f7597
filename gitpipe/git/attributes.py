"""The `.gitattributes` a checkout of a commit puts in force, and a file's bytes under them.

A checkout of a commit replaces the tracked `.gitattributes` files with the
commit's (removing those it lacks) and keeps untracked ones; git then writes
the commit's files through those rules, the repository's
`info/attributes` and `core.attributesFile`. Attributes for a path come
only from the folders above it, so where each of those folders holds the
same rules in the work tree as after the checkout, the work tree's
attributes (what pygit2 reads) are the commit's: a tree lookup and an lstat
per folder, no subprocess, whether or not the commit has any such file.
Where they differ, git itself smudges the blob in a scratch work tree
holding only the rules the checkout would leave, so git's own matching
(patterns, macros such as `binary`, nesting, precedence) decides. pygit2
cannot take attributes from a commit alone: libgit2 adds the commit's rules
to the work tree's and the index's, never in place of them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from gitpipe.core.nofollow import regular_file_bytes
from gitpipe.git import plumbing as gitcli
from gitpipe.git.blobtext import ATTRIBUTES_MAX, bounded_blob

if TYPE_CHECKING:
    from gitpipe.git.repo import GitRepo


class CommittedTree(Protocol):
    """What the rules of a checkout are read from: a commit's tree (git/revision.py's
    Revision) in its repository."""

    git: GitRepo

    def regular_blob_at(self, git_path: str) -> str | None: ...

ATTRIBUTES_FILE = ".gitattributes"


def folders_above(git_path: str) -> list[str]:
    """The folders whose `.gitattributes` apply to `git_path`, '' for the top."""
    parts = git_path.split("/")[:-1]
    return [""] + ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]


def _same_rules(one: bytes | None, other: bytes | None) -> bool:
    """Whether two `.gitattributes` texts hold the same rules: git reads a CR
    before a line's end as blank space, and the file itself may be checked
    out with CRLF under its own rules."""
    if one is None or other is None:
        return one is other
    return one.replace(b"\r\n", b"\n") == other.replace(b"\r\n", b"\n")


class CheckoutAttributes:
    """The attributes a checkout of `revision` leaves; paths are as git names them."""

    def __init__(self, revision: CommittedTree) -> None:
        self.revision = revision
        self.git = revision.git
        self._unchanged: dict[str, bool] = {}  # folder -> its rules are the work tree's
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._written: set[str] = set()

    def as_in_work_tree(self, git_path: str) -> bool:
        """Whether the work tree's attributes for `git_path` are the checkout's."""
        return all(self._folder_unchanged(folder) for folder in folders_above(git_path))

    def _folder_unchanged(self, folder: str) -> bool:
        if folder not in self._unchanged:
            name = _in(folder)
            on_disk = self._on_disk(name)
            staged = self.git.staged_blob_id(name)
            # Libgit2 reads the index's rules as well as the file's, so
            # both must be the checkout's.
            self._unchanged[folder] = _same_rules(self._after_checkout(name), on_disk) and (
                staged is None or _same_rules(self._blob(staged, f"{name} (staged)"), on_disk))
        return self._unchanged[folder]

    def _after_checkout(self, name: str) -> bytes | None:
        """The rules file `name` after a checkout: the commit's, else an
        untracked one the work tree has (a checkout keeps it)."""
        committed = self.revision.regular_blob_at(name)
        if committed is not None:
            return self._blob(committed, name)
        return None if self.git.staged_blob_id(name) is not None else self._on_disk(name)

    def _blob(self, blob_id: str, name: str) -> bytes:
        return bounded_blob(self.git.repo, blob_id, name, ATTRIBUTES_MAX)

    def _on_disk(self, name: str) -> bytes | None:
        """The work tree's file `name`; git reads a regular file only, and
        none past ATTRIBUTES_MAX, which is refused as a commit's is."""
        try:
            return regular_file_bytes(os.path.join(self.git.workdir, name), ATTRIBUTES_MAX)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def smudged(self, git_path: str, blob_id: str) -> bytes:
        """The blob's bytes as a checkout of the commit writes them at `git_path`."""
        root = self._scratch_holding(git_path)
        return gitcli.smudged_under(self.git.repo.path, root, blob_id, git_path)

    def smudged_digest(self, git_path: str, blob_id: str) -> tuple[str, int]:
        """`smudged`'s xxh3-128 hex and size, hashed as git writes them."""
        root = self._scratch_holding(git_path)
        return gitcli.checkout_digest(root, blob_id, git_path, place=self._place(root))

    def smudged_blob_id(self, git_path: str, blob_id: str) -> str:
        """`smudged`'s git blob id, its bytes spooled as git writes them."""
        root = self._scratch_holding(git_path)
        return gitcli.checkout_blob_id(root, blob_id, git_path, place=self._place(root))

    def _place(self, root: Path) -> dict[str, str]:
        return {"GIT_DIR": self.git.repo.path, "GIT_WORK_TREE": str(root)}

    def _scratch_holding(self, git_path: str) -> Path:
        """A scratch work tree with the rules files the checkout leaves in the
        folders above `git_path`, and nothing else."""
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="gitpipe-attributes-")
        root = Path(self._scratch.name)
        for folder in folders_above(git_path):
            if folder in self._written:
                continue
            self._written.add(folder)
            rules = self._after_checkout(_in(folder))
            if rules is not None:
                (root / folder).mkdir(parents=True, exist_ok=True)
                (root / folder / ATTRIBUTES_FILE).write_bytes(rules)
        return root


def _in(folder: str) -> str:
    return f"{folder}/{ATTRIBUTES_FILE}" if folder else ATTRIBUTES_FILE
