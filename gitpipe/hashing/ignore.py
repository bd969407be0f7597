"""`.gitpipeignore`: files a directory dep or out does not count, in gitignore syntax.

The rules in force below a directory are the defaults, then every
`.gitpipeignore` from the project root down to it, then those found inside it
as it is walked; as in git, the last rule that matches decides, `!` takes a
path back, and nothing below an ignored directory is looked at. Every walker
of a directory (statsig.walk_files, the cold scan) asks the same rules, so the
digest, the stat-cache rows, the cache's manifests and the seal agree.
Kept free of heavy imports: the seal's fast path walks directories with it.
"""

from __future__ import annotations

import os
import stat as stat_module

IGNORE_FILE = ".gitpipeignore"
# The name of spec.SPEC_FILE, repeated so that this module imports nothing
# heavy: where no command names its project's root (forget_outer_rules), the
# nearest directory above holding it is taken for the root, where rules stop.
PROJECT_MARKER = "gitpipe.yaml"
# What default_ignored decides, written as rules (a test holds the two together).
DEFAULT_PATTERNS = ("__pycache__/", "*.pyc", ".ipynb_checkpoints/", ".DS_Store")
MAX_BYTES = 1024 * 1024
MAX_PATTERN = 1024
# Every entry of a walk is matched against every rule in force, so a clone's
# file of rules up to MAX_BYTES multiplies the cost of every status by its
# lines, and nested files multiply again. A directory's own rules are a few
# dozen lines.
MAX_RULES = 1000


# Plain tuples, not NamedTuples, and `re` and wildmatch.py imported only where
# a rule is compiled: the seal's fast path imports this module, and they would
# cost it a large part of its time. A Rule is (compiled pattern, negate,
# directory only, anchored: matched against the path from its file's directory,
# else the name); a RuleSet is (rules of one file, prefix, strip): a walked path
# is made relative to the file's directory as `prefix` + its part after `strip`
# characters.
TYPE_CHECKING = False  # typing itself imports re and enum (docs/dev/performance-log.md)
if TYPE_CHECKING:
    from gitpipe.core.errors import IgnoreRulesError
    from gitpipe.hashing.wildmatch import Matcher

    Rule = tuple[Matcher, bool, bool, bool]
    RuleSet = tuple[tuple[Rule, ...], str, int]
    # a file's (inode, mtime_ns, size, ctime_ns), as statsig.FileSignature; None if missing
    Signature = tuple[int, int, int, int] | None


# The last characters of the names the defaults ignore: a walker tests this
# first, so most names cost one comparison.
DEFAULT_LAST = frozenset("ce_s")


def default_ignored(name: str, is_dir: bool) -> bool:
    """The defaults, without a regex: most walks only ever need these."""
    if name.endswith(".pyc") or name == ".DS_Store":
        return True
    return is_dir and name in ("__pycache__", ".ipynb_checkpoints")


def defaults_may_ignore(names: list[str]) -> bool:
    """Whether default_ignored may leave out any of `names` (one directory's):
    False means none of them, so a walker need not ask name by name. One
    search of the names joined by NUL, which no name holds, in place of a test
    per name; a name that only looks like a default (`x.DS_Store`) just sends
    the walker to the test per name."""
    text = "\0".join(names) + "\0"
    return (".pyc\0" in text or ".DS_Store\0" in text or "__pycache__\0" in text
            or ".ipynb_checkpoints\0" in text)


