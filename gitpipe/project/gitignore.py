"""The root .gitignore lines for cached outs: what `init` and `repro` add.

A partitioned out is ignored by a pattern of its values' shape and a foreach
or matrix out by its exact names, so a rule never hides a file of the user's
beside them (a hand-made `data/raw/lookup.csv`).
"""

from __future__ import annotations

import os
from pathlib import Path

from gitpipe.pipeline.model import Pipeline

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from gitpipe.core.errors import BadInputError
    from gitpipe.git.repo import GitRepo


# The most of a .gitignore gitpipe reads, as of the repository's other files
# (core/yamlio.py): a clone's .gitignore of newlines, a few hundred KiB packed,
# took gigabytes of memory to read whole line by line.
MAX_BYTES = 16 * 1024 * 1024


def ensure_ignored(root: Path, paths: list[str]) -> list[str]:
    """Add `/path` lines for cached outs to the root .gitignore; returns what was added.

    The file is kept byte for byte (the user's lines, their order, repeats,
    blank lines and encoding: in a .gitignore the last matching line decides,
    so dropping a repeated line can take a file back out of it) and only split
    at newlines, as git splits it. A partitioned out's line as gitpipe wrote
    it before (`/data/raw/*.csv`, which hides every other file there too) is
    replaced by its exact pattern where it stands, unless that would take a
    file there now back out of .gitignore."""
    from gitpipe.core.atomicfile import atomic_write

    for path in paths:
        _refuse_line_break(path, f"{path!r}")
    ignore = root / ".gitignore"
    lines = read_ignore_file(ignore).decode("utf-8", "surrogateescape").split("\n")
    rules = {line.removesuffix("\r") for line in lines}
    loose = {line: exact for line, exact in
             ((_loose_pattern(path), f"/{path}") for path in paths if "[0-9]" in path)
             if line in rules and not _unhides(root, line, exact)}
    kept: list[str] = []
    present: set[str] = set()
    for line in lines:
        rule = line.removesuffix("\r")
        exact = loose.get(rule)
        if exact is not None and exact in present:
            continue  # an old line whose exact pattern stands above
        kept.append(line if exact is None else exact + line[len(rule):])
        present.add(rule if exact is None else exact)
    wanted = [f"/{path}" for path in dict.fromkeys(paths) if f"/{path}" not in present]
    if not wanted and kept == lines:
        return []
    text = "\n".join(kept)
    if wanted:
        text += ("\n" if text and not text.endswith("\n") else "") + "\n".join(wanted) + "\n"
    atomic_write(ignore, text.encode("utf-8", "surrogateescape"))
    return wanted


def drop_ignored(root: Path, paths: list[str]) -> list[str]:
    """Remove the `/path` lines `ensure_ignored` wrote for `paths` from the
    root .gitignore (every repeat of each, the user's other lines byte for
    byte); returns the lines removed."""
    from gitpipe.core.atomicfile import atomic_write

    ignore = root / ".gitignore"
    gone = {f"/{path}" for path in paths}
    lines = read_ignore_file(ignore).decode("utf-8", "surrogateescape").split("\n")
    kept = [line for line in lines if line.removesuffix("\r") not in gone]
    if len(kept) == len(lines):
        return []
    removed = [line.removesuffix("\r") for line in lines if line.removesuffix("\r") in gone]
    atomic_write(ignore, "\n".join(kept).encode("utf-8", "surrogateescape"))
    return list(dict.fromkeys(removed))


