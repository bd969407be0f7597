"""Where records become paths: the one check every path from a record passes
(lock outs, directory manifests, run-cache entries, result records) before a
byte is written or removed on its behalf.

A record comes from git or a remote, so from anyone: a path is accepted only
if it is relative and normal, stays inside the work tree without passing a
symlink, and is an out the spec declares for that task.
"""

from __future__ import annotations

import os
import re
import stat as stat_module
from bisect import bisect_left
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

from gitpipe.core.errors import BadInputError, RecordError
from gitpipe.hashing.digests import EXEC, ManifestEntry
from gitpipe.trust.plaintext import quoted, shows_as_is

LINK_PREFIX = "link:"
# Git refuses these as a tree entry at any depth (case-insensitively,
# for case-folding file systems); a record naming them means git's or
# gitpipe's own bookkeeping, never an out.
RESERVED = (".git", ".gitpipe")
# Names the file systems gitpipe runs on (or a clone's next home) take for one
# of those: HFS+ ignores these code points when it compares names, and git's
# core.protectNTFS (on by default) refuses the 8.3 short name and a trailing
# dot or space, so a tree entry spelled that way never comes from git itself.
_IGNORED_BY_HFS = dict.fromkeys([0x200C, 0x200D, 0x200E, 0x200F, *range(0x202A, 0x202F),
                                 *range(0x206A, 0x2070), 0xFEFF])
_SHORT_NAMES = ("git~1", "gitpip~1")
_DIGEST = re.compile(r"^xxh3:[0-9a-f]{32}(\.dir)?\Z")
# A stage's name (gitpipe.yaml's rule) and a task's: the stage, then `@` and a
# partition key, which is one path component (run-cache keys and log names are
# built from it); an environment variable's name (a stage's `env`,
# `kubernetes.env`). `\Z` ends each: `$` also matches before a final newline.
STAGE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*\Z")
STAGE_NAME_RULE = "ASCII letters, digits, _ . -, starting with a letter or _"
_TASK_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*(@[A-Za-z0-9_.:+-]+)?\Z")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# The longest path and name Linux can open (PATH_MAX with its NUL, NAME_MAX),
# in bytes: a record naming a longer one names nothing a run could make, and
# the checks below stay linear in what they read.
MAX_PATH_BYTES = 4095
MAX_NAME_BYTES = 255
RECORD_HINT = ("the record was made by hand or forged: restore it from a trusted commit, "
               "or run 'gitpipe repro' to compute it here")


def path_problem(path: object) -> str | None:
    """Why `path` is not a relative, normal POSIX path, or None when it is."""
    if not isinstance(path, str) or not path:
        return "is not a path"
    if "\0" in path or "\\" in path:
        return "holds a NUL or a backslash"
    if path.startswith("/"):
        return "is absolute"
    if _byte_length(path) > MAX_PATH_BYTES:
        return f"is longer than a path may be ({MAX_PATH_BYTES:,} bytes)"
    for part in path.split("/"):
        if part in ("", ".", ".."):
            return "is not normalised (an empty, '.' or '..' component)"
        if _byte_length(part) > MAX_NAME_BYTES:
            return f"has a component longer than a name may be ({MAX_NAME_BYTES} bytes)"
        if reserved_name(part):
            return f"names {part!r}, which belongs to git or gitpipe"
    return None


