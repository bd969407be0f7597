#!/usr/bin/env python3
"""The floor of any Python build runner, for `bench_peers.py`'s builds next to make.

It runs a DAG's commands (a JSON list of {"name", "cmd", "needs"} in a valid
order) the way gitpipe's local executor starts them, and does nothing else:
at most `jobs` at once from a thread pool, each in its own session (a command
of plain words exec'd as it is, by gitpipe's own rule, `plainargv.py`; any
other through `/bin/sh -c`), its output through a pipe into a log file read by
a thread. No
hashing, cache, lock, run history or checks: what is left between it and
make is the cost of Python and of starting processes from it.

    python benchmarks/floor_runner.py DAG.json JOBS     # in the repository
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from gitpipe.executors.plainargv import plain_argv

LOGS = Path(".floor-logs")


def start(cmd: str) -> subprocess.Popen[bytes]:
    argv = plain_argv(cmd)
    if argv is not None:
        try:
            return popen(argv)
        except OSError:  # as gitpipe does: the shell says why, or runs it
            pass
    return popen(["/bin/sh", "-c", cmd])


def popen(argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)


def run(name: str, cmd: str) -> None:
    with open(LOGS / f"{name}.log", "ab") as log:
        process = start(cmd)
        assert process.stdout is not None
        stream = process.stdout

        def pump() -> None:
            while chunk := os.read(stream.fileno(), 65536):
                log.write(chunk)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        code = process.wait()
        reader.join()
    if code != 0:
        raise RuntimeError(f"{name}: exit {code}")


def main(argv: list[str]) -> int:
    stages = json.loads(Path(argv[1]).read_text())
    jobs = int(argv[2])
    LOGS.mkdir(exist_ok=True)
    Path("out").mkdir(exist_ok=True)
    needs = {s["name"]: set(s["needs"]) for s in stages}
    commands = {s["name"]: s["cmd"] for s in stages}
    children: dict[str, list[str]] = {name: [] for name in needs}
    for name, ups in needs.items():
        for up in ups:
            children[up].append(name)
    ready = [name for name, ups in needs.items() if not ups]
    running: dict[Future[None], str] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while ready or running:
            while ready and len(running) < jobs:
                name = ready.pop(0)
                running[pool.submit(run, name, commands[name])] = name
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                finished = running.pop(future)
                future.result()
                for child in children[finished]:
                    needs[child].discard(finished)
                    if not needs[child]:
                        ready.append(child)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
