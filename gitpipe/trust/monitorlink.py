"""The file-system monitor's socket (`gitpipe monitor`), as its clients reach
it: where it lives, who may answer on it, and the two questions the no-op
seal's check asks (sync: "what is your token, once you have seen every
change made before this question?"; changes: "...and which paths changed
since this older token?", `changes/1`: a versioned question and answer, so
a monitor or client of another version never reads one as the other's).

Trust: the socket lives in this user's cache folder for the repository
(dotdir.user_cache_dir: mode 0700, owned by this user), never in the work
tree, so nothing a clone brings can stand in for it. A client answers
nothing from it unless the socket file is a socket this user owns and, where
the kernel says who is at the other end (SO_PEERCRED), the peer runs as this
user too. Any doubt, error or slow answer is "no monitor": the caller then
checks every input with stat calls, as without one.

Kept free of heavy imports: the seal's check asks it before anything else is
loaded (`_socket`, not `socket`, which costs many times as much to import).
"""

from __future__ import annotations

import os
from struct import calcsize, unpack

SOCKET_NAME = "monitor.sock"
LOCK_NAME = "monitor.lock"
LOG_NAME = "monitor.log"
# How long a client waits for the monitor's answer before it checks every
# input itself: a monitor that is alive answers within one pass of its
# event loop.
ANSWER_TIMEOUT = 3.0
SYNC, STATUS, STOP = b"sync\n", b"status\n", b"stop\n"
# The question for the paths changed since a token, and its answer's first
# word: `changes/1 INSTANCE GENERATION`, answered `changes/1 INSTANCE
# GENERATION N` and N bytes of paths, each ended by a NUL (or `... unknown`:
# the monitor cannot name them). A monitor that does not know it answers
# `error unknown request`: the client asks a plain sync then.
CHANGES_REPLY = "changes/1"
UNKNOWN = "unknown"
UNKNOWN_REQUEST = "error unknown request"
# The most bytes of paths an answer holds (the monitor's journal keeps no more).
CHANGES_BYTES = 1 << 20
_SOCKET_TYPE, _TYPE_BITS = 0o140000, 0o170000
_UCRED = "=iII"  # struct ucred: pid, uid, gid


def socket_path(folder: str) -> str:
    return os.path.join(folder, SOCKET_NAME)


def address(folder: str) -> tuple[str, int | None]:
    """(The address to bind or connect to for the socket in `folder`, a
    descriptor of `folder` to close after that or None). A Unix socket's
    address holds at most 107 bytes; a longer path is reached through the
    folder's descriptor (/proc/self/fd: the monitor is Linux's alone)."""
    path = socket_path(folder)
    if len(os.fsencode(path)) < 100:
        return path, None
    held = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    return f"/proc/self/fd/{held}/{SOCKET_NAME}", held


def sync(folder: str) -> str | None:
    """The monitor's token ("instance:generation") as of this call: every
    change made in the work tree before it has been counted. None where no
    trusted monitor answered, or it cannot vouch for the tree (blind)."""
    reply = ask(folder, SYNC)
    if reply is None:
        return None
    words = reply.split()
    if len(words) != 3 or words[0] != "ok" or not words[2].isdecimal():
        return None
    return f"{words[1]}:{words[2]}"


def changes(folder: str, token: str) -> tuple[str, list[str] | None] | None:
    """(The monitor's token as sync gives it; the project paths changed since
    the older `token`, or None where the monitor cannot name them). None
    where sync would say None."""
    instance, _, generation = token.partition(":")
    if not (instance.isalnum() and generation.isdecimal()):
        now = sync(folder)
        return None if now is None else (now, None)
    found = _exchange(folder, f"{CHANGES_REPLY} {instance} {generation}\n".encode())
    if found is None:
        return None
    head, body = found
    if head == UNKNOWN_REQUEST:  # a monitor of an older gitpipe
        now = sync(folder)
        return None if now is None else (now, None)
    words = head.split(" ")
    if len(words) != 4 or words[0] != CHANGES_REPLY or not words[2].isdecimal():
        return None
    now = f"{words[1]}:{words[2]}"
    if words[3] == UNKNOWN:
        return now, None
    if not body.endswith(b"\0") and body:
        return None
    return now, [os.fsdecode(path) for path in body.split(b"\0")[:-1]]


def parse_changes_request(request: bytes) -> tuple[str, int] | None:
    """The token (instance, generation) a `changes/1` question names; None
    for any other request."""
    words = request.decode("ascii", "replace").split(" ")
    if len(words) != 3 or words[0] != CHANGES_REPLY or not words[2].endswith("\n"):
        return None
    generation = words[2][:-1]
    if not (words[1].isalnum() and generation.isdecimal()):
        return None
    return words[1], int(generation)


def ask(folder: str, request: bytes) -> str | None:
    """The monitor's one-line answer to `request`, or None (no socket, not
    this user's, no answer in time)."""
    found = _exchange(folder, request)
    return None if found is None else found[0]