def _byte_length(text: str) -> int:
    """How many bytes a name takes on disk (UTF-8; a lone surrogate counted too)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def shown(text: object, most: int = 80) -> str:
    """`text` quoted for a message, cut at `most` characters: a record may hold
    a name of any length, and a message never repeats more of it than this."""
    said = quoted(text) if isinstance(text, str) else repr(text)
    return said if len(said) <= most else f"{said[:most]}… ({len(said):,} characters)"


def printable(text: str) -> str:
    """`text` as is when a terminal shows it as plain text, else as `shown`
    quotes and cuts it: a name a remote lists may hold escape sequences, and
    be of any length."""
    return text if shows_as_is(text) and len(text) <= 200 else shown(text)


def terminal_text(text: str) -> str:
    """`text` with every character a terminal would obey or hide written as
    Python escapes it (`\\x1b`, `\\n`, `\\u202e`): a name or value from git
    or a remote is shown, never obeyed (see `shows_as_is`)."""
    if shows_as_is(text):
        return text
    return "".join(c if shows_as_is(c) else repr(c)[1:-1] for c in text)


def terminal_lines(text: str) -> list[str]:
    """`text`'s lines, split at newlines alone, each through `terminal_text`
    (a carriage return or a line separator stays in its line, escaped)."""
    return [terminal_text(line) for line in text.split("\n")]


def reserved_name(part: str) -> bool:
    """Whether a path component names `.git` or `.gitpipe` on some file system."""
    folded = part.translate(_IGNORED_BY_HFS).lower()
    return folded.rstrip(". ") in RESERVED or folded in _SHORT_NAMES


def digest_problem(digest: object, directory: bool | None = None) -> str | None:
    """Why `digest` is not an object name (`xxh3:<32 hex>[.dir]`), or None.
    `directory` asks for a manifest (True) or a file (False) in particular."""
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        return f"{digest!r} is not an object digest"
    if directory is not None and digest.endswith(".dir") != directory:
        return f"{digest!r} is not a {'directory' if directory else 'file'} digest"
    return None


def task_problem(name: object) -> str | None:
    """Why `name` is not a task's name (a stage, or `stage@partition`), or None."""
    if not isinstance(name, str) or not _TASK_NAME.match(name):
        return f"{name!r} is not a stage or task name"
    return None


def fingerprint_problem(fingerprint: object) -> str | None:
    """Why `fingerprint` is not one (`xxh3:` and 32 hex digits), or None."""
    if not isinstance(fingerprint, str) or not _DIGEST.match(fingerprint) \
            or fingerprint.endswith(".dir"):
        return f"fingerprint {fingerprint!r} is not an xxh3 digest"
    return None


def shown_path_problem(path: object) -> str | None:
    """Why `path`, from a record, may not be shown or compared as a path: not
    relative and normal (path_problem), or holding a control character, which
    a terminal would obey."""
    problem = path_problem(path)
    if problem is None and any(ord(c) < 32 or ord(c) == 127 for c in str(path)):
        return "holds a control character"
    return problem


def resolves_inside(root: Path, path: Path) -> bool:
    """Whether `path`, every symlink on it followed, is `root` or lies below it."""
    real_root, real = os.path.realpath(root), os.path.realpath(path)
    return real == real_root or real.startswith(real_root + os.sep)


def written_file_problem(root: Path, target: Path) -> str | None:
    """Why gitpipe may not write a file the user named by `target` (relative to
    the current directory, which may be in a clone's work tree), or None: it is
    a symlink (a clone commits `gitpipe-report.html -> ~/.bashrc`), or it lies
    in the work tree as written but outside it through a symlinked folder."""
    if target.is_symlink():
        return "is a symlink"
    real_root = os.path.realpath(root)
    written = os.path.abspath(target.parent)  # the current directory comes resolved
    inside = written == real_root or written.startswith(real_root + os.sep)
    if inside and not resolves_inside(root, target.parent):
        return "lies outside the repository through a symlinked folder"
    return None


def blocking_parent(root: Path, path: str) -> tuple[str, bool] | None:
    """The first parent of `path` under `root` that is not a real directory, as
    (its relative path, whether it is a symlink); None when every parent is one
    or is absent. Checked with lstat from the root down; the last component may
    be anything (it is replaced, never followed)."""
    current = str(root)
    parents = path.split("/")[:-1]
    for index, part in enumerate(parents):
        current = os.path.join(current, part)
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return None  # nothing below it exists: every parent is made fresh
        if not stat_module.S_ISDIR(mode):
            return "/".join(parents[:index + 1]), stat_module.S_ISLNK(mode)
    return None


def symlink_problem(root: Path, path: str) -> str | None:
    """Why reaching `root/path` would pass a symlink or a non-directory, or None."""
    blocked = blocking_parent(root, path)
    if blocked is None:
        return None
    parent, is_link = blocked
    return (f"passes through the symlink {parent!r}" if is_link
            else f"passes through {parent!r}, which is not a directory")


def out_path(root: Path, path: object, declared: Collection[str], *, record: str,
             source: str) -> Path:
    """`root/path` for an out a record names, once it passes every rule.

    Raises RecordError naming `record` (e.g. "lock entry 'train'") and `source`
    (e.g. "gitpipe.lock", "remote 'store'") when it does not."""
    problem = path_problem(path)
    if problem is None and path not in declared:
        problem = "is not an out gitpipe.yaml declares for it"
    if problem is None:
        assert isinstance(path, str)
        problem = symlink_problem(root, path)
    if problem is not None:
        raise RecordError(f"{source}: {record}: out {path!r} {problem}; nothing was written",
                          hint=RECORD_HINT)
    return root / str(path)



