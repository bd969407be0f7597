"""The root .gitignore lines for cached outs: what `init` and `repro` add.

A partitioned out is ignored by a pattern of its values' shape and a foreach
or matrix out by its exact names, so a rule never hides a file of the user's
beside them (a hand-made `data/raw/lookup.csv`).
"""

from __future__ import annotations

import os
from pathlib import Path

from gitpipe.pipeline import lockfile
from gitpipe.pipeline.model import Pipeline

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from gitpipe.core.errors import BadInputError
    from gitpipe.git.repo import GitRepo


def ensure_ignored(root: Path, paths: list[str]) -> list[str]:
    """Add `/path` lines for cached outs to the root .gitignore; returns what was added.

    A partitioned out's line as gitpipe wrote it before (`/data/raw/*.csv`,
    which hides every other file there too) is replaced by its exact pattern
    where it stands."""
    ignore = root / ".gitignore"
    if ignore.is_symlink():
        # Read through, the file it names (outside, perhaps a key) would be
        # copied into the work tree; git does not follow such a link either.
        from gitpipe.core.errors import BadInputError

        raise BadInputError("'.gitignore' is a symbolic link: gitpipe neither reads nor "
                            "replaces it (git does not follow it either)",
                            hint="make .gitignore a plain file, and commit it")
    existing = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    loose = {_loose_pattern(path): f"/{path}" for path in paths if "[0-9]" in path}
    updated = [loose.get(line, line) for line in existing]
    wanted = [f"/{path}" for path in dict.fromkeys(paths) if f"/{path}" not in updated]
    if wanted or updated != existing:
        text = "\n".join(list(dict.fromkeys(updated)) + wanted) + "\n"
        lockfile.atomic_write(ignore, text)
    return wanted


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
    it already; returns the line added."""
    from gitpipe.pipeline.partitions import ignore_pattern

    try:
        rel = Path(os.path.realpath(target)).relative_to(os.path.realpath(root)).as_posix()
    except ValueError:
        return None
    if git.repo.path_is_ignored(git.git_path(rel)):
        return None
    added = ensure_ignored(root, [ignore_pattern(rel, None)])
    return added[0] if added else None


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
            patterns += [ignore_pattern(out.path, freq) for out in stage.outs if out.cache]
            continue
        for key in spec.keys():  # noqa: SIM118 - an ItemSpec, not a dict
            patterns += [ignore_pattern(out.path, None)
                         for out in partition_task(stage, key).outs if out.cache]
    return patterns
