"""A commit's tree, read without a checkout: what `--rev` judges a revision by."""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING

import xxhash

from gitpipe.git import plumbing as gitcli
from gitpipe.git.blobtext import (
    LINK_MODE,
    BlobTooLarge,
    blob_text,
    bounded_blob,
    recorded_size,
)
from gitpipe.git.repo import GitRepo, bytes_blob_id

if TYPE_CHECKING:
    import pygit2

    from gitpipe.git.attributes import CheckoutAttributes

EXECUTABLE_MODE = 0o100755
# A file at a revision larger than this in git is hashed as git streams it.
IN_MEMORY = 64 << 20


class Revision:
    """A commit's tree, read without a checkout; paths are project-relative."""

    def __init__(self, git: GitRepo, rev: str, tree: pygit2.Tree) -> None:
        self.git = git
        self.rev = rev
        self.tree = tree

    @cached_property
    def attributes(self) -> CheckoutAttributes:
        from gitpipe.git.attributes import CheckoutAttributes

        return CheckoutAttributes(self)

    @classmethod
    def resolve(cls, git: GitRepo, rev: str) -> Revision:
        from gitpipe.git.repo import start_commit

        return cls(git, rev, start_commit(git, rev).tree)

    def _entry(self, path: str) -> pygit2.Object | None:
        try:
            return self.tree[self.git.git_path(path)]
        except KeyError:
            return None

    def read_text(self, path: str) -> str | None:
        """One of gitpipe's own files (the spec, params, the lock, a vars or
        config file) as the commit holds it; None where it holds none. A
        symlink is refused, naming it: its blob is where it leads, not the
        file's text, and a work tree reads such a file through the link."""
        entry = self._entry(path)
        if entry is None or entry.type_str != "blob":
            return None
        name = f"{path}@{self.rev}"
        return blob_text(bounded_blob(self.git.repo, str(entry.id), name), entry.filemode,
                         name, "at a revision")

    def blob_id(self, path: str) -> str | None:
        entry = self._entry(path)
        return str(entry.id) if entry is not None and entry.type_str == "blob" else None

    def regular_blob_at(self, git_path: str) -> str | None:
        """The blob id of the regular file (not a symlink) the commit holds at
        `git_path`, relative to the top of the work tree, or None."""
        try:
            entry = self.tree[git_path]
        except KeyError:
            return None
        if entry.type_str != "blob" or entry.filemode == LINK_MODE:
            return None
        return str(entry.id)

    def kind(self, path: str) -> str | None:
        """"file", "link" or "dir" for what the commit holds at `path`; None for
        nothing (or a submodule, whose files are another repository's)."""
        entry = self._entry(path)
        if entry is None:
            return None
        if entry.type_str == "tree":
            return "dir"
        if entry.type_str != "blob":
            return None
        return "link" if entry.filemode == LINK_MODE else "file"

    def file_mode(self, path: str) -> int | None:
        entry = self._entry(path)
        return None if entry is None else int(entry.filemode)

    def link_target(self, path: str) -> str:
        entry = self._entry(path)
        assert entry is not None
        # A link's target is its blob: a clone's may be gigabytes (no checkout
        # could make that link), bounded as gitpipe's own files are.
        return os.fsdecode(bounded_blob(self.git.repo, str(entry.id), f"{path}@{self.rev}"))

    def converts(self, path: str) -> bool:
        """Whether a checkout of the commit writes `path` through a conversion
        (GitRepo.converts). Under attributes other than the work tree's it is
        taken to: the bytes are hashed then, right either way."""
        return not self.attributes.as_in_work_tree(self.git.git_path(path)) or \
            self.git.converts(path)

    def checkout_bytes(self, path: str) -> bytes:
        """A file's bytes as `git checkout` writes them: through the eol
        conversion and filters the checkout's attributes name for the path."""
        import pygit2
        from pygit2.enums import FilterMode

        entry = self._entry(path)
        assert entry is not None
        blob = self.git.repo[entry.id]
        assert isinstance(blob, pygit2.Blob)
        git_path = self.git.git_path(path)
        if not self.attributes.as_in_work_tree(git_path):
            return self.attributes.smudged(git_path, str(entry.id))
        if not self.git.converts(path):
            return bytes(blob.read_raw())
        # Libgit2 reads no split index, runs no filter driver, and pygit2
        # takes a filter list's path as a str it encodes as UTF-8: git itself
        # smudges those files (slower, the same bytes). So too a blob holding
        # a NUL or a CR: libgit2 tells binary from text, and a CRLF already
        # there, otherwise than git (`* text eol=crlf` on `a\nb\0`: git
        # writes CRLF, libgit2 leaves it be).
        if self.git.split_index or not encodable(git_path) or \
                self.git.beyond_libgit2(path) or _git_may_differ(blob):
            return gitcli.checkout_bytes(self.git.workdir, str(entry.id), git_path)
        filters = self.git.repo.load_filter_list(git_path, FilterMode.TO_WORKTREE)
        return bytes(filters.apply_to_blob(blob)) if filters is not None else bytes(blob.read_raw())

    def bounded_checkout(self, path: str, what: str) -> bytes:
        """checkout_bytes of a file gitpipe reads (`what` it is, in messages),
        refused where git records it as larger than IN_MEMORY: no source file
        is that size, and a conversion may make a blob of gigabytes a checkout
        of a few bytes (`ident` on one `$Id: …$` line)."""
        blob_id = self._streamed(path)
        if blob_id is not None:
            size = recorded_size(self.git.repo, blob_id, f"{path}@{self.rev}")
            raise BlobTooLarge(f"{path}@{self.rev}: {what} larger than {IN_MEMORY >> 20} MiB "
                               f"({size} bytes in git): not read")
        return self.checkout_bytes(path)

    def checkout_digest(self, path: str) -> tuple[str, int]:
        """The xxh3-128 hex and size of a file's bytes as `git checkout` writes
        them. A blob git records as larger than IN_MEMORY is hashed as git
        writes it out, never read whole here: a clone's history may hold a
        data file of gigabytes that compresses to megabytes."""
        blob_id = self._streamed(path)
        if blob_id is None:
            data = self.checkout_bytes(path)
            return xxhash.xxh3_128_hexdigest(data), len(data)
        git_path = self.git.git_path(path)
        if not self.attributes.as_in_work_tree(git_path):
            return self.attributes.smudged_digest(git_path, blob_id)
        return gitcli.checkout_digest(self.git.workdir, blob_id,
                                      git_path if self.git.converts(path) else None)

    def checkout_blob_id(self, path: str) -> str:
        """The blob id of a file's bytes as a checkout writes them (see
        workspace.Workspace._blob_id): the tree's own id where git converts
        nothing for the path. Where it converts a blob larger than IN_MEMORY,
        the checkout's bytes are spooled as git writes them, as for
        checkout_digest."""
        if not self.converts(path):
            blob_id = self.blob_id(path)
            assert blob_id is not None
            return blob_id
        blob_id = self._streamed(path)
        if blob_id is None:
            return bytes_blob_id(self.checkout_bytes(path))
        git_path = self.git.git_path(path)
        if not self.attributes.as_in_work_tree(git_path):
            return self.attributes.smudged_blob_id(git_path, blob_id)
        return gitcli.checkout_blob_id(self.git.workdir, blob_id, git_path)

    def _streamed(self, path: str) -> str | None:
        """The blob id of the file at `path` where git records it as larger
        than IN_MEMORY (its checkout then taken as git streams it), else None."""
        entry = self._entry(path)
        assert entry is not None
        blob_id = str(entry.id)
        return blob_id if recorded_size(self.git.repo, blob_id,
                                        f"{path}@{self.rev}") > IN_MEMORY else None

    def files_under(self, path: str) -> list[tuple[str, int]]:
        """(path relative to `path`, git file mode) of every file and symlink in
        the commit's directory `path`, at any depth; submodules left out."""
        import pygit2

        top = self._entry(path)
        found: list[tuple[str, int]] = []
        pending: list[tuple[str, pygit2.Tree]] = [("", top)] if isinstance(top, pygit2.Tree) else []
        while pending:
            prefix, tree = pending.pop()
            for child in tree:
                rel = f"{prefix}{child.name}"
                if isinstance(child, pygit2.Tree):
                    pending.append((rel + "/", child))
                elif child.type_str == "blob":
                    found.append((rel, child.filemode))
        return sorted(found)


def _git_may_differ(blob: pygit2.Blob) -> bool:
    """Whether libgit2's eol conversion of the blob may not be git's."""
    data = blob.data
    return b"\0" in data or b"\r" in data


def encodable(path: str) -> bool:
    """Whether `path` is UTF-8 as git stores it (not held as surrogate escapes)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
