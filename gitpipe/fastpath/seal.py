"""The no-op seal: an answer of `status` or `repro` that found nothing to do,
remembered with the stat signature of everything the answer depended on.

Run again with every signature unchanged, the same command prints the same
answer from stat calls alone, before click or the engine is imported: what
make does with mtimes, and the only way for a Python tool to answer faster
than its own imports. Anything else falls through to the full path, which
judges again and seals its answer anew: other arguments, a changed dep, out,
spec, params or lock file, another gitpipe, another day (dated partitions),
other GIT_*/GITPIPE_* variables, a malformed seal, a stage running (the
project lock's record names it: noop.stages_running).

With the file-system monitor running (`gitpipe monitor start`), a seal the
monitor vouches for is replayed without those stat calls: fastpath/sealwatch.py.

A seal is written (fastpath/sealsettle.py) only when every input's mtime is
older than the run by RACY_NS (git's racy rule): an input changed during the
run, or within the mtime granularity before it, cannot be recognized by its
stat data.

Trust: a seal decides what status prints, so it lives where only this user
writes, never in the work tree: this user's cache folder for the repository
(dotdir.user_cache_dir, mode 0700). A seal that came with a commit or an
archive is never read. A `.gitpipe/` holding a link is not answered here:
the full path refuses it, naming the link."""

from __future__ import annotations

import os
import stat as stat_module
import time

import xxhash

from gitpipe import __version__
from gitpipe.fastpath.noop import stages_running
from gitpipe.fastpath.sealdirs import Records, held_at, listing
from gitpipe.fastpath.sealdirs import read as read_records
from gitpipe.fastpath.sealdirs import write as write_records
from gitpipe.fastpath.sealwatch import (
    NO_MONITOR,
    NOT_VOUCHABLE,
    TRACE,
    held_before,
    rearm,
    token_now,
)
from gitpipe.hashing.ignore import forget_outer_rules, outer_rules_read
from gitpipe.hashing.statsig import (
    FOLDER_FLAGS,
    Signature,
    StructError,
    index_signature,
    pack_numbers,
    path_signature,
)
from gitpipe.trust.dotdir import sent_the_whole_way, user_cache_dir, user_cache_location

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpipe.fastpath.brokenseal import Checked
    from gitpipe.hashing.walkahead import WalkedBefore

# The file is NUL-separated strings, not JSON: importing json (re, enum) or
# typing would each be a large part of the whole fast path. NUL is the one
# character no path, variable or output line here can hold. The magic, the
# count of paths, the monitor's token (fastpath/sealwatch.py), the count of
# context fields, the context, the answer and the paths are text;
# after them come the signatures of every path in the same order, packed as
# five 64-bit numbers a path (see _flat): a check packs what it finds and
# compares one bytes object, with no number formatted or parsed per path.
MAGIC = "gitpipe-noop-seal/4"
MISSING = "-"
# What a path is, the first of its five numbers (a file's and a listing's own are four)
_GONE, _FILE, _LISTING = 0, 1, 2
_BYTES_PER_PATH = 5 * 8
_MAGIC = MAGIC.encode()
# A seal of many paths (a large pipeline: each directory dep is a walk of its
# files) is checked in one process per CPU, each a share of the paths, when
# every share holds at least this many: fewer cost more to fork than to check.
PATHS_PER_WORKER = 1024


def answer(command: str, root: str | None = None) -> str | None:
    """The sealed output of `command` (noop.command_of) if its seal holds; None: not."""
    return check(command, root)[0]


def check(command: str, root: str | None = None) -> tuple[str | None, WalkedBefore | None]:
    """(answer(command, root); and where the seal did not hold after its
    directories were walked, those walks: the status that follows takes their
    listings in place of walking them again, hashing/walkahead.py)."""
    if os.environ.get("GITPIPE_NO_SEAL"):
        return None, None
    root = root or os.getcwd()
    folder = user_cache_dir(root)
    sizes: dict[str, int] = {}
    if folder is None or sent_the_whole_way(root, sizes) or stages_running(root, sizes):
        return None, None
    path = os.path.join(folder, seal_name(command))
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        head = _head(data)
    except (OSError, ValueError, IndexError):
        data, head = b"", None
    # Asked before anything is judged: the token a seal this command writes
    # records (and the paths changed since the seal's own token, if it has one).
    token, changed = token_now(folder, None if head is None else head[0])
    if head is None:
        return None, None
    try:
        field, token_at, known, text = head
        here = context(root)
        if here[3] == MISSING or known != here:
            return None, None
        if held_before(field, token):
            return text, None
        sealed = parse(data)
        if sealed is None:
            return None, None
        _, _, numbers, paths = sealed
        forget_outer_rules(root)  # directory listings take their rules from this root
        if not paths:
            return None, None
        if changed is not None and token is not None:
            from gitpipe.fastpath.sealpaths import replay

            held, walked = replay(root, path, data, token_at, token, (paths, numbers), changed,
                                  _check_share, write_seal)
            return (text if held else None), walked
        walked = _changes(root, paths, numbers, path, here[0])
    except (OSError, ValueError, IndexError, StructError):
        return None, None
    if walked is not None:
        return None, walked
    if token is not None and field != NOT_VOUCHABLE:
        rearm(path, data, token_at, token, root, paths, write_seal)
    return text, None