def check_manifest(rows: Any, *, record: str, source: str) -> tuple[ManifestEntry, ...]:
    """The entries of a directory manifest (parsed JSON), once every one passes:
    [relpath, digest, size] rows, relpaths normal and unique, none under another
    entry, symlinks (`link:target`) pointing inside the directory."""
    problem = _manifest_problem(rows)
    if problem is not None:
        raise RecordError(f"{source}: {record}: {problem}; nothing was written", hint=RECORD_HINT)
    return tuple(ManifestEntry(*row) for row in rows)


def _manifest_problem(rows: Any) -> str | None:
    if not isinstance(rows, list):
        return "is not a list of entries"
    for row in rows:
        problem = _entry_problem(row)
        if problem is not None:
            return problem
    return _nesting_problem([row[0] for row in rows])


def _nesting_problem(names: list[str]) -> str | None:
    """A name given twice, or one under another's: the names as a tree of
    components, so the work is linear in their length (joining each parent
    again would be quadratic in a deep path's)."""
    children: dict[tuple[int, str], int] = {}
    entry_at: dict[int, str] = {}  # tree node: the entry that ends there
    for name in names:
        node = 0
        for part in name.split("/"):
            node = children.setdefault((node, part), len(children) + 1)
        if node in entry_at:
            return f"entry {shown(name)} appears twice"
        entry_at[node] = name
    for name in names:
        node = 0
        for part in name.split("/")[:-1]:
            node = children[node, part]
            if node in entry_at:
                return f"entry {shown(name)} lies under entry {shown(entry_at[node])}"
    return None


def _row_problem(row: Any) -> bool:
    """Whether `row` is not `[path, digest, size]`, or that and EXEC for an
    executable file (manifests and run-cache entries share the form)."""
    return (not isinstance(row, list) or len(row) not in (3, 4)
            or not isinstance(row[0], str) or not isinstance(row[1], str)
            or type(row[2]) is not int or row[2] < 0 or row[3:] not in ([], [EXEC]))


def _entry_problem(row: Any) -> str | None:
    if _row_problem(row):
        return f"entry {shown(row)} is not [path, digest, size] (and \"{EXEC}\")"
    relpath, digest = row[0], row[1]
    problem = path_problem(relpath)
    if problem is not None:
        return f"entry {shown(relpath)} {problem}"
    if digest.startswith(LINK_PREFIX):
        return link_problem(relpath, digest.removeprefix(LINK_PREFIX))
    problem = digest_problem(digest, directory=False)
    return f"entry {relpath!r}: {problem}" if problem else None


def link_problem(relpath: str, target: str) -> str | None:
    """A symlink entry may point only inside the directory: leading '..' no
    deeper than its own depth, then plain names. Its parents are real
    directories (no entry lies under a link), so every link resolves inside."""
    if not target or "\0" in target or target.startswith("/"):
        return f"symlink entry {relpath!r} points outside the directory ({target!r})"
    parts = [part for part in target.split("/") if part not in ("", ".")]
    ups = 0
    while ups < len(parts) and parts[ups] == "..":
        ups += 1
    if ".." in parts[ups:] or ups > relpath.count("/"):
        return f"symlink entry {relpath!r} points outside the directory ({target!r})"
    return None


def check_run_entry(rows: Any, declared: Collection[str], *, record: str,
                    source: str) -> list[tuple[str, str, int, bool]]:
    """The (path, digest, size, executable) rows of a run-cache entry, once they
    are well formed and name exactly the task's declared outs."""
    problem = _run_entry_problem(rows, declared)
    if problem is not None:
        raise RecordError(f"{source}: {record}: {problem}; it is ignored")
    return [(row[0], row[1], row[2], row[3:] == [EXEC]) for row in rows]