class Ignore:
    """The rules in force in one directory of a walk."""

    def __init__(self, sets: tuple[RuleSet, ...] = (),
                 sources: tuple[tuple[str, Signature], ...] = ()) -> None:
        self.sets = sets
        self.custom = bool(sets)  # False: the defaults alone
        # (path, signature) of each `.gitpipeignore` above the walked directory,
        # as it was when its rules were read; None where there is none
        self.sources = sources

    @classmethod
    def above(cls, directory: str) -> Ignore:
        """The rules of the `.gitpipeignore` files from the project root down to
        `directory`'s parent; none outside a project (see ancestors_in_project)."""
        known = _outer_ignores.get(directory)
        if known is not None:
            return known
        parent = _parent_in_project(directory)
        known = _plain_below.get(parent) if parent is not None else None
        if known is not None:
            return known
        folders = ancestors_in_project(directory)
        outer = _outer_of.get(folders)
        if outer is None:
            outer = _outer_of[folders] = _outer_files(folders)
        rules_above, sources = outer
        sets: tuple[RuleSet, ...] = ()
        if rules_above:
            # the one part that depends on `directory` itself, not on its parents
            sets = tuple((rules, os.path.relpath(directory, folder).replace(os.sep, "/") + "/", 0)
                         for folder, rules in rules_above)
            _refuse_too_many(sets, rules_above[-1][0])
        made = _outer_ignores[directory] = cls(sets, sources)
        if parent is not None and not sets:
            _plain_below[parent] = made
        return made

    def entering(self, directory: str, rel: str, names: list[str]) -> Ignore:
        """The rules for the entries of `directory` (at `rel` in the walk), whose
        names are `names`: its own `.gitpipeignore` joins those above."""
        if IGNORE_FILE not in names:
            return self
        found = _read_rules(directory)
        if not found:
            return self
        sets = (*self.sets, (found, "", len(rel) + 1 if rel else 0))
        _refuse_too_many(sets, directory)
        return Ignore(sets)

    def ignored(self, rel: str, name: str, is_dir: bool) -> bool:
        """Is the entry at `rel` in the walk (its last part `name`) left out?"""
        verdict = default_ignored(name, is_dir)
        if not self.custom:
            return verdict
        for rule_set in self.sets:
            rules, prefix, strip = rule_set
            path = prefix + rel[strip:]
            for regex, negate, dir_only, anchored in rules:
                if dir_only and not is_dir:
                    continue
                if regex.match(path if anchored else name):
                    verdict = not negate
        return verdict


# A `.gitpipeignore` comes from git, so from anyone: it is read only as a
# regular file of its own (a symlink could name a fifo, which blocks a read
# for ever, or a file outside the project), and only so much of it.
_OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK


# Remembered for a command (where a project's root is does not change
# while one runs; forget_outer_rules starts the next): the seal's fast path
# walks many directory deps under one folder, and asks the same question for
# each.
def ancestors_in_project(directory: str) -> tuple[str, ...]:
    """The directories from the project root down to `directory`'s parent, whose
    `.gitpipeignore` files rule over it (the workspace notes each as an input of
    its answer); none outside a project. The root is the one the command named
    (a gitpipe.yaml below it, as in an example folder, does not stop the rules),
    else the nearest directory above holding gitpipe.yaml."""
    known = _ancestors.get(directory)
    if known is None:
        current = directory if _normal_absolute(directory) else os.path.abspath(directory)
        root = (_project_root if _project_root is not None and _within(current, _project_root)
                else None)
        at_root = current == root or (
            root is None and os.path.exists(os.path.join(current, PROJECT_MARKER)))
        known = _ancestors[directory] = () if at_root else (
            _chain(os.path.dirname(current), root) or ())
    return known


def _parent_in_project(directory: str) -> str | None:
    """`directory`'s parent where the rules above `directory` are those of its
    parent's chain alone (a directory below the root the command named, written
    as abspath writes it): its siblings share them. None where that is not known."""
    root = _project_root
    if (root is None or directory == root or not _normal_absolute(directory)
            or not _within(directory, root)):
        return None
    return directory[:directory.rfind("/")]


def _normal_absolute(path: str) -> bool:
    """Whether `path` is what os.path.abspath makes of it already (a few string
    searches; abspath's normpath is a Python loop over the parts, once for every
    directory the seal's fast path walks)."""
    return (path.startswith("/") and "//" not in path and "/./" not in path
            and "/../" not in path and not path.endswith(("/", "/.", "/..")))


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _chain(folder: str, root: str | None) -> tuple[str, ...] | None:
    """The directories from the project root (`root`, else the nearest holding
    gitpipe.yaml) down to `folder`; None outside a project."""
    key = (folder, root)
    if key in _chains:
        return _chains[key]
    if folder == root or (root is None and os.path.exists(os.path.join(folder, PROJECT_MARKER))):
        found: tuple[str, ...] | None = (folder,)
    else:
        parent = os.path.dirname(folder)
        above = None if parent == folder else _chain(parent, root)
        found = None if above is None else (*above, folder)
    _chains[key] = found
    return found


