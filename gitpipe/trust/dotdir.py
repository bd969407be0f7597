"""`.gitpipe/`, checked before gitpipe uses it, and the per-user folder that holds
the caches which steer decisions (parse cache, seals).

`.gitpipe/` lies in the work tree, so what is there may come from someone
else's commit. gitpipe never follows it out of the repository: each part is
lstat-ed once per command, and a part that is a symbolic link, of the wrong
kind, or (for this machine's own state) tracked by git stops the command
before anything is written. Kept free of heavy imports: the seal's fast path
(cli/launch.py) asks it too.
"""

from __future__ import annotations

import os
import stat as stat_module

import xxhash

TYPE_CHECKING = False  # typing itself costs the seal's fast path (see hashing/ignore.py)
if TYPE_CHECKING:
    from collections.abc import Iterable

GITPIPE_DIR = ".gitpipe"
PROJECT_LOCK = "project.lock"  # the one-writer lock and its record (project/projectlock.py)
_DIR, _FILE = "directory", "regular file"
# This machine's own state (what .gitpipe/.gitignore ignores): never committed.
PRIVATE_PARTS = {
    "cache": _DIR, "tmp": _DIR, "logs": _DIR, PROJECT_LOCK: _FILE,
    "state.db": _FILE, "state.db-wal": _FILE, "state.db-shm": _FILE, "state.db-journal": _FILE,
    "config.local.yaml": _FILE,
}
# Meant to be committed, but still read and written in place: never links.
IGNORE_FILE = ".gitignore"
GITPIPE_GITIGNORE = """# written by gitpipe init: per-machine state, never committed
/config.local.yaml
/cache/
/state.db*
/logs/
/project.lock
/tmp/
"""
_OWN_RULES = frozenset(line for line in GITPIPE_GITIGNORE.splitlines() if line.startswith("/"))
_SEAL_READS_RULES = 1 << 12  # gitpipe's own file is a few hundred bytes
SHARED_PARTS = {"config.yaml": _FILE, IGNORE_FILE: _FILE}
STATE_FILES = ("state.db", "state.db-wal", "state.db-shm", "state.db-journal")


def link_problems(root: str, sizes: dict[str, int] | None = None) -> list[str]:
    """What is wrong with `.gitpipe/` and its parts as lstat sees them: a
    symbolic link, or not the kind of file gitpipe keeps there. `sizes`, if
    given, gets the size of each part found (by its name), from the same
    lstat: the seal's fast path asks whether the project lock's record is empty."""
    top = os.path.join(root, GITPIPE_DIR)
    problem = _kind_problem(top, GITPIPE_DIR, _DIR)
    if problem is not None or not os.path.isdir(top):
        return [problem] if problem else []
    if os.path.lexists(os.path.join(top, ".git")):
        # A submodule's or a clone's work tree: the index above holds one entry
        # for it, never the files below, so none of them looks tracked.
        return [f"{GITPIPE_DIR!r} is the work tree of another git repository "
                f"('{GITPIPE_DIR}/.git' exists: a submodule?): what is there comes from "
                f"that repository's commits, and {GITPIPE_DIR}/ holds this machine's own state"]
    found = []
    for name, kind in (PRIVATE_PARTS | SHARED_PARTS).items():
        problem = _kind_problem(os.path.join(top, name), f"{GITPIPE_DIR}/{name}", kind,
                                sizes, name)
        if problem is not None:
            found.append(problem)
    return found