def _head(data: bytes) -> tuple[str, tuple[int, int], list[str], str] | None:
    """A seal's token field, where it lies in `data`, its context and its
    answer, without reading its paths; None if it is not a seal of this format."""
    fields: list[str] = []
    at = 0
    count = None
    token_at = (0, 0)
    while count is None or len(fields) < 5 + count:
        end = data.find(b"\0", at)
        if end < 0:
            return None
        fields.append(data[at:end].decode("utf-8", "surrogateescape"))
        if len(fields) == 3:
            token_at = (at, end)
        if len(fields) == 4:
            count = int(fields[3])
        at = end + 1
    if fields[0] != MAGIC:
        return None
    return fields[2], token_at, fields[4:-1], fields[-1]


def parse(data: bytes) -> tuple[list[str], str, bytes, list[str]] | None:
    """A seal file's (context, answer, packed signatures, paths); None if it is
    not a seal of this format."""
    first = data.find(b"\0")
    second = data.find(b"\0", first + 1)
    if data[:first] != _MAGIC or second < 0:
        return None
    paths_count = int(data[first + 1:second])
    numbers_at = len(data) - paths_count * _BYTES_PER_PATH
    if numbers_at <= second:
        return None
    fields = data[second + 1:numbers_at].decode("utf-8", "surrogateescape").split("\0")
    count = int(fields[1])
    if len(fields) != 4 + count + paths_count or fields[-1]:
        return None
    return fields[2:2 + count], fields[2 + count], data[numbers_at:], fields[3 + count:-1]


def compose(known: list[str], text: str, found: dict[str, Signature],
            token: str = NOT_VOUCHABLE) -> bytes | None:
    """A seal: `text` answers while the context is `known` and every path of
    `found` has its signature (as seal.signature gives it); `token`: the
    monitor's token it is valid from (fastpath/sealwatch.py). None where a
    field would hold a NUL, a path is not relative, or a number does not pack."""
    paths = list(found)
    numbers: list[int] = []
    for sig in found.values():
        flat = _flat(sig)
        if len(flat) != 5:
            return None
        numbers += flat
    try:
        packed = pack_numbers(numbers)
    except StructError:
        return None
    fields = [MAGIC, str(len(paths)), token, str(len(known)), *known, text, *paths, ""]
    if any("\0" in field for field in fields) or any(os.path.isabs(p) for p in paths):
        return None
    return "\0".join(fields).encode("utf-8", "surrogateescape") + packed


def _flat(sig: Signature) -> list[int]:
    """A signature as the five numbers a check packs: its kind, then its own four."""
    if sig is None:
        return [_GONE, 0, 0, 0, 0]
    flat = [_LISTING, *sig[1:]] if sig[0] == "dir" else [_FILE, *sig]
    return flat  # type: ignore[return-value]  # not numbers: pack_numbers refuses them


def write_seal(path: str, sealed: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "wb") as handle:
            handle.write(sealed)
        os.replace(temporary, path)  # no fsync: a torn seal is malformed, so merely unused
    except OSError:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def seal_path(root: str, command: str) -> str | None:
    """Where `command`'s seal for the project at `root` is kept (see Trust above);
    None where this user has no folder for it."""
    folder = user_cache_location(root)
    return None if folder is None else os.path.join(folder, seal_name(command))


def seal_name(command: str) -> str:
    return f"noop-{command}.seal"


def context(root: str) -> list[str]:
    """What an answer depends on besides files: the code, the day, the environment."""
    # A secret (GITPIPE_CACHE_KEY, say) never reaches the seal: no answer depends on it.
    env = sorted(f"{k}={v}" for k, v in os.environ.items()
                 if k.startswith(("GIT_", "GITPIPE_"))
                 and k not in ("GITPIPE_NO_SEAL", NO_MONITOR, TRACE))
    if env:  # its module only where a variable is there to ask about
        from gitpipe.core.secretnames import secret_name

        env = [line for line in env if not secret_name(line.partition("=")[0])]
    return [code_signature(), root, os.environ.get("GITPIPE_TODAY") or time.strftime("%Y-%m-%d"),
            _git_state(root), *env]


def _git_state(root: str) -> str:
    """"git" where the work tree's own index is in use, else MISSING (never sealed).

    The index's contents are not part of a seal: a no-op verdict never depends
    on them (every dep is hashed by the algorithm its lock entry names, see
    staleness.observe), so a commit or `git add` of another file keeps the
    seal. With GIT_DIR or GIT_INDEX_FILE set (a git hook), or no .git found,
    nothing is sealed or replayed, as before.
    """
    return "git" if index_signature(root) is not None else MISSING