def read_ignore_file(ignore: Path) -> bytes:
    """The bytes of the root .gitignore (none where there is none), read only
    where it is a regular file of at most MAX_BYTES; BadInputError naming it
    otherwise. Read through a link, the file it names (outside, perhaps a key)
    would be copied into the work tree; git does not follow such a link
    either. A fifo would be waited on for ever, a directory is no rules."""
    import stat

    from gitpipe.core.errors import BadInputError

    try:
        fd = os.open(ignore, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return b""
    except OSError as exc:
        if ignore.is_symlink():
            raise BadInputError("'.gitignore' is a symbolic link: gitpipe neither reads nor "
                                "replaces it (git does not follow it either)",
                                hint="make .gitignore a plain file, and commit it") from None
        raise BadInputError(f"'.gitignore' cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise BadInputError("'.gitignore' is not a regular file (a directory, a fifo or a "
                            "device): gitpipe adds the outs' lines to a plain file only",
                            hint="make .gitignore a plain file, and commit it")
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise BadInputError(f"'.gitignore' is larger than gitpipe reads "
                            f"({MAX_BYTES // (1024 * 1024)} MiB)",
                            hint="a .gitignore of ignore rules is a few KiB: shorten it")
    return data


def _refuse_line_break(path: str, what: str) -> None:
    """Refuse a path no .gitignore line can name: git reads what follows a
    newline as a rule of its own (`out\\n!/.env` takes `.env` back out of it),
    and a carriage return before one as the line's end."""
    if "\n" in path or "\r" in path:
        from gitpipe.core.errors import BadInputError

        raise BadInputError(f"{what} holds a line break, which no .gitignore line can "
                            "hold: git would read what follows it as a rule of its own",
                            hint="name the out without a newline or carriage return")


def ignore_outs_if_parsed(root: Path, parse: Callable[[], Pipeline]) -> BadInputError | None:
    """`init`'s lines for the cached outs, if gitpipe.yaml parses yet: as `dvc
    init` reads no dvc.yaml, a spec being written is no reason to refuse (the
    first repro adds them); else why it does not parse."""
    from gitpipe.core.errors import BadInputError

    try:
        pipeline = parse()
    except BadInputError as problem:
        return problem
    ensure_ignored(root, cached_out_paths(pipeline))
    return None


def ignore_generated(root: Path, git: GitRepo, target: Path) -> str | None:
    """Add `target` (a page gitpipe generates in the work tree, not a source)
    to the root .gitignore, unless it lies outside the project or git ignores
    it already; returns the line added. Nothing where the page may not be
    written (a link a clone committed under its name: its target is no page,
    and would be hidden from git)."""
    from gitpipe.pipeline.partitions import ignore_pattern
    from gitpipe.trust.checks import written_file_problem

    if written_file_problem(root, target) is not None:
        return None
    try:
        rel = Path(os.path.realpath(target)).relative_to(os.path.realpath(root)).as_posix()
    except ValueError:
        return None
    if "\n" in rel or "\r" in rel:
        return None  # no line can name it (ensure_ignored)
    if git.repo.path_is_ignored(git.git_path(rel)):
        return None
    added = ensure_ignored(root, [ignore_pattern(rel, None)])
    return added[0] if added else None


def _unhides(root: Path, loose: str, exact: str) -> bool:
    """Whether replacing the line `loose` by `exact` would take a file or
    folder that is there now back out of .gitignore. An older gitpipe's line
    for `${date}.env` reads `/*.env`, as a clone's own rule does: replaced, the
    user's `prod.env` beside it was taken by the next `git add -A`. The walk
    enters real folders only, as git does: a link is a file of its own to git,
    and followed (`l -> .`, `l -> /`) a clone's links made each `*` of the line
    list the tree again, for ever in effect."""
    from gitpipe.hashing.wildmatch import compile_pattern

    if "**" in loose or loose.endswith(" "):
        # `**` spans any depth of folders, and git drops a line's trailing
        # spaces (`/*.env ` hides `prod.env`): neither is what is looked for here
        return True
    found: list[str] = [""]
    matched: list[str] = []
    for segment in loose[1:].split("/"):
        pattern = compile_pattern(segment)
        below: list[tuple[str, bool]] = []
        for folder in found:
            try:
                with os.scandir(root / folder if folder else root) as entries:
                    below += [(f"{folder}{entry.name}", entry.is_dir(follow_symlinks=False))
                              for entry in entries if pattern.fullmatch(entry.name)]
            except OSError:
                continue
        found = [f"{path}/" for path, real_folder in below if real_folder]
        matched = [path for path, _ in below]
    narrow = compile_pattern(exact[1:])
    return any(not narrow.fullmatch(path) for path in matched)


def _loose_pattern(pattern: str) -> str:
    """The line gitpipe wrote before for the out an exact pattern stands for:
    every `${…}` as `*`, the path's own glob characters unescaped."""
    import re

    from gitpipe.pipeline.partitions import VALUE_SHAPES

    for shape in VALUE_SHAPES:
        pattern = pattern.replace(shape, "\0")
    return "/" + re.sub(r"\\([\\*?\[])", r"\1", pattern).replace("\0", "*")


def cached_out_paths(pipeline: Pipeline) -> list[str]:
    """Ignore patterns for cached outs: a partitioned out's `${…}` as a digit
    glob of its value's shape, so the rule matches the partitions' files only;
    a foreach or matrix stage's outs by the exact names its items give them."""
    from gitpipe.pipeline.model import partition_task
    from gitpipe.pipeline.partitions import PartitionSpec, ignore_pattern

    patterns = []
    for stage in pipeline.stages:
        spec = stage.partition
        if spec is None or isinstance(spec, PartitionSpec):
            freq = spec.freq if spec is not None else None
            outs = [(stage.name, out.path, freq) for out in stage.outs if out.cache]
        else:
            tasks = [partition_task(stage, key)
                     for key in spec.keys()]  # noqa: SIM118 - an ItemSpec, not a dict
            outs = [(task.name, out.path, None) for task in tasks for out in task.outs
                    if out.cache]
        for name, path, freq in outs:
            _refuse_line_break(path, f"gitpipe.yaml: stage {name!r}: out {path!r}")
            patterns.append(ignore_pattern(path, freq))
    return patterns