def _exchange(folder: str, request: bytes) -> tuple[str, bytes] | None:
    """The monitor's answer to `request`: its first line (without the line
    end) and, where that line ends with a count of bytes (a `changes/1`
    answer), those bytes; None (no socket, not this user's, no whole answer
    in time)."""
    path = socket_path(folder)
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if info.st_mode & _TYPE_BITS != _SOCKET_TYPE or info.st_uid != os.getuid():
        return None
    import _socket

    connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    held = None
    try:
        connection.settimeout(ANSWER_TIMEOUT)
        where, held = address(folder)
        connection.connect(where)
        if not peer_is_this_user(connection):
            return None
        connection.sendall(request)
        return _read_answer(connection)
    except OSError:
        return None
    finally:
        connection.close()
        if held is not None:
            os.close(held)


def _read_answer(connection: object) -> tuple[str, bytes] | None:
    reply = b""
    end = -1
    while end < 0 and len(reply) < 65536:
        chunk = connection.recv(65536)  # type: ignore[attr-defined]
        if not chunk:
            return None
        reply += chunk
        end = reply.find(b"\n")
    if end < 0:
        return None
    head = reply[:end].decode("utf-8", "replace").strip()
    words = head.split(" ")
    wanted = 0
    if words[0] == CHANGES_REPLY and words[-1].isdecimal():
        wanted = int(words[-1])
        if wanted > CHANGES_BYTES + 4096:
            return None
    body = reply[end + 1:]
    while len(body) < wanted:
        chunk = connection.recv(max(65536, wanted - len(body)))  # type: ignore[attr-defined]
        if not chunk:
            return None
        body += chunk
    if len(body) != wanted:
        return None
    return head, body


def peer_is_this_user(connection: object) -> bool:
    """Whether the process at the other end of a Unix socket runs as this user;
    True where the kernel does not say (the socket's folder is this user's
    alone, mode 0700)."""
    import _socket

    option = getattr(_socket, "SO_PEERCRED", None)
    if option is None:
        return True
    raw = connection.getsockopt(_socket.SOL_SOCKET, option, calcsize(_UCRED))  # type: ignore[attr-defined]
    _, uid, _ = unpack(_UCRED, raw)
    return bool(uid == os.getuid())


# What the monitor does not watch, or watches without counting: git's own
# folder, gitpipe's cache, logs and scratch folder (the monitor's cookies
# live there), and the state files every command writes. A seal whose
# answer read any of them is checked with stat calls, never vouched for.
UNSEEN_FOLDERS = (".git", ".gitpipe/cache", ".gitpipe/logs")
QUIET_FOLDERS = (*UNSEEN_FOLDERS, ".gitpipe/tmp")
QUIET_FILES = frozenset({".gitpipe/state.db", ".gitpipe/state.db-wal", ".gitpipe/state.db-shm",
                         ".gitpipe/state.db-journal", ".gitpipe/project.lock"})
COOKIE_FOLDER = ".gitpipe/tmp"
COOKIE_PREFIX = "monitor-cookie."


def under(path: str, folders: tuple[str, ...]) -> bool:
    """Whether the project path `path` is one of `folders` or below one."""
    return any(path == folder or path.startswith(folder + "/") for folder in folders)


def vouchable(root: str, paths: list[str]) -> bool:
    """Whether a monitor of the tree at `root` sees every change to `paths`
    (project paths, as a seal holds them): each a plain path inside the tree,
    in no folder the monitor leaves out, reached through no symbolic link
    (a link's target may lie outside the tree, where no event is seen),
    no file among them or below them with a second name (a hard link).
    A missing path is seen when made: its nearest folder is watched."""
    folders_seen: set[str] = set()
    for path in paths:
        parts = path.split("/")
        if any(part in ("", ".", "..") for part in parts) or under(path, QUIET_FOLDERS) \
                or path in QUIET_FILES:
            return False
        for end in range(1, len(parts) + 1):
            prefix = "/".join(parts[:end])
            last = end == len(parts)
            if prefix in folders_seen and not last:
                continue  # a folder above another path, seen to be no link already
            try:
                info = os.lstat(f"{root}/{prefix}")
            except (FileNotFoundError, NotADirectoryError):
                break
            except OSError:
                return False
            if info.st_mode & _TYPE_BITS == _LINK_TYPE:
                return False
            if last and _has_other_names(f"{root}/{prefix}", info):
                return False
            folders_seen.add(prefix)
    return True


def _has_other_names(full: str, info: os.stat_result) -> bool:
    """Whether the file `full`, or a file below the folder `full`, has more
    than one name (a hard link): a write through a name outside the watched
    folders (another tree, a shared cache's object) reaches no watch here,
    and making such a link is no event either. Symbolic links are not followed."""
    if info.st_mode & _TYPE_BITS != _FOLDER_TYPE:
        return info.st_nlink > 1
    stack = [full]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.stat(follow_symlinks=False).st_nlink > 1:
                        return True
        except OSError:
            return True  # not all seen (a folder gone or unreadable meanwhile): not vouched for
    return False


_LINK_TYPE, _FOLDER_TYPE = 0o120000, 0o040000