# Plain dicts, not functools' caches: importing functools (and the
# collections it pulls in) is a cost the seal's fast path does not otherwise pay.
_ancestors: dict[str, tuple[str, ...]] = {}
_chains: dict[tuple[str, str | None], tuple[str, ...] | None] = {}


# The root of the project the current command works in, named by
# forget_outer_rules; None: found from gitpipe.yaml (the seal's fast path).
_project_root: str | None = None


def _outer_files(folders: tuple[str, ...]) -> tuple[tuple[tuple[str, tuple[Rule, ...]], ...],
                                                     tuple[tuple[str, Signature], ...]]:
    """For the `.gitpipeignore` files of `folders` (a chain from
    ancestors_in_project): (folder, rules) of those that hold rules, and
    (path, signature) of each (see Ignore.sources)."""
    rules_above = []
    sources = []
    for folder in folders:
        found = _outer_rules.get(folder)
        if found is None:
            found = _outer_rules[folder] = _read_rules_of(folder)
        rules, signature = found
        sources.append((os.path.join(folder, IGNORE_FILE), signature))
        if rules:
            rules_above.append((folder, rules))
    return tuple(rules_above), tuple(sources)


def _read_rules(directory: str) -> tuple[Rule, ...]:
    return _read_rules_of(directory)[0]


def _read_rules_of(directory: str) -> tuple[tuple[Rule, ...], Signature]:
    """The rules of `directory`'s `.gitpipeignore`, and the signature (as
    statsig.file_signature) the file had as they were read: None where there
    is none. A file replaced after the stat is noted by its old signature, so
    the seal never holds on it."""
    path = os.path.join(directory, IGNORE_FILE)
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return (), None
    key = (path, info.st_ino, info.st_mtime_ns, info.st_ctime_ns, info.st_size)
    known = _parsed.get(key)
    if known is None:
        known = _parsed[key] = _read_rules_file(path)
    # Lstat's data is a regular file's own (a link is refused as it is
    # read above), so it is what os.stat gives the seal when it compares
    return known, (info.st_ino, info.st_mtime_ns, info.st_size, info.st_ctime_ns)


# The rules above the directories a command hashes, read once per command
# (forget_outer_rules starts a command): otherwise each such file would be
# stat-ed again for every directory dep the seal's fast path checks.
# A stage that edits a `.gitpipeignore` above another stage's directory dep is
# seen by the next command (the workspace notes each file's signature as it
# was read, so the seal does not hold); those inside a directory are read as it is walked.
_outer_rules: dict[str, tuple[tuple[Rule, ...], Signature]] = {}
_outer_ignores: dict[str, Ignore] = {}
# By parent (see _parent_in_project): the rules above every directory in it,
# where none of the files above holds a rule (sets empty: nothing depends on
# the directory itself). The seal's fast path walks many directory deps in one
# folder.
_plain_below: dict[str, Ignore] = {}
# By the chain of folders above a directory (ancestors_in_project): the many
# directory deps under one folder share one.
_outer_of: dict[tuple[str, ...], tuple[tuple[tuple[str, tuple[Rule, ...]], ...],
                                      tuple[tuple[str, Signature], ...]]] = {}


def outer_rules_read() -> dict[str, Signature]:
    """The signature of each `.gitpipeignore` whose rules this command read for
    the directories above a walk (None: there was none), by path: the rules a
    walk went by, for a process that did not read them (hashing/walkahead.py)."""
    return {os.path.join(folder, IGNORE_FILE): signature
            for folder, (_, signature) in _outer_rules.items()}


def forget_outer_rules(root: str | None = None) -> None:
    """Read the rules above directories afresh from now on (a new command, in
    the project at `root`: the rules above a directory in it start there)."""
    global _project_root
    _project_root = os.path.abspath(root) if root is not None else None
    _outer_rules.clear()
    _outer_ignores.clear()
    _plain_below.clear()
    _outer_of.clear()
    _ancestors.clear()
    _chains.clear()


