"""The file-system monitor (`gitpipe monitor start`): one process per
repository that watches the work tree with inotify and counts the changes it
sees, so that the no-op seal's check (fastpath/sealwatch.py) can answer
without a stat call per input while nothing has changed since the seal.

What it vouches for is one number, the generation: it grows by one on every
change seen anywhere in the tree (but trust/monitorlink.py's quiet folders
and files). A client asks through the socket in this user's cache folder;
before answering, the monitor creates a cookie file in the tree and answers
only once its own event has come back through the same queue, so every
change made before the question has been counted (git's fsmonitor cookies).
A token is the monitor's instance (new on every start) and generation: a
seal records the token read before its answer's judgement began, and holds
while the monitor still answers that token.

It also keeps which path each of its latest changes was to (the journal,
bounded: JOURNAL_PATHS paths, JOURNAL_BYTES of names), so a client whose seal
is older than the current token can ask which paths changed since the
seal's (`changes/1`, trust/monitorlink.py) and stat only the seal's inputs
at or below them. A change it cannot name (a queue overflow, an event of a
folder it no longer knows) or one that falls off the journal's end makes it
answer "too many" for every token before it: the client then stats everything.

It stops vouching (every answer "blind", so clients stat everything) where
a folder could not be watched (the user's inotify watch limit); it ends
where the project folder itself was moved or removed. A queue overflow counts as a
change and every folder is watched again, as is a folder made, or moved in,
after the start: its contents are new to the monitor.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import sys
import time

from gitpipe.trust import monitorlink as link
from gitpipe.usecases.inotify import (
    IN_CREATE,
    IN_DELETE_SELF,
    IN_IGNORED,
    IN_ISDIR,
    IN_MOVE_SELF,
    IN_MOVED_TO,
    IN_Q_OVERFLOW,
    Event,
    Inotify,
)

# How long a cookie may take to come back before its client is told no.
COOKIE_WAIT = 2.0
# The journal of changed paths: past either bound (this and the bytes of
# its names, monitorlink.CHANGES_BYTES) its oldest half is dropped.
JOURNAL_PATHS = 8192


class Monitor:
    """The watched tree, its generation, and the clients waiting for a cookie."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.instance = os.urandom(8).hex()
        self.generation = 0
        self.blind: str | None = None
        self.inotify = Inotify()
        self.folders: dict[int, str] = {}   # watch descriptor: project path of its folder
        # The path of each change counted since generation `journal_base`, in
        # order: journal[i] made the generation journal_base + i + 1.
        self.journal: list[str] = []
        self.journal_base = 0
        self.journal_bytes = 0
        # A client waiting for its cookie: its socket, its deadline, and the
        # token it asks the changes since (None: a plain sync).
        self.waiting: dict[str, tuple[socket.socket, float, tuple[str, int] | None]] = {}
        self.cookies_made = 0
        self.cookie_folder = _cookie_folder(root)
        self.stopping = False

    def watch_tree(self, top: str) -> None:
        """Watch the folder `top` (a project path, "" for the root) and every
        folder below it that the monitor watches, each before it is listed:
        a folder made while the walk goes on is seen either way."""
        stack = [top]
        while stack and self.blind is None:
            rel = stack.pop()
            if link.under(rel, link.UNSEEN_FOLDERS):
                continue
            full = f"{self.root}/{rel}" if rel else self.root
            try:
                wd = self.inotify.watch(full)
                if wd is None:
                    continue
                self.folders[wd] = rel
                with os.scandir(full) as entries:
                    stack.extend(f"{rel}/{e.name}" if rel else e.name for e in entries
                                 if e.is_dir(follow_symlinks=False))
            except (FileNotFoundError, NotADirectoryError):
                continue  # gone meanwhile: its removal is an event of its parent
            except OSError as exc:  # WatchError (the watch limit), a folder not readable
                shown = rel if len(rel) < 200 else rel[:200] + "..."
                self.blind = f"cannot watch {shown or '.'!r}: {exc.strerror or exc}"

    def take(self, events: list[Event]) -> None:
        """Count what `events` changed, in order; answer a client whose cookie came back."""
        for wd, mask, name in events:
            if mask & IN_Q_OVERFLOW:
                self.count(None)      # changes were lost: any token before this is void
                self.watch_tree("")   # and folders made meanwhile were never watched
                self.cookies_again()  # and the cookies of waiting clients, maybe
                continue
            if mask & IN_IGNORED:
                self.folders.pop(wd, None)
                continue
            folder = self.folders.get(wd)
            if folder is None:
                self.count(None)
                continue
            path = f"{folder}/{name}" if folder and name else folder or name
            if folder == link.COOKIE_FOLDER and name.startswith(link.COOKIE_PREFIX):
                if mask & IN_CREATE:
                    self.cookie_back(name)
                continue
            if path and mask & IN_ISDIR and mask & (IN_CREATE | IN_MOVED_TO):
                self.watch_tree(path)  # new to the monitor: watched, and counted below
            if not path and mask & (IN_DELETE_SELF | IN_MOVE_SELF):
                self.blind = "the project folder was moved or removed"
                self.stopping = True  # nothing left to watch: its clients find no socket
            if link.under(path, link.QUIET_FOLDERS) or path in link.QUIET_FILES:
                continue
            self.count(path)

    def count(self, path: str | None) -> None:
        """One change more, to `path` (a project path; "" the root folder
        itself), or to paths it cannot name (None): no token before it can
        be answered with paths."""
        self.generation += 1
        if path is None:
            self.journal, self.journal_bytes = [], 0
            self.journal_base = self.generation
            return
        self.journal.append(path)
        self.journal_bytes += len(path) + 1
        while len(self.journal) > JOURNAL_PATHS or self.journal_bytes > link.CHANGES_BYTES:
            dropped = max(1, len(self.journal) // 2)
            self.journal_bytes -= sum(len(p) + 1 for p in self.journal[:dropped])
            del self.journal[:dropped]
            self.journal_base += dropped

    def changes_since(self, instance: str, generation: int) -> list[str] | None:
        """The paths changed since the token (`instance`, `generation`), each
        once; None where the journal cannot say (another instance, a token
        this one never gave, changes dropped or never named)."""
        if instance != self.instance or not self.journal_base <= generation <= self.generation:
            return None
        return list(dict.fromkeys(self.journal[generation - self.journal_base:]))

    def token_line(self, since: tuple[str, int] | None = None) -> bytes:
        """The answer to a sync (`since` None), or to a question for the
        changes since the token `since` (trust/monitorlink.py reads both)."""
        if self.blind is not None:
            return f"blind {self.blind}\n".encode()
        if since is None:
            return f"ok {self.instance} {self.generation}\n".encode()
        head = f"{link.CHANGES_REPLY} {self.instance} {self.generation}"
        paths = self.changes_since(*since)
        if paths is None:
            return f"{head} {link.UNKNOWN}\n".encode()
        body = b"".join(os.fsencode(path) + b"\0" for path in paths)
        return f"{head} {len(body)}\n".encode() + body

    def status_line(self) -> bytes:
        state = "watching" if self.blind is None else f"blind: {self.blind}"
        return (f"status {os.getpid()} {len(self.folders)} {self.generation} {self.instance} "
                f"{state}\n").encode()

    def sync(self, client: socket.socket, since: tuple[str, int] | None = None) -> None:
        """Answer `client` once a cookie made now comes back (see the module's
        doc): its token, and with `since` the paths changed after that token."""
        if self.blind is not None:
            _reply(client, self.token_line())
            return
        name = f"{link.COOKIE_PREFIX}{os.getpid()}.{self.cookies_made}"
        self.cookies_made += 1
        try:
            made = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600,
                           dir_fd=self.cookie_folder)
            os.close(made)
        except OSError as exc:
            _reply(client, f"error cannot make a cookie: {exc.strerror}\n".encode())
            return
        self.waiting[name] = (client, time.monotonic() + COOKIE_WAIT, since)

    def cookies_again(self) -> None:
        """A new cookie for each client still waiting: the event of its cookie
        may have been among those an overflow dropped, and would never come."""
        for name, (client, _, since) in list(self.waiting.items()):
            del self.waiting[name]
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=self.cookie_folder)
            self.sync(client, since)

    def cookie_back(self, name: str) -> None:
        waiting = self.waiting.pop(name, None)
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=self.cookie_folder)
        if waiting is not None:
            _reply(waiting[0], self.token_line(waiting[2]))

    def expire(self) -> None:
        now = time.monotonic()
        for name, (client, deadline, _) in list(self.waiting.items()):
            if deadline <= now:
                del self.waiting[name]
                _reply(client, b"error the cookie did not come back in time\n")

    def answer(self, client: socket.socket) -> None:
        """Read one request from a newly accepted client and answer it (a sync later)."""
        try:
            client.settimeout(1.0)
            if not link.peer_is_this_user(client):
                client.close()
                return
            request = client.recv(64)
        except OSError:
            client.close()
            return
        since = link.parse_changes_request(request)
        if since is not None:
            self.sync(client, since)
        elif request == link.SYNC:
            self.sync(client)
        elif request == link.STATUS:
            _reply(client, self.status_line())
        elif request == link.STOP:
            self.stopping = True
            _reply(client, b"stopping\n")
        else:
            _reply(client, b"error unknown request\n")

    def serve(self, listener: socket.socket) -> None:
        while not self.stopping:
            deadlines = [deadline for _, deadline, _ in self.waiting.values()]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            try:
                ready, _, _ = select.select([self.inotify.fd, listener.fileno()], [], [], timeout)
            except InterruptedError:
                continue
            if self.inotify.fd in ready:
                self.take(self.inotify.read())
            if listener.fileno() in ready:
                try:
                    client, _ = listener.accept()
                except OSError:
                    continue
                self.answer(client)
            self.expire()


