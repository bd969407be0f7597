"""Whether git ignores this machine's state in `.gitpipe/`.

`.gitpipe/.gitignore` is committed, so a clone's may say anything: a pull
request that drops its lines (or adds `!` lines) leaves the user's
`config.local.yaml` (a remote's credentials), the logs (what stages print),
the cache and the state database to the next `git add -A`, into a commit
and a push. The rules gitpipe writes there keep every part out; a file that
holds them all and re-includes nothing is believed as it is read, and any
other is put to git itself (`git check-ignore`), which also weighs the rules
above it. A part git would not ignore stops the command before gitpipe
writes anything there (check, after trust/dotdir.check). A file a pulled
commit deleted is written again where this machine's state is already there.
"""

from __future__ import annotations

import os
from pathlib import Path

from gitpipe.trust.dotdir import (
    GITPIPE_DIR,
    GITPIPE_GITIGNORE,
    IGNORE_FILE,
    PRIVATE_PARTS,
    holds_own_rules,
    index_file,
)

# Written where a pulled commit deleted the rules: this machine's protection,
# not a change to commit, so the file ignores itself (git then also lets a
# commit that brings the file back overwrite it, as it does any ignored file).
RESTORED_GITIGNORE = GITPIPE_GITIGNORE.replace(
    "# written by gitpipe init: per-machine state, never committed\n",
    "# written again by gitpipe: a commit deleted this file; it ignores itself\n") + \
    f"/{IGNORE_FILE}\n"

_MOST_READ = 1 << 20  # a .gitignore of rules is a few KiB; past this, git reads it


def check(root: str) -> None:
    """Once per command, after dotdir.check and before anything is written:
    ignore rules a pulled commit deleted are written again where this
    machine's state is there, and a part git would not ignore (a clone's
    rules may say anything) stops the command. Raises BadInputError."""
    from gitpipe.core.errors import BadInputError

    if not os.path.isdir(os.path.join(root, GITPIPE_DIR)) or index_file(root) is None:
        return  # outside any work tree: nothing to add to a commit
    restore_deleted_rules(root, PRIVATE_PARTS)
    loose = unignored_parts(root, PRIVATE_PARTS)
    if loose:
        raise BadInputError(
            f"git does not ignore {', '.join(f'{GITPIPE_DIR}/{part}' for part in loose)}: "
            f"{GITPIPE_DIR}/{IGNORE_FILE} (or a rule above it) leaves this machine's own state "
            "(config.local.yaml's credentials, the logs, the cache) to the next 'git add -A', "
            "into a commit",
            hint=f"restore {GITPIPE_DIR}/{IGNORE_FILE}: 'gitpipe init' writes gitpipe's rules "
                 "there again (and keeps the config); then commit it")


def unignored_parts(root: str, parts: dict[str, str]) -> list[str]:
    """The parts of `root`'s `.gitpipe/` (`parts`: name -> 'directory' or
    'regular file') that git would not ignore, present or not: gitpipe makes
    them. Nothing where `.gitpipe/.gitignore` is missing: gitpipe writes its
    own before it writes any part (write_missing_rules), and again where a
    part is there already (restore_deleted_rules)."""
    from gitpipe.core.nofollow import FileTooLarge, regular_file_bytes

    top = os.path.join(root, GITPIPE_DIR)
    try:
        text = regular_file_bytes(os.path.join(top, IGNORE_FILE), _MOST_READ)
    except FileNotFoundError:
        return []
    except (OSError, FileTooLarge):
        text = None
    if text is not None and holds_own_rules(text):
        return []
    asked = {name: _asked(top, name, kind) for name, kind in parts.items()}
    matched = _matched_by_git(root, [path for paths in asked.values() for path in paths])
    return [name for name, paths in asked.items() if not _ignored(name, paths, matched)]


def _asked(top: str, name: str, kind: str) -> list[str]:
    """The part as git is asked about it: by its name (a folder that is there
    is seen as one, so a rule for its files alone does not ignore it); a
    folder not yet made also with a trailing '/', where git takes the rule
    for its files (`/logs/*`) as matching it too."""
    path = f".gitpipe/{name}"
    if kind == "directory" and not os.path.isdir(os.path.join(top, name)):
        return [path, path + "/"]
    return [path]


def _ignored(name: str, paths: list[str], matched: dict[str, str]) -> bool:
    """Whether git ignores the part: its name matched by a rule that is not a
    `!`; a folder not yet made by gitpipe's own rule for it (`/logs/`) alone,
    since a rule for its files may be followed by a `!` for some of them."""
    if not matched.get(paths[0], "!").startswith("!"):
        return True
    return len(paths) > 1 and matched.get(paths[1]) == f"/{name}/"