# The rules of each file by its stat data: a file read once per process, however
# many directories it rules over (a changed file has other stat data).
_parsed: dict[tuple[str, int, int, int, int], tuple[Rule, ...]] = {}


def _read_rules_file(path: str) -> tuple[Rule, ...]:
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return ()
    except OSError as exc:
        raise _unreadable(path, "a symlink" if os.path.islink(path) else exc.strerror) from None
    try:
        if not stat_module.S_ISREG(os.fstat(fd).st_mode):
            raise _unreadable(path, "not a regular file")
        data = os.read(fd, MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise _bad(f"{path}: larger than {MAX_BYTES // 1024} KiB")
    return parse_rules(data.decode("utf-8", "surrogateescape"), path)


def _refuse_too_many(sets: tuple[RuleSet, ...], folder: str) -> None:
    """Raise where more than MAX_RULES rules are in force together, naming
    `folder`'s `.gitpipeignore`, the deepest of them."""
    count = sum(len(rules) for rules, _, _ in sets)
    if count > MAX_RULES:
        raise _bad(f"{os.path.join(folder, IGNORE_FILE)}: {count:,} rules in force with those "
                   f"above it, more than gitpipe matches every file against ({MAX_RULES:,})",
                   hint=_FEWER_RULES)


_FEWER_RULES = ("keep the rules a directory needs; a rule with wildcards (*.tmp, logs/) stands "
                "for many names")


def _bad(message: str, hint: str | None = None) -> IgnoreRulesError:
    from gitpipe.core.errors import IgnoreRulesError  # only when failing: see TYPE_CHECKING

    return IgnoreRulesError(message, hint=hint)


def _unreadable(path: str, why: str | None) -> IgnoreRulesError:
    return _bad(f"{path}: cannot be read as ignore rules ({why})",
                         hint=f"make {IGNORE_FILE} a plain text file, or remove it")


def parse_rules(text: str, source: str) -> tuple[Rule, ...]:
    """The rules of a `.gitpipeignore` text; IgnoreRulesError naming `source` and the line.
    Lines end at a newline alone, as git's do (one carriage return before it
    is the line's end, `_rule`; a byte-order mark before the first line is
    none of it): `str.splitlines` also breaks at `\\x1c` or
    U+2028, where git, an editor and a reviewer see one comment."""
    rules = []
    for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), 1):
        rule = _rule(line, f"{source}:{number}")
        if rule is not None:
            rules.append(rule)
            if len(rules) > MAX_RULES:  # before compiling the rest
                raise _bad(f"{source}: more than {MAX_RULES:,} rules (line {number})",
                           hint=_FEWER_RULES)
    return tuple(rules)


def _rule(line: str, where: str) -> Rule | None:
    from gitpipe.hashing.ignorelines import pattern_text  # with the rest of a parse's imports

    pattern = pattern_text(line)
    if pattern is None:
        return None
    if len(pattern) > MAX_PATTERN:
        raise _bad(f"{where}: pattern longer than {MAX_PATTERN} characters")
    negate = pattern.startswith("!")
    if negate or pattern.startswith("\\!") or pattern.startswith("\\#"):
        pattern = pattern[1:]
    dir_only = pattern.endswith("/")
    pattern = pattern.removesuffix("/")  # one, as git: `a//` matches no name
    anchored = "/" in pattern
    pattern = pattern.removeprefix("/")
    if not pattern:
        return None
    import re  # here, not above: see the note on Rule

    from gitpipe.hashing.wildmatch import MAX_DOUBLE_STARS, compile_pattern

    if pattern.count("**") > MAX_DOUBLE_STARS:
        raise _bad(f"{where}: more than {MAX_DOUBLE_STARS} '**' in one pattern")
    try:
        regex = compile_pattern(pattern)
    except re.error:
        return None  # git's wildmatch gives up on such a pattern: it matches nothing
    return (regex, negate, dir_only, anchored)
