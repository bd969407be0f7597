"""A commit's tree, read without a checkout: what `--rev` judges a revision by."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from gitpipe.git import plumbing as gitcli
from gitpipe.git.repo import GitRepo, bytes_blob_id

if TYPE_CHECKING:
    import pygit2

LINK_MODE = 0o120000
EXECUTABLE_MODE = 0o100755


class Revision:
    """A commit's tree, read without a checkout; paths are project-relative."""

    def __init__(self, git: GitRepo, rev: str, tree: pygit2.Tree) -> None:
        self.git = git
        self.rev = rev
        self.tree = tree

    @classmethod
    def resolve(cls, git: GitRepo, rev: str) -> Revision:
        import pygit2

        from gitpipe.core.errors import BadInputError

        try:
            commit = git.repo.revparse_single(rev).peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            raise BadInputError(f"unknown revision {rev!r}",
                                hint="a commit, branch or tag, as git understands it") from None
        return cls(git, rev, commit.tree)

    def _entry(self, path: str) -> pygit2.Object | None:
        try:
            return self.tree[self.git.git_path(path)]
        except KeyError:
            return None

    def read_text(self, path: str) -> str | None:
        entry = self._entry(path)
        if entry is None or entry.type_str != "blob":
            return None
        return self.git.repo[entry.id].read_raw().decode("utf-8", errors="replace")

    def blob_id(self, path: str) -> str | None:
        entry = self._entry(path)
        return str(entry.id) if entry is not None and entry.type_str == "blob" else None

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
        return os.fsdecode(self.git.repo[entry.id].read_raw())

    def checkout_bytes(self, path: str) -> bytes:
        """A file's bytes as `git checkout` writes them: through the eol
        conversion and filters the work tree's attributes name for the path."""
        import pygit2
        from pygit2.enums import FilterMode

        entry = self._entry(path)
        assert entry is not None
        blob = self.git.repo[entry.id]
        assert isinstance(blob, pygit2.Blob)
        if not self.git.converts(path):
            return bytes(blob.read_raw())
        if self.git.split_index:  # libgit2 reads attributes from the index too
            return gitcli.checkout_bytes(self.git.workdir, str(entry.id), self.git.git_path(path))
        filters = self.git.repo.load_filter_list(self.git.git_path(path), FilterMode.TO_WORKTREE)
        return bytes(filters.apply_to_blob(blob)) if filters is not None else bytes(blob.read_raw())

    def checkout_blob_id(self, path: str) -> str:
        """The blob id of a file's bytes as a checkout writes them (see
        workspace.Workspace._blob_id): the tree's own id where git converts
        nothing for the path."""
        if not self.git.converts(path):
            blob_id = self.blob_id(path)
            assert blob_id is not None
            return blob_id
        return bytes_blob_id(self.checkout_bytes(path))

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
