#!/usr/bin/env python3
"""The floor of a sealed no-op `gitpipe status` in Python, for `bench_status.py`.

A seal holds while every path it lists has the stat data it had: a file is one
`stat`, a directory one `lstat` per file in it, and its folder's own `fstat`
where the check takes the folder's names from its record
(fastpath/sealdirs.py) instead of listing it: a line of PATHS that names the
folder's files after it (tab-separated); any other directory is listed (git
and make make the same calls). This script makes exactly those calls for the
paths of a seal, in the leanest Python loop, and nothing else: no gitpipe
import, no comparison, no output. Each path is stat'ed from a descriptor of the
repository and each file of a directory by its name from a descriptor of the
directory, as the seal's check does (the kernel then resolves one name per
call, not the whole path). What is left between it and `gitpipe status` is
gitpipe's own cost; what is left between it and `python -c pass` is the cost
of the stat calls themselves, which no change to gitpipe can remove.

    python benchmarks/seal_floor.py PATHS     # in the repository; PATHS: one path a line
"""

import os
import sys

DIRECTORY, TYPE_BITS = 0o040000, 0o170000
FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def stat_all(paths: list[str]) -> None:
    stat = os.stat
    top = os.open(".", FOLDER)
    for line in paths:
        path, *names = line.split("\t")
        try:
            info = stat(path, dir_fd=top)
        except OSError:
            continue
        if info.st_mode & TYPE_BITS == DIRECTORY:
            if names:
                stat_named(path, names)
            else:
                list_all(path)


def stat_named(directory: str, names: list[str]) -> None:
    """The calls of a folder's check by its record: its fstat, each file's lstat."""
    stat = os.stat
    held = os.open(directory, FOLDER)
    os.fstat(held)
    for name in names:
        stat(name, dir_fd=held, follow_symlinks=False)
    os.close(held)


def list_all(directory: str) -> None:
    stat = os.stat
    held = os.open(directory, FOLDER)
    for name in os.listdir(held):
        if stat(name, dir_fd=held, follow_symlinks=False).st_mode & TYPE_BITS == DIRECTORY:
            list_all(f"{directory}/{name}")
    os.close(held)


def main() -> None:
    root = os.getcwd() + "/"
    with open(sys.argv[1], "rb") as handle:
        paths = [path.removeprefix(root) for path in handle.read().decode().splitlines()]
    stat_all(paths)
    sys.stdout.flush()
    os._exit(0)  # as the sealed answer leaves: no interpreter teardown


if __name__ == "__main__":
    main()
