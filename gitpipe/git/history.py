"""A file's history from git objects alone: the commits, newest first, at which
its blob differs from every parent's (as `git log -- FILE` lists them), found
by comparing blob ids in the commits' trees, no content read, no checkout."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

from gitpipe.git.repo import start_commit

if TYPE_CHECKING:
    import pygit2

    from gitpipe.git.repo import GitRepo


class CommitInfo(NamedTuple):
    """Who made a commit, when, and its subject line."""

    id: str
    author: str
    email: str
    date: str  # ISO 8601, in the author's own offset
    subject: str


class FileChange(NamedTuple):
    """A commit that changed the file. `blobs` are the blob ids of the file and
    of the files asked for beside it at the commit, `parents` the same at each
    parent (None where a commit has no such file)."""

    commit: CommitInfo
    blobs: tuple[str | None, ...]
    parents: tuple[tuple[str | None, ...], ...]


def changes(git: GitRepo, path: str, start: pygit2.Commit,
            beside: tuple[str, ...] = ()) -> Iterator[FileChange]:
    """The commits reachable from `start` at which the project's file `path`
    differs from each parent's, newest first (topological, then by time), with
    the blob ids of `path` and of the files `beside` it there and in each parent."""
    import pygit2

    git_path = git.git_path(path)
    others = tuple(git.git_path(name) for name in beside)
    blobs: dict[pygit2.Oid, str | None] = {}

    def blob_of(commit: pygit2.Commit) -> str | None:
        if commit.id not in blobs:
            blobs[commit.id] = _blob_at(commit.tree, git_path)
        return blobs[commit.id]

    def all_of(commit: pygit2.Commit) -> tuple[str | None, ...]:
        return (blob_of(commit), *(_blob_at(commit.tree, name) for name in others))

    walker = git.repo.walk(start.id, pygit2.enums.SortMode.TOPOLOGICAL
                           | pygit2.enums.SortMode.TIME)
    for commit in walker:
        own = blob_of(commit)
        differs = all(own != blob_of(parent) for parent in commit.parents)
        if differs and (own is not None or commit.parents):
            yield FileChange(commit_info(commit), all_of(commit),
                             tuple(all_of(parent) for parent in commit.parents))
        # Topological order: every child has asked for this commit already.
        blobs.pop(commit.id, None)


def _blob_at(tree: pygit2.Tree, git_path: str) -> str | None:
    try:
        entry = tree[git_path]
    except KeyError:
        return None
    return str(entry.id) if entry.type_str == "blob" else None


def commit_info(commit: pygit2.Commit) -> CommitInfo:
    author = commit.author
    zone = dt.timezone(dt.timedelta(minutes=author.offset))
    date = dt.datetime.fromtimestamp(author.time, zone).isoformat()
    subject = (commit.message or "").strip().splitlines()[:1]
    return CommitInfo(str(commit.id), _text(author.raw_name), _text(author.raw_email), date,
                      subject[0] if subject else "")


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


__all__ = ["CommitInfo", "FileChange", "changes", "commit_info", "start_commit"]