def _matched_by_git(root: str, paths: list[str]) -> dict[str, str]:
    """{path: the rule git matches it with (`!…` where it re-includes it)}."""
    import subprocess  # only where the rules are not gitpipe's own

    from gitpipe.core.errors import BadInputError
    from gitpipe.git.plumbing import ONLY_OWN_REPOSITORY

    try:
        done = subprocess.run(["git", *ONLY_OWN_REPOSITORY, "check-ignore", "-z", "-v", "-n",
                               "--stdin"],
                              cwd=root, input="\0".join(paths).encode(), capture_output=True,
                              check=False)
    except OSError as exc:
        raise BadInputError(f"cannot ask git whether it ignores .gitpipe/: {exc}") from None
    if done.returncode not in (0, 1):
        from gitpipe.trust.checks import terminal_text

        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BadInputError("cannot tell whether git ignores this machine's state in "
                            f".gitpipe/: git check-ignore failed: "
                            f"{terminal_text(said[0] if said else '')}",
                            hint="run gitpipe where git itself runs: in the repository's own "
                                 "work tree, owned by you (or named in git's safe.directory)")
    fields = done.stdout.decode("utf-8", "surrogateescape").split("\0")
    # source, line, rule, path; each empty but the path where nothing matched
    return {fields[at + 3]: fields[at + 2] for at in range(0, len(fields) - 3, 4)
            if fields[at + 2]}


def rules_for_init(gitpipe_dir: Path) -> str:
    """What `gitpipe init` writes to `.gitpipe/.gitignore`: the lines of the
    file there that are not gitpipe's (a team's own), then gitpipe's rules,
    last so that they win over any earlier line that re-includes a part."""
    from gitpipe.core.nofollow import FileTooLarge, regular_file_bytes

    try:
        text = regular_file_bytes(str(gitpipe_dir / IGNORE_FILE), _MOST_READ)
    except (OSError, FileTooLarge):
        text = None
    ours = set(RESTORED_GITIGNORE.splitlines()) | set(GITPIPE_GITIGNORE.splitlines())
    kept = [line for line in (text or b"").decode("utf-8", "replace").splitlines()
            if line.rstrip("\r") not in ours]
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept) + "\n" + GITPIPE_GITIGNORE if kept else GITPIPE_GITIGNORE


def restore_deleted_rules(root: str, parts: dict[str, str]) -> None:
    """Write gitpipe's rules again where `.gitpipe/.gitignore` is missing (a
    pulled commit deleted it) while a part of this machine's state is already
    there that git would not ignore: the next `git add -A` would take
    config.local.yaml's credentials, the cache and the state into a commit.
    Nothing is written where no part is there yet (gitpipe writes the rules
    before its first part) or where rules above already ignore them all;
    where git cannot say, they are written (they only ignore more)."""
    from gitpipe.core.errors import BadInputError

    top = os.path.join(root, GITPIPE_DIR)
    if os.path.lexists(os.path.join(top, IGNORE_FILE)):
        return
    present = [name for name in parts if os.path.lexists(os.path.join(top, name))]
    if not present:
        return
    paths = [f"{GITPIPE_DIR}/{name}" for name in present]
    try:
        matched = _matched_by_git(root, paths)
    except BadInputError:
        matched = {}
    if any(not _ignored(name, [path], matched) for name, path in zip(present, paths, strict=True)):
        _publish(Path(top) / IGNORE_FILE, RESTORED_GITIGNORE)


def write_missing_rules(gitpipe_dir: Path) -> None:
    """Write gitpipe's ignore rules where `.gitpipe/.gitignore` is missing,
    before this machine's state (the cache, config.local.yaml) is written."""
    if gitpipe_dir.is_dir() and not os.path.lexists(gitpipe_dir / IGNORE_FILE):
        _publish(gitpipe_dir / IGNORE_FILE, GITPIPE_GITIGNORE)


def _publish(path: Path, text: str) -> None:
    """Write `text` whole to `path` unless a file is there by then: a rules
    file the user (or git) wrote meanwhile is never replaced."""
    from gitpipe.core.atomicfile import atomic_write
    from gitpipe.core.errors import BadInputError

    try:
        atomic_write(path, text, replace=False)
    except OSError as exc:
        raise BadInputError(f"{GITPIPE_DIR}/{path.name}: cannot write gitpipe's ignore rules: "
                            f"{exc.strerror}",
                            hint=f"make {GITPIPE_DIR}/ writable: without the rules, git would "
                                 "take this machine's state (config.local.yaml's credentials, "
                                 "the cache) into the next 'git add -A'") from None
