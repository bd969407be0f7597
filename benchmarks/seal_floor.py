#!/usr/bin/env python3
"""The floor of a sealed no-op `gitpipe status` in Python, for `bench_status.py`.

A seal holds while every path it lists has the stat data it had: a file is one
`stat`, a directory one listing and one `lstat` per file in it (git and make
make the same calls). This script makes exactly those calls for the paths of
a seal, in the leanest Python loop, and nothing else: no gitpipe import, no
comparison, no output. What is left between it and `gitpipe status` is
gitpipe's own cost; what is left between it and `python -c pass` is the cost
of the stat calls themselves, which no change to gitpipe can remove.

    python benchmarks/seal_floor.py PATHS     # in the repository; PATHS: one path a line
"""

import os
import sys


def stat_all(paths: list[str]) -> None:
    stat = os.stat
    for path in paths:
        try:
            info = stat(path)
        except OSError:
            continue
        if info.st_mode & 0o170000 == 0o040000:
            list_all(path)


def list_all(directory: str) -> None:
    folders = [directory]
    for folder in folders:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.stat(follow_symlinks=False).st_mode & 0o170000 == 0o040000:
                    folders.append(entry.path)


def main() -> None:
    with open(sys.argv[1], "rb") as handle:
        paths = handle.read().decode().splitlines()
    stat_all(paths)
    sys.stdout.flush()
    os._exit(0)  # as the sealed answer leaves: no interpreter teardown


if __name__ == "__main__":
    main()