def sent_the_whole_way(root: str, sizes: dict[str, int]) -> bool:
    """Whether a sealed answer must not stand in for the command: `.gitpipe/`
    holds a link or a part of the wrong kind (link_problems, which fills
    `sizes`), or this machine's state is there and its ignore rules are not
    gitpipe's own as read (deleted, emptied, re-included by a pulled commit:
    the seal does not cover them, and the command's check writes them again
    or refuses)."""
    if link_problems(root, sizes):
        return True
    if IGNORE_FILE not in sizes:
        return any(part in sizes for part in PRIVATE_PARTS)
    if sizes[IGNORE_FILE] > _SEAL_READS_RULES:
        return True
    try:
        fd = os.open(os.path.join(root, GITPIPE_DIR, IGNORE_FILE),
                     os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return True
    try:
        return not holds_own_rules(os.read(fd, _SEAL_READS_RULES + 1))
    except OSError:
        return True
    finally:
        os.close(fd)


def holds_own_rules(text: bytes) -> bool:
    """Every rule gitpipe writes is a line of `text`, and no line re-includes
    a path (`!`): the deepest .gitignore decides, so each part is ignored.
    A line is read as git reads it: one carriage return before its newline
    is dropped, never more (`/cache/\\r\\r` is no rule for the folder)."""
    lines = {(line[:-1] if line.endswith(b"\r") else line).decode("utf-8", "replace")
             for line in text.split(b"\n")}
    return lines >= _OWN_RULES and not any(line.startswith("!") for line in lines)


def refuse_links(directory: str, names: tuple[str, ...]) -> None:
    """Raise unless each of `names` in `directory` (a part of .gitpipe/) is
    absent or of its kind: checked again right before a file is opened."""
    for name in names:
        shown = f"{GITPIPE_DIR}/{name}"
        problem = _kind_problem(os.path.join(directory, name), shown, PRIVATE_PARTS[name])
        if problem is not None:
            _raise([problem])


def _kind_problem(path: str, shown: str, kind: str, sizes: dict[str, int] | None = None,
                  name: str = "") -> str | None:
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if sizes is not None:
        sizes[name] = info.st_size
    if stat_module.S_ISLNK(info.st_mode):
        return (f"{shown!r} is a symbolic link (to {os.readlink(path)!r}): gitpipe never "
                f"follows {GITPIPE_DIR}/ out of the repository")
    wanted = stat_module.S_ISDIR if kind == _DIR else stat_module.S_ISREG
    if not wanted(info.st_mode):
        return f"{shown!r} is not a {kind}"
    return None


def check(root: str) -> None:
    """Once per command, before anything is written: `.gitpipe/` holds no link
    and no part of this machine's state that git tracks (whether git would
    ignore them is ignorerules.check's to say). Raises BadInputError."""
    problems = link_problems(root)
    if problems:
        _raise(problems)
    present = os.path.isdir(os.path.join(root, GITPIPE_DIR))
    tracked = tracked_parts(root) if present else {}
    if tracked:
        _raise([f"{path!r} is tracked by git: {GITPIPE_DIR}/{part} is this machine's own "
                "state, never part of a commit" for part, path in tracked.items()],
               hint=_untrack_hint(root, [f"{GITPIPE_DIR}/{part}" for part in tracked]))


def _untrack_hint(root: str, parts: list[str]) -> str:
    """How to take the parts out of git: copies a commit brought are removed
    from the work tree too (kept, they would be believed as this machine's
    own); copies only staged (`git add -A` took the user's own) are unstaged."""
    import subprocess  # only where git tracks a part

    from gitpipe.git.plumbing import ONLY_OWN_REPOSITORY

    git = ["git", *ONLY_OWN_REPOSITORY]
    listed = subprocess.run([*git, "ls-tree", "-r", "--name-only", "HEAD", "--", *parts],
                            cwd=root, capture_output=True, check=False)
    unborn = listed.returncode != 0 and subprocess.run(
        [*git, "rev-parse", "-q", "--verify", "HEAD"], cwd=root, capture_output=True,
        check=False).returncode != 0
    if unborn or (listed.returncode == 0 and not listed.stdout.strip()):
        return (f"they are staged, not committed: unstage them, keeping your copies: git rm -r "
                f"--cached -q -- {' '.join(parts)}")
    return ("remove the committed copies from the index and the work tree, and commit: "
            f"git rm -r -- {' '.join(parts)} (git's history keeps them); gitpipe makes what "
            "it needs there itself")


def _raise(problems: list[str], hint: str = "") -> None:
    from gitpipe.core.errors import BadInputError

    raise BadInputError("\n".join(problems),
                        hint=hint or "remove it (a submodule: git rm, and commit); gitpipe "
                                     f"makes what it needs in {GITPIPE_DIR}/ itself")


def tracked_parts(root: str) -> dict[str, str]:
    """{private part: the first of its paths that git's index holds}.

    The index is read as bytes: where no private part's path occurs in it
    (nearly always), that is the whole answer, without pygit2 or a git
    process. An index git may have split or compressed (version 4) and any
    possible hit are asked of git itself.
    """
    found = index_file(root)
    if found is None:
        return {}
    index, prefix = found
    top = f"{prefix}/{GITPIPE_DIR}/" if prefix else f"{GITPIPE_DIR}/"
    data = None if index is None else _plain_index(index)
    if data is not None and not _mentions_private_part(data, top.encode()):
        return {}
    return _tracked_by_git(root)


# A sparse index marks itself with this empty extension; its folders outside
# the sparse cone are single entries that name none of the files they hold.
_SPARSE_EXTENSION = b"sdir\0\0\0\0"


def _plain_index(index: str) -> bytes | None:
    """The bytes of git's index where every path stands in them whole (versions
    2 and 3, neither split nor sparse); b"" where there is no index (nothing is
    tracked); None where only git can say (compressed, split, sparse,
    unreadable). A file name that happens to hold the sparse marker's bytes
    only sends the question to git."""
    from gitpipe.core.nofollow import regular_file_bytes

    try:
        data = regular_file_bytes(index)
        if data is None:
            return None  # a symlink or a device: git's to read
        split = any(name.startswith("sharedindex.")
                    for name in os.listdir(os.path.dirname(index)))
    except FileNotFoundError:
        return b""
    except OSError:
        return None
    plain = data[:4] == b"DIRC" and data[4:8] in (b"\0\0\0\2", b"\0\0\0\3")
    return data if plain and not split and _SPARSE_EXTENSION not in data else None


_PRIVATE_PREFIXES = tuple(part.encode() for part in PRIVATE_PARTS)


def may_track(root: str, paths: Iterable[str]) -> bool:
    """Whether git's index may hold any of the project `paths`, or a file under
    one: False only where the plain index (read as bytes, as tracked_parts
    reads it) names none of them, so a caller asks git only on a possible hit."""
    found = index_file(root)
    if found is None:
        return False
    index, prefix = found
    data = None if index is None else _plain_index(index)
    if not data:
        return data is None
    from gitpipe.git.indexnames import parse_names

    # git's own reading, the checksum and every entry's layout checked: an
    # index read otherwise than git reads it could hide a name git tracks.
    names = parse_names(data)
    if names is None:
        return True
    folders = {name[:at] for name in names for at, char in enumerate(name) if char == "/"}
    for path in paths:
        name = (f"{prefix}/{path}" if prefix else path).rstrip("/")
        if name in names or name in folders:
            return True
    return False


def _mentions_private_part(data: bytes, top: bytes) -> bool:
    """Whether `top` (the project's `.gitpipe/`) followed by a private part's
    name occurs anywhere in `data`; the committed config and ignore rules,
    the usual hits, are passed over."""
    start = data.find(top)
    while start != -1:
        after = start + len(top)
        if data[after:after + 24].startswith(_PRIVATE_PREFIXES):
            return True
        start = data.find(top, after)
    return False


def _tracked_by_git(root: str) -> dict[str, str]:
    import subprocess  # rarely: kept off the no-op path (it imports selectors, signal)

    from gitpipe.git.plumbing import ONLY_OWN_REPOSITORY

    try:
        done = subprocess.run(["git", *ONLY_OWN_REPOSITORY, "ls-files", "-z", "--cached", "--",
                               GITPIPE_DIR],
                              cwd=root, capture_output=True, check=False)
    except OSError:
        return {}
    if done.returncode != 0:
        # The index names this machine's state and git cannot say whose it is
        # (a repository's own folder a clone committed, which git refuses):
        # nothing of .gitpipe/ is believed.
        from gitpipe.trust.checks import terminal_text

        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        _raise([f"cannot tell whether git tracks this machine's state in {GITPIPE_DIR}/: "
                f"git ls-files failed: {terminal_text(said[0] if said else '')}"],
               hint="run gitpipe in the repository's own work tree")
    parts: dict[str, str] = {}
    for path in done.stdout.decode("utf-8", "surrogateescape").split("\0"):
        part = path.removeprefix(f"{GITPIPE_DIR}/").split("/", 1)[0]
        if path.startswith(f"{GITPIPE_DIR}/") and part in PRIVATE_PARTS:
            parts.setdefault(part, path)
    return parts


def index_file(root: str) -> tuple[str | None, str] | None:
    """(git's index file, or None where only git can say; the project's path in
    the work tree), or None outside any work tree."""
    candidate = root
    while True:
        dotgit = os.path.join(candidate, ".git")
        if os.path.isdir(dotgit) or os.path.isfile(dotgit):
            break
        parent = os.path.dirname(candidate)
        if parent == candidate:
            return (None, "") if "GIT_DIR" in os.environ else None
        candidate = parent
    prefix = os.path.relpath(root, candidate).replace(os.sep, "/")
    prefix = "" if prefix == "." else prefix
    if "GIT_DIR" in os.environ or "GIT_INDEX_FILE" in os.environ:
        return None, prefix
    if os.path.isdir(dotgit):
        return os.path.join(dotgit, "index"), prefix
    try:
        with open(dotgit, encoding="utf-8", errors="replace") as handle:
            text = handle.read().strip()
    except OSError:
        return None, prefix
    if not text.startswith("gitdir:"):
        return None, prefix
    gitdir = os.path.join(candidate, text.removeprefix("gitdir:").strip())
    return os.path.join(gitdir, "index"), prefix


def user_cache_home() -> str:
    """This user's cache folder for gitpipe ($XDG_CACHE_HOME/gitpipe)."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "gitpipe")


def user_cache_location(root: str) -> str | None:
    """Where this user's folder for the caches of the repository at `root` is:
    outside the work tree, keyed by the root's real path and its device and
    inode (a folder moved or made anew starts empty). None inside the
    repository itself (HOME in a work tree: what is there could be committed)."""
    try:
        info = os.stat(root)
        real_root = os.path.realpath(root)
        home = user_cache_home()
        real_home = os.path.realpath(home)
    except OSError:
        return None
    if real_home == real_root or real_home.startswith(real_root.rstrip(os.sep) + os.sep):
        return None
    key = xxhash.xxh3_128_hexdigest(f"{real_root}\0{info.st_dev}\0{info.st_ino}".encode())
    return os.path.join(home, "repos", key)


def user_cache_dir(root: str, create: bool = False) -> str | None:
    """This user's folder for the repository at `root` (see user_cache_location),
    made with mode 0700 if `create`; None where there is none to trust: not a
    directory this user owns, or one others may write to."""
    folder = user_cache_location(root)
    if folder is None:
        return None
    try:
        if create and not os.path.isdir(folder):
            os.makedirs(folder, mode=0o700, exist_ok=True)
        own = os.lstat(folder)
    except OSError:
        return None
    mine = stat_module.S_ISDIR(own.st_mode) and own.st_uid == os.getuid()
    return folder if mine and not own.st_mode & 0o022 else None