def _reply(client: socket.socket, line: bytes) -> None:
    try:
        client.sendall(line)
    except OSError:
        pass
    finally:
        client.close()


def _cookie_folder(root: str) -> int:
    """An open descriptor of `.gitpipe/tmp/` (made if missing), reached
    through no symbolic link: cookies are made and removed through it."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    top = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        dotdir = os.open(".gitpipe", flags, dir_fd=top)
    finally:
        os.close(top)
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir("tmp", 0o700, dir_fd=dotdir)
        return os.open("tmp", flags, dir_fd=dotdir)
    finally:
        os.close(dotdir)


def _leave(*_: object) -> None:
    raise SystemExit(0)  # out of the wait in select, through serve's cleanup


def run(root: str) -> int:
    """The monitor of the project at `root`, until stopped (`gitpipe monitor
    stop`, SIGTERM or SIGINT): the process `gitpipe monitor start` starts."""
    import fcntl

    from gitpipe.trust.dotdir import link_problems, user_cache_dir

    root = os.path.realpath(root)
    folder = user_cache_dir(root, create=True)
    if folder is None or link_problems(root):
        sys.stderr.write(f"no folder of this user's for {root!r}, or .gitpipe/ holds a link\n")
        return 2
    lock = open(os.path.join(folder, link.LOCK_NAME), "a")  # noqa: SIM115 (held until exit)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.stderr.write(f"a monitor is running for {root!r} already\n")
        return 3
    monitor = Monitor(root)
    monitor.watch_tree("")
    path = link.socket_path(folder)
    if os.path.lexists(path):
        os.unlink(path)  # a monitor that died left it: the lock says none is running
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    where, held = link.address(folder)
    try:
        listener.bind(where)
    finally:
        if held is not None:
            os.close(held)
    os.chmod(path, 0o600)
    listener.listen(64)
    signal.signal(signal.SIGTERM, _leave)
    signal.signal(signal.SIGINT, _leave)
    try:
        monitor.serve(listener)
    finally:
        os.unlink(path)
        listener.close()
        lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1]))