def _run_entry_problem(rows: Any, declared: Collection[str] | None) -> str | None:
    if not isinstance(rows, list):
        return "is not a list of outs"
    for row in rows:
        if _row_problem(row):
            return f"row {row!r} is not [path, digest, size] (and \"{EXEC}\")"
        problem = path_problem(row[0]) or digest_problem(row[1])
        if problem is not None:
            return f"out {row[0]!r}: {problem}"
    paths = [row[0] for row in rows]
    if len(paths) != len(set(paths)):
        return "names an out twice"
    if declared is not None and set(paths) != set(declared):
        return (f"names outs {sorted(paths)}, not the declared {sorted(declared)}")
    return None


def record_problem(kind: str, rows: Any) -> str | None:
    """What is wrong with a stored record read on its own (for fsck): `kind` is
    'manifest' or 'run'. The declared outs are not known here, only the form."""
    if kind == "manifest":
        return _manifest_problem(rows)
    return _run_entry_problem(rows, None)


def tracked_outs(outs: Iterable[tuple[str, str]], tracked: Sequence[str]) -> list[str]:
    """Problems for outs git tracks: (task, path) each; `tracked` is the sorted
    list of tracked project paths. An out is gitpipe's to replace, so one git
    owns (or a directory holding a tracked file) is refused."""
    problems = []
    for task, path in outs:
        at = bisect_left(tracked, path)
        if at < len(tracked) and tracked[at] == path:
            problems.append(f"stage {task!r}: out {path!r} is tracked by git")
            continue
        below = bisect_left(tracked, path + "/")  # a prefix's paths sort together
        if below < len(tracked) and tracked[below].startswith(path + "/"):
            problems.append(f"stage {task!r}: out {path!r} holds {tracked[below]!r}, "
                            "which git tracks")
    return problems


def refuse_tracked(outs: Iterable[tuple[str, str]], tracked: Sequence[str]) -> None:
    """BadInputError listing every out (task, path) git tracks, before anything runs."""
    problems = tracked_outs(outs, tracked)
    if problems:
        raise BadInputError("outs must not be files git tracks (gitpipe replaces them):\n  "
                            + "\n  ".join(problems[:20]) + "\nnothing was run or written",
                            hint="'git rm --cached' them (gitpipe ignores its outs), or "
                            "declare an out kept in git under 'metrics:'")


# A `python:` dep's module files come from git: a closure may hold this many
# modules, each of this many bytes, before following it stops with an error.
MAX_MODULES = 10_000
MAX_MODULE_BYTES = 8 * 1024 * 1024
_MODULE_DIGEST = re.compile(r"^(xxh3:[0-9a-f]{32}|git:[0-9a-f]{40})$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# A module path every rule below accepts (each component starts with a letter,
# digit or underscore: never '.', '..' or '.git'): most rows, checked at once.
_PLAIN_MODULE = re.compile(r"^(?:[A-Za-z0-9_][A-Za-z0-9_.-]*/)*[A-Za-z0-9_][A-Za-z0-9_.-]*\.py$")
_ROW_KEYS = ({"path", "hash"}, {"path", "hash", "imported_by"})


def module_row_problem(row: object) -> str | None:
    """Why `row` is not a lock's `python:` row ({path, hash, imported_by?}:
    relative `.py` paths without control characters, a file digest), or None."""
    if not isinstance(row, dict) or set(row) not in _ROW_KEYS:
        return f"row {row!r} is not {{path, hash, imported_by}}"
    for key in ("path", "imported_by"):
        value = row.get(key, "x.py")
        if isinstance(value, str) and _PLAIN_MODULE.fullmatch(value):
            continue
        problem = path_problem(value) or (None if isinstance(value, str) and value.endswith(
            ".py") and not _CONTROL.search(value) else "is not a module file's path")
        if problem is not None:
            return f"{key} {value!r} {problem}"
    if not isinstance(row["hash"], str) or not _MODULE_DIGEST.fullmatch(row["hash"]):
        return f"module {row['path']!r}: {row['hash']!r} is not a file digest"
    return None


def module_file_problem(root: Path, path: str, size: int | None = None) -> str | None:
    """Why the module file at `root/path` (found by following imports) may not be
    read, or None: it must stay in the repository through every symlink (checked
    without `size`, before it is hashed) and be of a size a source file has."""
    if size is None:
        inside = resolves_inside(root, root / path)
        return None if inside else "resolves outside the repository (through a symlink)"
    if size > MAX_MODULE_BYTES:
        return (f"is {size:,} bytes, more than the {MAX_MODULE_BYTES:,} a module "
                "followed by python: may have")
    return None

