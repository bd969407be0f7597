#!/usr/bin/env python3
"""How long does `gitpipe log PATH` take on a long history?

Writes a repository of --commits commits with git fast-import under
benchmarks/.work/log-<commits>/: a chain of --stages stages, a gitpipe.lock
that changes in half the commits (one stage rerun each time: its fingerprint
and out digest, and the next stage's dep digest; so the artifact asked for
changes in about 1 in 2×stages commits), the other half
touching only a source file. Then times whole processes (median of
--repeat, after one warm-up):

    gitpipe log <last stage's out>            the whole history
    gitpipe log <last stage's out> --json     the same, as a document
    gitpipe log <last stage's out> -n 1       the newest version only
    git log --oneline -- gitpipe.lock         git's own walk (baseline)

    python benchmarks/bench_log.py [--commits 500] [--stages 20] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

WORK = Path(__file__).resolve().parent / ".work"
ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}


def spec(stages: int) -> str:
    lines = ["stages:"]
    for i in range(stages):
        dep = "src.txt" if i == 0 else f"s{i - 1}.txt"
        lines += [f"  s{i}:", f"    cmd: cp {dep} s{i}.txt", f"    deps: [{dep}]",
                  f"    outs: [s{i}.txt]"]
    return "\n".join(lines) + "\n"


def lock(digests: list[str], fingerprints: list[str]) -> str:
    lines = ["schema: 1", "stages:"]
    for i, digest in enumerate(digests):
        dep = "src.txt" if i == 0 else f"s{i - 1}.txt"
        dep_hash = "git:" + "1" * 40 if i == 0 else digests[i - 1]
        lines += [f"  s{i}:", f"    cmd: cp {dep} s{i}.txt",
                  f"    fingerprint: {fingerprints[i]}",
                  "    deps:", f"    - {{path: {dep}, hash: '{dep_hash}'}}",
                  "    outs:", f"    - {{path: s{i}.txt, hash: '{digest}', size: 10}}"]
    return "\n".join(lines) + "\n"


def blob(name: str, text: str) -> bytes:
    data = text.encode()
    return f"M 100644 inline {name}\ndata {len(data)}\n".encode() + data + b"\n"


def build(path: Path, commits: int, stages: int) -> None:
    random.seed(20)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True, env=ENV)
    digests = [f"xxh3:{random.getrandbits(128):032x}" for _ in range(stages)]
    fingerprints = [f"xxh3:{random.getrandbits(128):032x}" for _ in range(stages)]
    stream = bytearray()
    for n in range(commits):
        files = [blob(".gitignore", "/s*.txt\n")] if n == 0 else []
        if n == 0:
            files.append(blob("gitpipe.yaml", spec(stages)))
        if n % 2 == 0:
            rerun = random.randrange(stages)
            digests[rerun] = f"xxh3:{random.getrandbits(128):032x}"
            fingerprints[rerun] = f"xxh3:{random.getrandbits(128):032x}"
            files.append(blob("gitpipe.lock", lock(digests, fingerprints)))
        else:
            files.append(blob("src.txt", f"{n}\n"))
        message = f"commit {n}".encode()
        stream += (f"commit refs/heads/main\ncommitter bench <bench@example.com> "
                   f"{1_700_000_000 + n * 60} +0000\ndata {len(message)}\n").encode()
        stream += message + b"\n" + b"".join(files) + b"\n"
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=bytes(stream),
                   check=True, env=ENV)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=path, check=True, env=ENV)
    subprocess.run([sys.executable, "-m", "gitpipe", "init"], cwd=path, check=True, env=ENV,
                   capture_output=True)


def timed(command: list[str], cwd: Path, repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (user + system) seconds of each run: on a shared
    machine the CPU time is the steadier figure."""
    subprocess.run(command, cwd=cwd, env=ENV, check=True, capture_output=True)  # warm-up
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=ENV, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=500)
    parser.add_argument("--stages", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    path = WORK / f"log-{args.commits}"
    build(path, args.commits, args.stages)
    target = f"s{args.stages - 1}.txt"
    gitpipe = [sys.executable, "-m", "gitpipe", "log", target]
    found = subprocess.run([*gitpipe, "--json"], cwd=path, env=ENV, check=True,
                           capture_output=True, text=True).stdout.count('"commit":')
    print(f"{args.commits} commits, {args.stages} stages, {found} versions of {target}")
    print("| command | wall, median (min–max) | CPU, median |\n| --- | ---: | ---: |")
    for name, command in (("gitpipe log", gitpipe), ("gitpipe log --json", [*gitpipe, "--json"]),
                          ("gitpipe log -n 1", [*gitpipe, "-n", "1"]),
                          ("gitpipe --version", [sys.executable, "-m", "gitpipe", "--version"]),
                          ("git log -- gitpipe.lock",
                           ["git", "log", "--oneline", "--", "gitpipe.lock"])):
        walls, cpus = timed(command, path, args.repeat)
        print(f"| `{name}` | {statistics.median(walls):.3f} s "
              f"({min(walls):.3f}–{max(walls):.3f}) | {statistics.median(cpus):.3f} s |")


if __name__ == "__main__":
    main()
