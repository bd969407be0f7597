#!/usr/bin/env python3
"""What a change to gitpipe's code costs a full build, in CPU time, paired.

Each round builds a fresh copy of a never-built template repository (`repro
-j JOBS`) once with every code tree named (each a folder holding a `gitpipe/`
package, put first on PYTHONPATH: `git archive REV gitpipe | tar -x -C DIR`),
in a new shuffled order, so that load drifting during the run hits every
variant alike. For each build: the wall time, the CPU (user + sys) of the
whole process tree (`wait4`), and of the gitpipe process alone (its own
`getrusage`, threads included, read just before it exits). On a shared
machine the CPU figures and the paired differences are the evidence, not
the wall times.

    python benchmarks/paired_builds.py TEMPLATE base=DIR other=DIR [--rounds 20]
    python benchmarks/paired_builds.py TEMPLATE base=DIR other=DIR \
        --args "backfill day --concurrency 8 -j 8"

TEMPLATE: e.g. `benchmarks/.work/peers/make-build-s200-f2000/template`, made
by `bench_peers.py --only build --tools make`. The first variant named is
the one the others are compared with. `--args` runs another gitpipe command
in place of `repro -j JOBS` (the backfill's template:
`benchmarks/.work/peers/backfill-365/template`, made by `bench_peers.py
--only backfill`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "paired"  # the builds' copies and bytecode (--work)
# The console script's entry, with the process's own CPU written out just
# before it ends (a plain repro ends with os._exit: no atexit handler runs).
WRAPPER = """
import json, os, resource, sys
def _own():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(os.environ["PAIRED_OWN_CPU"], "w") as out:
        json.dump(usage.ru_utime + usage.ru_stime, out)
_exit = os._exit
def _ending(code):
    _own()
    _exit(code)
os._exit = _ending
import atexit
atexit.register(_own)
sys.argv = ["gitpipe", *sys.argv[1:]]
from gitpipe.cli.launch import main
main()
"""
FIGURES = ("tree_cpu_s", "own_cpu_s", "wall_s")


def build(template: Path, code: Path, args: list[str], work: Path) -> dict[str, float]:
    """One run of `gitpipe ARGS` (a full build) in a fresh copy of `template`
    with the gitpipe in `code`."""
    repo = work / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(template, repo, symlinks=True)
    own = work / "own-cpu.json"
    own.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(code), "PAIRED_OWN_CPU": str(own),
           "PYTHONPYCACHEPREFIX": str(work / "pycache"), "LC_ALL": "C", "NO_COLOR": "1"}
    for name in ("GITPIPE_DEBUG", "GITPIPE_JOBS", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=repo, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", WRAPPER, *args],
                             cwd=repo, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.stdout.close()
    if status != 0:
        sys.exit(f"{code}: the build failed:\n{output.decode(errors='replace')[-2000:]}")
    shutil.rmtree(repo)
    return {"tree_cpu_s": usage.ru_utime + usage.ru_stime,
            "own_cpu_s": json.loads(own.read_text()), "wall_s": wall}


def summary(runs: dict[str, list[dict[str, float]]]) -> list[str]:
    """Each variant's medians, and its paired differences from the first's."""
    first = next(iter(runs))
    lines = []
    for name, builds in runs.items():
        medians = ", ".join(f"{k} {statistics.median(b[k] for b in builds):.3f}"
                            for k in FIGURES)
        lines.append(f"{name}: {medians}")
        if name == first:
            continue
        for k in FIGURES:
            diffs = [b[k] - a[k] for a, b in zip(runs[first], builds, strict=True)]
            lower = sum(1 for d in diffs if d < 0)
            lines.append(f"  {k} minus {first}'s: median {statistics.median(diffs):+.3f} "
                         f"(lower in {lower}/{len(diffs)} rounds)")
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", type=Path)
    parser.add_argument("variants", nargs="+", help="NAME=DIR, DIR holding gitpipe/")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--jobs", "-j", type=int, default=2)
    parser.add_argument("--args", help="gitpipe's arguments (default: repro -j JOBS)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed builds of each first")
    parser.add_argument("--work", type=Path, default=WORK, help=f"scratch folder ({WORK})")
    args = parser.parse_args(argv)
    codes = {}
    for spec in args.variants:
        name, _, folder = spec.partition("=")
        if not folder or not (Path(folder) / "gitpipe" / "__init__.py").is_file():
            parser.error(f"{spec!r}: expected NAME=DIR, DIR holding a gitpipe/ package")
        codes[name] = Path(folder).resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    command = args.args.split() if args.args else ["repro", "-j", str(args.jobs)]
    for _ in range(args.warmup):
        for code in codes.values():
            build(args.template, code, command, args.work)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in codes}
    for number in range(args.rounds):
        order = list(codes)
        random.shuffle(order)
        for name in order:
            runs[name].append(build(args.template, codes[name], command, args.work))
        print(f"round {number + 1}: load {os.getloadavg()[0]:.1f}; "
              + ", ".join(f"{n} {runs[n][-1]['own_cpu_s']:.3f}" for n in codes), flush=True)
    print("\n".join(summary(runs)))
    (args.work / "last.json").write_text(json.dumps(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
