#!/usr/bin/env python3
"""The floor of any Python build runner, for `bench_peers.py`'s builds next to make.

It runs a DAG's commands (a JSON list of {"name", "cmd", "needs"} in a valid
order) the way gitpipe's local executor starts them, and does nothing else:
at most `jobs` at once from a thread pool, each in its own session (a command
of plain words exec'd as it is, by gitpipe's own rule, `plainargv.py`; any
other through `/bin/sh -c`), its output through a pipe into a log file read by
a thread, the file made at the first byte (as gitpipe makes its logs: a
command that prints nothing leaves none). No
hashing, cache, lock, run history or checks: what is left between it and
make is the cost of Python and of starting processes from it.

With `--books`, it also does the least a content-addressed runner with a
run-cache does for each stage, and nothing else: every file a stage reads
(its "reads": files and folders) hashed with xxh3 before the command, every
file it writes ("writes") copied into a cache while hashed (a temp file
renamed under `files/<ab>/`), a run entry in a folder of the stage's own
(`runs/<name>/<fingerprint>`, a temp file renamed; none for a stage that
writes nothing, as gitpipe keeps none for a stage without outs), and one lock file of
every stage's digests at the end. No validation, no checks, no stat cache,
no events: the floor of gitpipe's model of a build, not of gitpipe.

`--run-entries=flat` puts every run entry in the one folder `runs/` (no
folder a stage), `--run-entries=none` keeps none: what the run entry's new
files cost a build, beside `--books` as it is.

`--env` gives each command an environment of its own, as gitpipe must (the
caller's, copied once, with the variables gitpipe promises every command:
GITPIPE_ROOT, GITPIPE_STAGE, GITPIPE_PARTITION, and PWD): Popen then
encodes every variable for every command in Python, which it skips for a
command that inherits the runner's own environment.

    python benchmarks/floor_runner.py DAG.json JOBS [--books [--run-entries=flat|none]] [--env]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

import xxhash

from gitpipe.executors.plainargv import plain_argv

LOGS = Path(".floor-logs")
CACHE = Path(".floor-cache")
RUN_ENTRIES = ("folder", "flat", "none")  # where --books keeps a run entry
ENVIRON: dict[str, str] | None = None  # with --env: the caller's, copied once


def start(name: str, cmd: str) -> subprocess.Popen[bytes]:
    env = None
    if ENVIRON is not None:
        stage, _, partition = name.partition("@")
        cwd = os.getcwd()
        env = {**ENVIRON, "GITPIPE_ROOT": cwd, "GITPIPE_STAGE": stage,
               "GITPIPE_PARTITION": partition, "PWD": cwd}
    argv = plain_argv(cmd)
    if argv is not None:
        try:
            return popen(argv, env)
        except OSError:  # as gitpipe does: the shell says why, or runs it
            pass
    return popen(["/bin/sh", "-c", cmd], env)


def popen(argv: list[str], env: dict[str, str] | None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)


def run(name: str, cmd: str) -> None:
    process = start(name, cmd)
    assert process.stdout is not None
    stream = process.stdout

    def pump() -> None:
        log = -1
        while chunk := os.read(stream.fileno(), 65536):
            if log < 0:
                log = os.open(LOGS / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
            os.write(log, chunk)
        if log >= 0:
            os.close(log)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    code = process.wait()
    reader.join()
    if code != 0:
        raise RuntimeError(f"{name}: exit {code}")


def files_of(path: str) -> list[str]:
    if os.path.isdir(path):
        return sorted(os.path.join(path, name) for name in os.listdir(path))
    return [path]


def digest_of(path: str) -> str:
    with open(path, "rb", buffering=0) as reader:
        return xxhash.xxh3_128_hexdigest(reader.read())


def write_beside(final: str, data: bytes) -> None:
    tmp = f"{final}.tmp{threading.get_ident()}"
    with open(tmp, "wb") as writer:
        writer.write(data)
    os.replace(tmp, final)


def run_with_books(name: str, cmd: str, reads: list[str], writes: list[str],
                   lock: dict[str, object], entries: str = "folder") -> None:
    deps = {f: digest_of(f) for path in reads for f in files_of(path)}
    fingerprint = xxhash.xxh3_128_hexdigest(json.dumps([cmd, deps], sort_keys=True).encode())
    run(name, cmd)
    outs = {}
    for path in writes:
        data = Path(path).read_bytes()
        digest = outs[path] = xxhash.xxh3_128_hexdigest(data)
        folder = CACHE / "files" / digest[:2]
        folder.mkdir(exist_ok=True)
        final = folder / digest[2:]
        if not final.exists():
            write_beside(str(final), data)
    if not writes:
        lock[name] = {"fingerprint": fingerprint, "deps": deps, "outs": outs}
        return
    if entries == "folder":
        (CACHE / "runs" / name).mkdir()
        write_beside(str(CACHE / "runs" / name / fingerprint), json.dumps(outs).encode())
    elif entries == "flat":
        write_beside(str(CACHE / "runs" / f"{name}.{fingerprint}"), json.dumps(outs).encode())
    lock[name] = {"fingerprint": fingerprint, "deps": deps, "outs": outs}


def main(argv: list[str]) -> int:
    global ENVIRON
    books = "--books" in argv
    if "--env" in argv:
        ENVIRON = dict(os.environ)
    entries = next((a.partition("=")[2] for a in argv if a.startswith("--run-entries=")),
                   "folder")
    if entries not in RUN_ENTRIES:
        sys.exit(f"--run-entries: one of {', '.join(RUN_ENTRIES)}")
    argv = [a for a in argv if a not in ("--books", "--env")
            and not a.startswith("--run-entries=")]
    stages = json.loads(Path(argv[1]).read_text())
    jobs = int(argv[2])
    LOGS.mkdir(exist_ok=True)
    Path("out").mkdir(exist_ok=True)
    lock: dict[str, object] = {}
    if books:
        for folder in (CACHE / "files", CACHE / "runs"):
            folder.mkdir(parents=True, exist_ok=True)
    needs = {s["name"]: set(s["needs"]) for s in stages}
    commands = {s["name"]: s["cmd"] for s in stages}
    books_of = {s["name"]: (s.get("reads", []), s.get("writes", [])) for s in stages}
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
                if books:
                    running[pool.submit(run_with_books, name, commands[name],
                                        *books_of[name], lock, entries)] = name
                else:
                    running[pool.submit(run, name, commands[name])] = name
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                finished = running.pop(future)
                future.result()
                for child in children[finished]:
                    needs[child].discard(finished)
                    if not needs[child]:
                        ready.append(child)
    if books:
        write_beside(".floor-lock.json", json.dumps(lock, sort_keys=True).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