def signature(root: str, path: str) -> Signature:
    """A project path's signature as Workspace.info and statsig.read_noted take it."""
    return path_signature(os.path.join(root, path))


def _changes(root: str, paths: list[str], numbers: bytes, seal_file: str,
             code: str) -> WalkedBefore | None:
    """None if every path of `paths` still has the signature `numbers` holds
    for it; else the directories walked to find out. `code`: code_signature().

    A stat per file; per directory its record's stats (fastpath/sealdirs.py), or a stat and
    a walk. A large seal is shared out among forked processes, each cutting its share out
    (hashing/forkmap.py: one that fails is checked here), as git's preloaded index shares
    its lstats."""
    records, workers = read_records(seal_file, root, code), 1
    if len(paths) >= 2 * PATHS_PER_WORKER:
        from gitpipe.hashing.forkmap import fork_map, usable_workers

        workers = usable_workers(len(paths), PATHS_PER_WORKER)
    if workers == 1:
        checked = [(_check_share(root, paths, numbers, records), records.taken)]
    else:
        checked = fork_map(lambda worker: (_check_share(root, *_share(
            paths, numbers, worker, workers), records), records.taken), range(workers))
    if all(found is None for (found, _, _), _ in checked):
        if any(taken for _, taken in checked):
            write_records(seal_file, records, paths, [taken for _, taken in checked], write_seal)
        return None
    from gitpipe.fastpath.brokenseal import walked_before

    shares = [_share(paths, numbers, worker, workers) for worker in range(workers)]
    return walked_before(shares, [share for share, _ in checked], _LISTING)


def _share(paths: list[str], numbers: bytes, worker: int, workers: int) -> tuple[list[str], bytes]:
    """Process `worker`'s paths and sealed numbers: interleaved (directories come in clusters)."""
    step = _BYTES_PER_PATH
    return paths[worker::workers], b"".join([numbers[i * step:(i + 1) * step]
                                             for i in range(worker, len(paths), workers)])


def _check_share(root: str, paths: list[str], numbers: bytes,
                 records: Records | None = None) -> Checked:
    """(None if every path holds, else the numbers found for them; how many
    files each directory met lists, in order; the rules they were walked by)."""
    found, files = list[int](), list[int]()
    add, count, stat = found.extend, files.append, os.stat
    known = Records() if records is None else records
    top = os.open(root, FOLDER_FLAGS)  # stats from it: no path walked again per input
    try:
        for at, path in enumerate(paths):  # relative, as compose made sure
            sealed = numbers[at * _BYTES_PER_PATH:(at + 1) * _BYTES_PER_PATH]
            found_dir = held_at(known, root, top, path, sealed)  # opened, not stat-ed first
            if found_dir is None:
                try:
                    info = stat(path, dir_fd=top)
                except (FileNotFoundError, NotADirectoryError):
                    add((_GONE, 0, 0, 0, 0))
                    continue
                if info.st_mode & _TYPE_BITS != _DIRECTORY:
                    add((_FILE, info.st_ino, info.st_mtime_ns, info.st_size, info.st_ctime_ns))
                    continue
                found_dir = listing(known, root, path, sealed)
            add(found_dir[0])
            count(found_dir[1])
    finally:
        os.close(top)
    held = pack_numbers(found) == numbers
    return None if held else found, files, outer_rules_read()


_TYPE_BITS, _DIRECTORY = 0o170000, stat_module.S_IFDIR


def code_signature() -> str:
    """gitpipe's version and the stat data of its modules: a seal written by
    other code (an upgrade, an edited checkout) is never replayed."""
    hasher = xxhash.xxh3_64()
    folders = [os.path.dirname(os.path.dirname(__file__))]  # the whole package
    for folder in folders:
        modules: list[str] = []
        numbers: list[int] = []
        held = os.open(folder, FOLDER_FLAGS)  # each name stat-ed from it
        try:
            for name in sorted(os.listdir(folder)):
                if name.endswith(".py"):
                    modules.append(name)
                    info = os.stat(name, dir_fd=held)
                    numbers += (info.st_ino, info.st_mtime_ns, info.st_size, info.st_ctime_ns)
                elif name != "__pycache__" and _is_folder(name, held):
                    folders.append(f"{folder}/{name}")
        finally:
            os.close(held)
        hasher.update("\0".join([folder, *modules]).encode("utf-8", "surrogateescape"))
        hasher.update(pack_numbers(numbers))
    return f"{__version__} {hasher.hexdigest()}"


def _is_folder(name: str, folder: int) -> bool:
    try:
        return stat_module.S_ISDIR(os.stat(name, dir_fd=folder).st_mode)
    except OSError:
        return False
