#!/usr/bin/env python3
"""How fast is a no-op `gitpipe status` on a big repository, next to make and git?

Generates a synthetic git repository (S stages, F raw data files, a layered
fan-in DAG) under benchmarks/.work/, builds it once with `gitpipe repro`, then
times whole processes (subprocess, warm, median of --repeat runs):

    gitpipe status        no-op, the figure this benchmark is about
    gitpipe repro         no-op
    gitpipe --version     interpreter + click + `import gitpipe`
    make -r               no-op, on an equivalent generated Makefile   (baseline)
    git status            in the same repository                       (baseline)
    python -c pass        the interpreter gitpipe runs on              (baseline)

Every figure is reported in seconds and as a ratio to the baselines measured
in the same run, with the peak RSS of that one child process. Results: a
markdown table on stdout and JSON in benchmarks/results/<timestamp>.json.

    python benchmarks/bench_status.py                      # S=200, F=2000
    python benchmarks/bench_status.py --stages 50 --files 500 --repeat 9
    python benchmarks/bench_status.py --matrix             # 10/100, 200/2000, 1000/20000
    python benchmarks/bench_status.py --reuse --profile    # + cProfile / importtime
    python benchmarks/bench_status.py --scaling            # S = 10…5,000 (F = 20 S), a
                                                           # linear fit, planning time

Stdlib only, so it runs with any Python 3.10+; gitpipe is found next to the
running interpreter, in ./.venv, or on PATH (--gitpipe overrides).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
WORK = HERE / ".work"
NO_SEAL = "GITPIPE_NO_SEAL=1"  # a command prefix: gitpipe without the no-op seal
# With the monitor running, every row but the monitored one asks it nothing.
NO_MONITOR = "GITPIPE_NO_MONITOR=1"
MONITORED = "gitpipe status (monitor)"
# The first status after a change with the monitor running: it stats only
# the seal's paths the monitor saw change, and judges anew.
MONITORED_CHANGE = "gitpipe status (monitor, seal broken)"
# The first status after a stale answer or a run: no status seal (they remove
# it), the seal's records of its directory deps kept (fastpath/heldlistings.py).
SEAL_REMOVED = "gitpipe status (seal removed)"
RESULTS = HERE / "results"
MATRIX = ((10, 100), (200, 2000), (1000, 20000))
SCALING = ((10, 200), (100, 2000), (1000, 20000), (3000, 60000),
           (10000, 200000))  # F = 20 S throughout
GIT_ID = ["-c", "user.name=gitpipe-bench", "-c", "user.email=bench@gitpipe.invalid",
          "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]
MARKER = ".bench-config.json"


# --------------------------------------------------------------------------------------
# Configuration and the synthetic repository


@dataclass(frozen=True)
class Shape:
    """What the synthetic repository looks like; also its identity for --reuse."""

    stages: int
    files: int
    track_data: bool = False
    dep_style: str = "dir"           # "dir": data/raw/sNNNN/ ; "files": every file listed
    shared_code: bool = False        # one src/stage.sh instead of src/sNNNN.sh per stage
    file_bytes: int = 256
    seed: int = 1

    @property
    def slug(self) -> str:
        parts = [f"s{self.stages}", f"f{self.files}", self.dep_style]
        if self.track_data:
            parts.append("tracked")
        if self.shared_code:
            parts.append("shared")
        if self.file_bytes != 256:
            parts.append(f"b{self.file_bytes}")
        if self.seed != 1:
            parts.append(f"seed{self.seed}")
        return "-".join(parts)


@dataclass
class StageDef:
    name: str
    raw: list[str]            # raw data files this stage reads
    upstream: list[str]       # names of earlier stages whose outs it reads

    @property
    def out(self) -> str:
        return f"out/{self.name}.txt"


def design(shape: Shape) -> list[StageDef]:
    """A layered DAG: ~sqrt(S) layers of ~sqrt(S) stages; each stage reads its own
    slice of the raw files plus the outs of 1-2 stages of earlier layers (at least
    one from the layer just above, so the depth is the number of layers)."""
    rng = random.Random(shape.seed)
    width = max(1, round(shape.stages ** 0.5))
    width_digits = max(4, len(str(shape.stages - 1)))
    names = [f"s{i:0{width_digits}d}" for i in range(shape.stages)]
    per_stage, extra = divmod(shape.files, shape.stages)
    stages: list[StageDef] = []
    next_file = 0
    for i, name in enumerate(names):
        count = per_stage + (1 if i < extra else 0)
        raw = [f"data/raw/{name}/f{next_file + k:06d}.csv" for k in range(count)]
        next_file += count
        layer = i // width
        upstream: list[str] = []
        if layer > 0:
            above = names[(layer - 1) * width: layer * width]
            upstream.append(rng.choice(above))
            if rng.random() < 0.5:
                earlier = names[: layer * width]
                pick = rng.choice(earlier)
                if pick not in upstream:
                    upstream.append(pick)
        stages.append(StageDef(name, raw, sorted(upstream)))
    return stages


STAGE_SCRIPT = """#!/bin/sh
# {label}: writes a small digest of its inputs (never their concatenation, so
# outs stay small however deep the DAG is).
set -e
out="$1"; shift
{{ echo "{label}"; cat "$@" | cksum; }} > "$out"
"""


def _code_path(shape: Shape, stage: StageDef) -> str:
    return "src/stage.sh" if shape.shared_code else f"src/{stage.name}.sh"


def _inputs(stage: StageDef, out_dir: str) -> str:
    raw = f"data/raw/{stage.name}/*" if stage.raw else ""
    ups = " ".join(f"{out_dir}/{u}.txt" for u in stage.upstream)
    return " ".join(part for part in (raw, ups) if part)


def write_repository(repo: Path, shape: Shape, stages: list[StageDef]) -> None:
    """Write data, code, params.yaml, gitpipe.yaml, Makefile and .gitignore."""
    rng = random.Random(shape.seed + 1)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789,\n"
    repo.mkdir(parents=True)
    for stage in stages:
        (repo / "data" / "raw" / stage.name).mkdir(parents=True, exist_ok=True)
        for path in stage.raw:
            body = "".join(rng.choice(alphabet) for _ in range(shape.file_bytes))
            (repo / path).write_text(body, encoding="utf-8")
    (repo / "src").mkdir()
    if shape.shared_code:
        (repo / "src" / "stage.sh").write_text(STAGE_SCRIPT.format(label="shared stage"))
    else:
        for stage in stages:
            (repo / _code_path(shape, stage)).write_text(STAGE_SCRIPT.format(label=stage.name))
    params = [f"{s.name}:\n  x: {i}\n  label: {s.name}\n" for i, s in enumerate(stages)]
    (repo / "params.yaml").write_text("".join(params))
    (repo / "gitpipe.yaml").write_text(_spec(shape, stages))
    (repo / "Makefile").write_text(_makefile(shape, stages))
    ignore = ["/mk/", f"/{MARKER}"]
    if not shape.track_data:
        ignore.append("/data/raw/")
    (repo / ".gitignore").write_text("\n".join(ignore) + "\n")


def _spec(shape: Shape, stages: list[StageDef]) -> str:
    lines = ["stages:"]
    for stage in stages:
        code = _code_path(shape, stage)
        deps = [code]
        if stage.raw:
            deps += stage.raw if shape.dep_style == "files" else [f"data/raw/{stage.name}/"]
        deps += [f"out/{u}.txt" for u in stage.upstream]
        lines += [
            f"  {stage.name}:",
            f"    cmd: sh {code} {stage.out} {_inputs(stage, 'out')}",
            "    deps:",
            *(f"      - {dep}" for dep in deps),
            f"    params: [{stage.name}.x]",
            f"    outs: [{stage.out}]",
        ]
    return "\n".join(lines) + "\n"


def _makefile(shape: Shape, stages: list[StageDef]) -> str:
    """The same DAG for make: its own outs under mk/, every raw file a prerequisite."""
    lines = [".SUFFIXES:", "all: " + " ".join(f"mk/{s.name}.txt" for s in stages), ""]
    for stage in stages:
        code = _code_path(shape, stage)
        prereqs = [code, *stage.raw, *(f"mk/{u}.txt" for u in stage.upstream), "params.yaml"]
        lines.append(f"mk/{stage.name}.txt: " + " ".join(prereqs))
        lines.append("\t@mkdir -p mk")
        lines.append(f"\t@sh {code} $@ {_inputs(stage, 'mk')}")
        lines.append("")
    lines.append(".PHONY: all")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# Running and measuring child processes


@dataclass
class Sample:
    seconds: float
    maxrss_kib: int
    returncode: int
    cpu_seconds: float = 0.0  # user + system of the child and every descendant it waited for


def run_capturing(cmd: list[str], cwd: Path,
                  env: dict[str, str] | None = None) -> tuple[Sample, str]:
    """Run one child to completion: wall time, the peak RSS of *that* child, and
    its output (stdout and stderr); a non-zero exit raises with the output's tail.

    `os.wait4` returns the same rusage as `getrusage(RUSAGE_CHILDREN)` but for the
    one child only; RUSAGE_CHILDREN is a high-water mark over every child ever
    waited for (the build included), so it would hide a smaller status process.
    """
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {code} in {cwd}:\n{text[-3000:]}")
    rss = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    return Sample(seconds, int(rss), code, usage.ru_utime + usage.ru_stime), text


def run_measured(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Sample:
    return run_capturing(cmd, cwd, env)[0]


def commit_unrelated(repo: Path, env: dict[str, str], rep: int) -> None:
    """Commit a change to a file no stage reads: a new git index and HEAD, the same
    pipeline inputs (what every `git commit` does before the next status)."""
    (repo / "bench-notes.txt").write_text(f"{rep} {time.time_ns()}\n")
    output_of(["git", *GIT_ID, "add", "bench-notes.txt"], repo, env)
    output_of(["git", *GIT_ID, "commit", "-q", "-m", f"notes {rep}"], repo, env)


def touch_an_out(repo: Path, rep: int, repro: list[str], env: dict[str, str]) -> None:
    """Touch one stage's out (gitpipe's `out/`; make's are under `mk/`): the
    status seal no longer holds, nothing is stale. The seal's check walks every
    directory before it finds that out changed: the first status after a run,
    an edit undone or a checkout that rewrote a file as it was. The repro seal,
    which this breaks too, is settled again by an untimed `repro`, as the rows
    of the next round expect it."""
    outs = sorted((repo / "out").iterdir())
    os.utime(outs[rep % len(outs)])
    # Past the racy window: a file changed within 1 s is never sealed, and the
    # rows after this one expect their seals to hold.
    time.sleep(1.2)
    output_of(repro, repo, env)


SEAL_FILE = """
import os
from gitpipe.fastpath.seal import seal_path
print(seal_path(os.getcwd(), "status"))
"""


def remove_status_seal(repo: Path, python: str, env: dict[str, str]) -> None:
    """Remove the status seal of `repo` (kept where this gitpipe keeps it), not
    the records beside it: as a stale status or a run leaves them."""
    Path(output_of([python, "-c", SEAL_FILE], repo, env).strip()).unlink(missing_ok=True)


def output_of(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n"
                           f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


@dataclass
class Figure:
    """One timed command: all samples, and the summary the table shows."""

    command: str
    samples: list[float]
    peak_rss_kib: int
    wait4_maxrss_kib: list[int]
    baseline: bool = False
    ratios: dict[str, float] = field(default_factory=dict)
    cpu_samples: list[float] = field(default_factory=list)
    cpu_ratios: dict[str, float] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_samples) if self.cpu_samples else 0.0

    @property
    def minimum(self) -> float:
        return min(self.samples)

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command, "baseline": self.baseline,
            "median_s": self.median, "min_s": self.minimum, "max_s": max(self.samples),
            "stdev_s": statistics.stdev(self.samples) if len(self.samples) > 1 else 0.0,
            "samples_s": self.samples, "peak_rss_kib": self.peak_rss_kib,
            "wait4_maxrss_kib": self.wait4_maxrss_kib,
            "ratios": self.ratios,
            "cpu_samples_s": self.cpu_samples, "cpu_median_s": self.cpu_median,
            "cpu_ratios": self.cpu_ratios,
        }


# (label, command, is a baseline) and optionally a setup run, untimed, before each timed run.
CommandSpec = tuple[str, list[str], bool] | tuple[str, list[str], bool, Callable[[int], None]]


def time_commands(specs: list[CommandSpec], cwd: Path, repeat: int,
                  warmup: int, env: dict[str, str], gnu_time: bool) -> dict[str, Figure]:
    """Time every command `repeat` times, round-robin, so that background load drifting
    during the run hits all of them alike and the same-run ratios stay fair."""
    def timed(spec: CommandSpec, rep: int) -> Sample:
        if len(spec) == 4:
            spec[3](rep)
        argv, cmd_env = _with_env(spec[1], env)
        return run_measured(argv, cwd, cmd_env)

    for rep in range(warmup):
        for spec in specs:
            timed(spec, -1 - rep)
    samples: dict[str, list[Sample]] = {spec[0]: [] for spec in specs}
    for rep in range(repeat):
        for spec in specs:
            samples[spec[0]].append(timed(spec, rep))
    figures = {}
    for label, cmd, baseline, *_ in specs:
        argv, cmd_env = _with_env(cmd, env)
        rss = peak_rss_kib(argv, cwd, cmd_env, gnu_time)
        runs = samples[label]
        print(f"    {label:<31} median {statistics.median(s.seconds for s in runs):8.4f}s"
              f"  min {min(s.seconds for s in runs):8.4f}s"
              f"  CPU {statistics.median(s.cpu_seconds for s in runs):8.4f}s"
              f"  peak RSS {rss / 1024:6.1f} MiB", file=sys.stderr, flush=True)
        figures[label] = Figure(" ".join(_short(c) for c in cmd), [s.seconds for s in runs],
                                rss, [s.maxrss_kib for s in runs], baseline,
                                cpu_samples=[s.cpu_seconds for s in runs])
    return figures


def _with_env(cmd: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Leading `NAME=value` words of a command (as in sh) go into its environment."""
    extra = {}
    while cmd and "=" in cmd[0] and not cmd[0].startswith("/"):
        name, _, value = cmd[0].partition("=")
        extra[name] = value
        cmd = cmd[1:]
    return cmd, {**env, **extra}


def _short(arg: str) -> str:
    return Path(arg).name if arg.startswith("/") else arg


# --------------------------------------------------------------------------------------
# Tools


def find_gitpipe(explicit: str | None, who: str = "bench_status") -> Path:
    candidates = [explicit] if explicit else [
        str(Path(sys.executable).parent / "gitpipe"),
        str(REPO_ROOT / ".venv" / "bin" / "gitpipe"),
        shutil.which("gitpipe"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate).absolute()
    sys.exit(f"{who}: cannot find the gitpipe command (run `make install`, or --gitpipe)")


def interpreter_of(script: Path) -> str:
    """The Python the console script runs on (its shebang): the fair `python -c pass`."""
    first = script.read_bytes().split(b"\n", 1)[0].decode(errors="replace")
    if first.startswith("#!") and "python" in first:
        return first[2:].strip().split()[0]
    return sys.executable


def tool_versions(gitpipe: Path, python: str, env: dict[str, str]) -> dict[str, str]:
    def first_line(cmd: list[str]) -> str:
        try:
            return output_of(cmd, WORK, env).strip().splitlines()[0]
        except (OSError, RuntimeError, IndexError) as exc:
            return f"unavailable: {exc}"
    return {
        "gitpipe": first_line([str(gitpipe), "--version"]),
        "python": first_line([python, "-c", "import sys; print(sys.version.split()[0])"]),
        "git": first_line(["git", "--version"]),
        "make": first_line(["make", "--version"]),
    }


def source_digest() -> str:
    """sha256 of gitpipe/**/*.py: which code a figure belongs to (it is edited often)."""
    digest = hashlib.sha256()
    package = REPO_ROOT / "gitpipe"
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def snapshot_source(digest: str) -> Path:
    """A frozen copy of gitpipe/ for PYTHONPATH, so edits made while the benchmark runs
    do not change the code under test halfway through. Shared by every benchmark
    script (one copy per digest; two scripts may make it at once)."""
    target = WORK / "snapshot" / digest[:12]
    if not (target / "gitpipe").is_dir():
        tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(REPO_ROOT / "gitpipe", tmp / "gitpipe",
                        ignore=shutil.ignore_patterns("__pycache__"))
        try:
            tmp.rename(target)
        except OSError:  # another benchmark made it meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def bench_env(inherit: bool) -> dict[str, str]:
    """The children's environment. Unless --inherit-env: bytecode is cached (as on a
    user's machine) but under benchmarks/.work/pycache, so neither gitpipe/ nor the
    venv is written to, and PYTHONDONTWRITEBYTECODE (which makes every run compile
    gitpipe from source) is dropped."""
    env = dict(os.environ)
    env.pop("GITPIPE_DEBUG", None)
    env.pop("GITPIPE_JOBS", None)  # -j is the benchmark's to say
    env["NO_COLOR"] = "1"
    env["LC_ALL"] = "C"
    if not inherit:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")
    return env


GNU_TIME = "/usr/bin/time"


def has_gnu_time() -> bool:
    try:
        probe = subprocess.run([GNU_TIME, "-f", "%M", "true"], capture_output=True, text=True,
                               check=False)
    except OSError:
        return False
    return probe.returncode == 0 and probe.stderr.strip().isdigit()


def peak_rss_kib(cmd: list[str], cwd: Path, env: dict[str, str], gnu_time: bool) -> int:
    """Peak RSS of one more (untimed) run of `cmd`.

    With GNU time the child is forked from a ~1 MiB process; a child forked
    straight from this Python inherits its RSS high-water mark across exec, so
    the wait4 figure is floored at this process's own RSS.
    """
    if not gnu_time:
        return run_measured(cmd, cwd, env).maxrss_kib
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as out:
        run_measured([GNU_TIME, "-f", "%M", "-o", out.name, *cmd], cwd, env)
        return int(out.read().strip().splitlines()[-1])


# --------------------------------------------------------------------------------------
# One size


def prepare(shape: Shape, gitpipe: Path, jobs: int, reuse: bool,
            env: dict[str, str]) -> tuple[Path, dict[str, Any]]:
    """Generate, commit and build the repository; returns it and the build figures."""
    repo = WORK / shape.slug
    marker = repo / MARKER
    if reuse and marker.is_file():
        recorded = json.loads(marker.read_text())
        if recorded.get("shape") == asdict(shape) and recorded.get("built"):
            print(f"  reusing {repo}", file=sys.stderr)
            return repo, dict(recorded["build"], reused=True)
    if repo.exists():
        shutil.rmtree(repo)
    stages = design(shape)
    started = time.perf_counter()
    write_repository(repo, shape, stages)
    git = ["git", *GIT_ID]
    output_of([*git, "init", "-q"], repo, env)
    output_of([str(gitpipe), "init"], repo, env)
    output_of([*git, "add", "-A"], repo, env)
    output_of([*git, "commit", "-q", "-m", "synthetic pipeline"], repo, env)
    generated = time.perf_counter() - started
    print(f"  generated {repo.name} in {generated:.1f}s; building with gitpipe repro -j {jobs}",
          file=sys.stderr, flush=True)

    build = run_measured([str(gitpipe), "repro", "-j", str(jobs)], repo, env)
    print(f"    gitpipe repro (full)   {build.seconds:8.2f}s", file=sys.stderr, flush=True)
    make_build = run_measured(["make", "-r", "-s", "-j", str(jobs)], repo, env)
    print(f"    make -r (full)         {make_build.seconds:8.2f}s", file=sys.stderr, flush=True)
    output_of([*git, "add", "gitpipe.lock", ".gitignore"], repo, env)
    output_of([*git, "commit", "-q", "-m", "gitpipe.lock after the first build"], repo, env)
    # Files hashed within RACY_NS of their mtime are re-hashed by the next command:
    # wait that out, and time the one status that pays for it separately.
    time.sleep(1.2)
    first_status = run_measured([str(gitpipe), "status"], repo, env)
    print(f"    gitpipe status (first) {first_status.seconds:8.3f}s", file=sys.stderr, flush=True)
    result = {
        "generate_s": generated,
        "gitpipe_repro_full_s": build.seconds,
        "gitpipe_repro_full_peak_rss_kib": build.maxrss_kib,
        "make_full_s": make_build.seconds,
        "jobs": jobs,
        "first_status_after_build_s": first_status.seconds,
        "first_status_peak_rss_kib": first_status.maxrss_kib,
        "reused": False,
    }
    marker.write_text(json.dumps({"shape": asdict(shape), "built": True, "build": result}))
    return repo, result


SEAL_FLOOR = "python: the seal's stat calls"
# Each path of the status seal, absolute, one a line; a folder of files alone
# (what the seal's check takes by its record) with its files' names after it,
# tab-separated: seal_floor.py stats those by name instead of listing the folder.
SEAL_PATHS = """
import os
from gitpipe.fastpath.seal import parse, seal_path
with open(seal_path(os.getcwd(), "status"), "rb") as handle:
    sealed = parse(handle.read())
def line(path):
    full = os.path.join(os.getcwd(), path)
    if not os.path.isdir(full):
        return full
    names = sorted(os.listdir(full))
    if any(os.path.isdir(os.path.join(full, name)) or "\\t" in name for name in names):
        return full
    return "\\t".join([full, *names])
print("\\n".join(line(path) for path in sealed[3]))
"""


def seal_paths_file(repo: Path, gitpipe: Path, python: str, env: dict[str, str]) -> Path | None:
    """The absolute paths the status seal of `repo` lists, one a line, in a file
    for seal_floor.py (made untimed, after a status that seals); None without
    a seal."""
    output_of([str(gitpipe), "status"], repo, env)
    try:
        paths = output_of([python, "-c", SEAL_PATHS], repo, env)
    except RuntimeError:
        return None
    target = WORK / f"{repo.name}.seal-paths"
    target.write_text(paths)
    return target


def check_noop(repo: Path, gitpipe: Path, env: dict[str, str]) -> dict[str, Any]:
    """Is the build really complete? A benchmark of a stale repository means nothing."""
    status = output_of([str(gitpipe), "status", "--json"], repo, env)
    report = json.loads(status)
    stale = [row["name"] for row in report["stages"] if row["stale"]]
    make_q = subprocess.run(["make", "-r", "-q"], cwd=repo, env=env, check=False,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    git_clean = output_of(["git", "status", "--porcelain"], repo, env).strip() == ""
    return {"gitpipe_stale_stages": len(stale), "gitpipe_stale_sample": stale[:5],
            "make_up_to_date": make_q == 0, "git_clean": git_clean,
            "stages_reported": len(report["stages"])}


def bench_one(shape: Shape, args: argparse.Namespace, gitpipe: Path, python: str,
              env: dict[str, str]) -> dict[str, Any]:
    print(f"\n== S={shape.stages} F={shape.files} ({shape.slug})", file=sys.stderr, flush=True)
    repo, build = prepare(shape, gitpipe, args.jobs, args.reuse, env)
    noop = check_noop(repo, gitpipe, env)
    if build.get("reused") and noop["gitpipe_stale_stages"]:
        # The code changed since the repository was built (e.g. a new digest format).
        print(f"  {noop['gitpipe_stale_stages']} stage(s) stale in the reused repository; "
              "rebuilding", file=sys.stderr, flush=True)
        rebuild = run_measured([str(gitpipe), "repro", "-j", str(args.jobs)], repo, env)
        output_of(["git", *GIT_ID, "add", "gitpipe.lock", ".gitignore"], repo, env)
        output_of(["git", *GIT_ID, "commit", "-q", "--allow-empty", "-m", "rebuilt"], repo, env)
        time.sleep(1.2)
        build["rebuild_s"] = rebuild.seconds
        build["first_status_after_build_s"] = run_measured([str(gitpipe), "status"], repo,
                                                           env).seconds
        noop = check_noop(repo, gitpipe, env)
    if noop["gitpipe_stale_stages"]:
        print(f"  WARNING: {noop['gitpipe_stale_stages']} stage(s) still stale after the build: "
              f"{noop['gitpipe_stale_sample']}", file=sys.stderr)
    monitor_pid = start_monitor(repo, gitpipe, env) if args.monitor else None
    # Every gitpipe row but the monitored one runs as without a monitor.
    gp = [NO_MONITOR, str(gitpipe)] if monitor_pid else [str(gitpipe)]
    specs: list[CommandSpec] = [
        ("gitpipe status", [*gp, "status"], False),
        ("gitpipe repro (no-op)", [*gp, "repro", "-j", str(args.jobs)], False),
        # The first no-op after a change (or any no-op without the seal) takes this path.
        ("gitpipe status (no seal)", [NO_SEAL, *gp, "status"], False),
        ("gitpipe repro (no seal)", [NO_SEAL, *gp, "repro", "-j", str(args.jobs)], False),
        ("gitpipe status (after a commit)", [*gp, "status"], False,
         lambda rep: commit_unrelated(repo, env, rep)),
        ("gitpipe status (seal broken)", [*gp, "status"], False,
         lambda rep: touch_an_out(repo, rep, [str(gitpipe), "repro", "-j", str(args.jobs)],
                                  {**env, "GITPIPE_NO_MONITOR": "1"} if monitor_pid else env)),
        (SEAL_REMOVED, [*gp, "status"], False, lambda rep: remove_status_seal(repo, python, env)),
        ("gitpipe --version", [*gp, "--version"], False),
        ("gitpipe validate", [*gp, "validate"], False),
        ("gitpipe dag --format json", [*gp, "dag", "--format", "json"], False),
        ("make -r (no-op)", ["make", "-r", "-s"], True),
        ("git status", ["git", "status"], True),
        ("python -c pass", [python, "-c", "pass"], True),
    ]
    if monitor_pid:
        # The seal as the other rows left it, re-armed by one untimed status
        # with the monitor: what the timed one answers from.
        specs.insert(1, (MONITORED, [str(gitpipe), "status"], False,
                         lambda rep: output_of([str(gitpipe), "status"], repo, env) and None))
        # The seal armed with the monitor's token, then an out touched as in
        # "seal broken": the monitor names the one path that changed.
        specs.insert(2, (MONITORED_CHANGE, [str(gitpipe), "status"], False,
                         lambda rep: monitored_change(repo, rep, gitpipe, args.jobs, env)))
    floor = seal_paths_file(repo, gitpipe, python, env)
    if floor is not None:
        # Python making the seal's stat calls and nothing else (seal_floor.py)
        specs.append((SEAL_FLOOR, [python, str(Path(__file__).with_name("seal_floor.py")),
                                   str(floor)], True))
    try:
        figures = time_commands(specs, repo, args.repeat, args.warmup, env, args.gnu_time)
        monitor_cpu = monitor_cpu_per_sync(repo, python, env, monitor_pid) if monitor_pid else None
    finally:
        if monitor_pid:
            output_of([str(gitpipe), "monitor", "stop"], repo, env)
    baselines = {label: fig.median for label, fig in figures.items() if fig.baseline}
    cpu_baselines = {label: fig.cpu_median for label, fig in figures.items() if fig.baseline}
    for fig in figures.values():
        fig.ratios = {label: fig.median / base for label, base in baselines.items() if base > 0}
        fig.cpu_ratios = {label: fig.cpu_median / base
                          for label, base in cpu_baselines.items() if base > 0}
    status = figures["gitpipe status"]
    derived = {
        "status_minus_python_s": status.median - figures["python -c pass"].median,
        "status_minus_version_s": status.median - figures["gitpipe --version"].median,
        "status_per_stage_ms": 1000 * status.median / shape.stages,
        "status_per_file_us": 1e6 * status.median / max(1, shape.files),
    }
    derived["plan_s"] = plan_seconds(repo, python, env, args.repeat)
    if monitor_cpu is not None:
        derived["monitor_cpu_per_sync_ms"] = monitor_cpu
    result = {"shape": asdict(shape), "slug": shape.slug, "repo": str(repo), "build": build,
              "noop_check": noop, "figures": {k: v.to_json() for k, v in figures.items()},
              "derived": derived}
    if args.profile:
        result["profile"] = profile_status(repo, gitpipe, python, shape, env, args.stamp)
    return result


def monitored_change(repo: Path, rep: int, gitpipe: Path, jobs: int,
                     env: dict[str, str]) -> None:
    output_of([str(gitpipe), "status"], repo, env)
    touch_an_out(repo, rep, [str(gitpipe), "repro", "-j", str(jobs)],
                 {**env, "GITPIPE_NO_MONITOR": "1"})


def start_monitor(repo: Path, gitpipe: Path, env: dict[str, str]) -> int | None:
    """`gitpipe monitor start` in `repo`: its pid, None where it cannot run."""
    said = output_of([str(gitpipe), "monitor", "start"], repo, env)
    words = said.replace(",", " ").split()
    if "pid" not in words:
        print(f"  no monitor: {said.strip()}", file=sys.stderr)
        return None
    return int(words[words.index("pid") + 1])


SYNC_SCRIPT = """
import sys
from gitpipe.trust.dotdir import user_cache_dir
from gitpipe.trust.monitorlink import sync
folder = user_cache_dir(sys.argv[1])
for _ in range(int(sys.argv[2])):
    assert sync(folder) is not None
"""


def monitor_cpu_per_sync(repo: Path, python: str, env: dict[str, str], pid: int,
                         count: int = 500) -> float | None:
    """The monitor's own CPU time (ms) per sync (a cookie made, seen, removed):
    not in the CPU time of the monitored row, which counts the status's
    process tree only."""
    def cpu_ticks() -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime

    try:
        before = cpu_ticks()
        output_of([python, "-c", SYNC_SCRIPT, str(repo), str(count)], repo, env)
        spent = cpu_ticks() - before
    except OSError:
        return None
    return 1000 * spent / os.sysconf("SC_CLK_TCK") / count


PLAN_SCRIPT = """
import sys, time
from gitpipe.pipeline import graph
from gitpipe.project.root import Project
started = time.perf_counter()
project = Project(sys.argv[1])
order = graph.plan(project.graph, None)
print(time.perf_counter() - started, len(order))
"""


def plan_seconds(repo: Path, python: str, env: dict[str, str], repeat: int) -> float:
    """Median in-process time to load the spec (from the parse cache) and plan the DAG."""
    times = []
    for _ in range(max(3, repeat)):
        out = output_of([python, "-c", PLAN_SCRIPT, str(repo)], WORK, env).split()
        times.append(float(out[0]))
    return statistics.median(times)


def scaling_fit(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Least squares of the no-op status median against S (F grows with S): slope,
    intercept, R^2, and each size's residual, to say whether growth is linear."""
    xs = [float(r["shape"]["stages"]) for r in results]
    ys = [r["figures"]["gitpipe status"]["median_s"] for r in results]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs) or 1.0  # one size: a flat line
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = mean_y - slope * mean_x
    fitted = [intercept + slope * x for x in xs]
    ss_res = sum((y - f) ** 2 for y, f in zip(ys, fitted, strict=True))
    ss_tot = sum((y - mean_y) ** 2 for y in ys)
    return {"intercept_s": intercept, "slope_ms_per_stage": slope * 1000,
            "r_squared": 1 - ss_res / ss_tot if ss_tot else 1.0,
            "points": [{"stages": int(x), "files": r["shape"]["files"], "status_s": y,
                        "fitted_s": f, "plan_s": r["derived"]["plan_s"],
                        "full_build_s": r["build"]["gitpipe_repro_full_s"],
                        "make_full_s": r["build"]["make_full_s"], **curve_point(r)}
                       for x, y, f, r in zip(xs, ys, fitted, results, strict=True)]}


CURVE = {"sealed": "gitpipe status", "unsealed": "gitpipe status (no seal)",
         "validate": "gitpipe validate", "dag_json": "gitpipe dag --format json",
         "make": "make -r (no-op)", "python": "python -c pass"}


def curve_point(result: dict[str, Any]) -> dict[str, Any]:
    """One size of the curve: wall and CPU medians of each command the issue
    names, and the largest peak RSS among gitpipe's commands."""
    figs = result["figures"]
    point: dict[str, Any] = {}
    for key, label in CURVE.items():
        if label in figs:
            point[f"{key}_s"] = figs[label]["median_s"]
            point[f"{key}_cpu_s"] = figs[label].get("cpu_median_s", 0.0)
    point["peak_rss_kib"] = max((fig["peak_rss_kib"] for label, fig in figs.items()
                                 if label.startswith("gitpipe")), default=0)
    return point


def scaling_markdown(fit: dict[str, Any]) -> str:
    out = ["", f"Linear fit of no-op `gitpipe status`: {fit['intercept_s']:.3f} s + "
           f"{fit['slope_ms_per_stage']:.3f} ms × S, R² = {fit['r_squared']:.4f}",
           "", "| S | F | status s | fitted s | residual | plan s | full build s | make -j s |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in fit["points"]:
        out.append(f"| {p['stages']} | {p['files']} | {p['status_s']:.3f} | {p['fitted_s']:.3f} "
                   f"| {(p['status_s'] - p['fitted_s']) / p['fitted_s']:+.0%} | "
                   f"{p['plan_s']:.3f} | {p['full_build_s']:.2f} | {p['make_full_s']:.2f} |")
    out += ["", "Wall (CPU) medians in seconds; ratios of CPU time to `make -r`'s, same run:", "",
            "| S | F | status, sealed | status, no seal | validate | dag --format json "
            "| make -r no-op | python -c pass | sealed ÷ make | no seal ÷ make "
            "| peak RSS MiB |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in fit["points"]:
        cells = [f"{p.get(f'{key}_s', 0):.3f} ({p.get(f'{key}_cpu_s', 0):.3f})" for key in CURVE]
        make_cpu = p.get("make_cpu_s") or 0.0
        ratios = [f"{p.get(f'{key}_cpu_s', 0) / make_cpu:.1f}" if make_cpu else "—"
                  for key in ("sealed", "unsealed")]
        out.append(f"| {p['stages']:,} | {p['files']:,} | " + " | ".join(cells + ratios)
                   + f" | {p.get('peak_rss_kib', 0) / 1024:.0f} |")
    return "\n".join(out)


def scale_targets(results: list[dict[str, Any]]) -> list[tuple[str, str, bool, bool]]:
    """Issue 22's targets for the no-op paths at scale, from the sizes measured:
    (target, measured, met in wall time?, met in CPU time?). The targets name
    wall time; CPU time (user + system, same run) is what a loaded machine
    disturbs least, so both verdicts are given."""
    by = {r["shape"]["stages"]: r["figures"] for r in results}
    rows: list[tuple[str, str, bool, bool]] = []

    def versus(figs: dict[str, Any], label: str, base: str, limit: float, name: str) -> None:
        wall = figs[label]["ratios"].get(base, 0.0)
        cpu = figs[label].get("cpu_ratios", {}).get(base, 0.0)
        rows.append((name, f"{wall:.2f}× (CPU {cpu:.2f}×)", wall <= limit, cpu <= limit))

    if 200 in by:
        versus(by[200], "gitpipe status", "python -c pass", 1.5,
               "no-op status, sealed, S=200: ≤ 1.5× `python -c pass`")
        if MONITORED in by[200]:
            versus(by[200], MONITORED, "python -c pass", 1.5,
                   "the same with `gitpipe monitor` running (opt-in)")
    if 1000 in by:
        versus(by[1000], "gitpipe status", "make -r (no-op)", 1.5,
               "no-op status, sealed, S=1,000: ≤ 1.5× make")
        if MONITORED in by[1000]:
            versus(by[1000], MONITORED, "make -r (no-op)", 1.5,
                   "the same with `gitpipe monitor` running (opt-in)")
        versus(by[1000], "gitpipe status (no seal)", "make -r (no-op)", 3,
               "first no-op after a change (no seal), S=1,000: ≤ 3× make")
        versus(by[1000], "gitpipe status (seal broken)", "make -r (no-op)", 3,
               "first no-op after a change (seal broken), S=1,000: ≤ 3× make")
        if SEAL_REMOVED in by[1000]:
            versus(by[1000], SEAL_REMOVED, "make -r (no-op)", 3,
                   "first no-op after a change (seal removed), S=1,000: ≤ 3× make")
        if MONITORED_CHANGE in by[1000]:
            versus(by[1000], MONITORED_CHANGE, "make -r (no-op)", 3,
                   "the same with `gitpipe monitor` running (opt-in)")
    if 10000 in by:
        figs = by[10000]
        for label, limit in (("gitpipe status (no seal)", 1.0), (SEAL_REMOVED, 1.0),
                             ("gitpipe status", 0.3),
                             (MONITORED, 0.3),
                             ("gitpipe validate", 1.5), ("gitpipe dag --format json", 1.5)):
            if label not in figs:
                continue
            fig = figs[label]
            cpu = fig.get("cpu_median_s", 0.0)
            rows.append((f"S=10,000: `{label}` ≤ {limit} s",
                         f"{fig['median_s']:.3f} s (CPU {cpu:.3f} s)",
                         fig["median_s"] <= limit, cpu <= limit))
        peak = max(fig["peak_rss_kib"] for label, fig in figs.items()
                   if label.startswith("gitpipe"))
        met = peak * 1024 <= 300e6
        rows.append(("S=10,000: peak RSS ≤ 300 MB", f"{peak * 1024 / 1e6:.0f} MB", met, met))
    return rows


def targets_markdown(rows: list[tuple[str, str, bool, bool]]) -> str:
    if not rows:
        return ""
    out = ["", "| target | measured, wall (CPU) | met in wall time | met in CPU time |",
           "|---|---|---|---|"]
    out += [f"| {name} | {value} | {'yes' if wall else '**no**'} | "
            f"{'yes' if cpu else '**no**'} |" for name, value, wall, cpu in rows]
    return "\n".join(out)


# --------------------------------------------------------------------------------------
# Profiling (--profile)


def profile_status(repo: Path, gitpipe: Path, python: str, shape: Shape,
                   env: dict[str, str], stamp: str) -> dict[str, Any]:
    """cProfile of `python -m gitpipe status` and the slowest imports (-X importtime)."""
    profiles = WORK / "profiles"  # large binary files: kept out of results/
    profiles.mkdir(parents=True, exist_ok=True)
    prof = profiles / f"{stamp}-{shape.slug}-status.prof"
    output_of([python, "-m", "cProfile", "-o", str(prof), "-m", "gitpipe", "status"], repo, env)
    script = (
        "import pstats, sys\n"
        "s = pstats.Stats(sys.argv[1])\n"
        "rows = []\n"
        "for (f, line, fn), (cc, nc, tt, ct, _) in s.stats.items():\n"
        "    rows.append((ct, tt, nc, f'{f}:{line}({fn})'))\n"
        "print(f'{s.total_tt:.6f}')\n"
        "for ct, tt, nc, name in sorted(rows, key=lambda r: -r[1])[:25]:\n"
        "    print(f'tot\\t{tt:.6f}\\t{ct:.6f}\\t{nc}\\t{name}')\n"
        "for ct, tt, nc, name in sorted(rows, key=lambda r: -r[0])[:40]:\n"
        "    print(f'cum\\t{tt:.6f}\\t{ct:.6f}\\t{nc}\\t{name}')\n"
    )
    lines = output_of([python, "-c", script, str(prof)], repo, env).splitlines()
    total = float(lines[0])
    rows: dict[str, list[dict[str, Any]]] = {"tot": [], "cum": []}
    for line in lines[1:]:
        kind, tt, ct, nc, name = line.split("\t")
        rows[kind].append({"tottime_s": float(tt), "cumtime_s": float(ct), "calls": nc,
                           "function": name.replace(str(REPO_ROOT) + "/", "")})
    imports = subprocess.run([python, "-X", "importtime", "-m", "gitpipe", "status"], cwd=repo,
                             env=env, capture_output=True, text=True, check=False).stderr
    parsed = [_importtime(line) for line in imports.splitlines()
              if line.startswith("import time:") and "cumulative" not in line]
    top = min((depth for _, _, depth, _ in parsed), default=0)
    top_level = sorted(((cum_us, self_us, name) for self_us, cum_us, depth, name in parsed
                        if depth == top), reverse=True)
    top_imports = [{"module": name, "cumulative_us": cum_us, "self_us": self_us}
                   for cum_us, self_us, name in top_level]
    print(f"  profile: {prof} (total {total:.3f}s)", file=sys.stderr)
    return {"prof_file": str(prof), "total_s": total, "by_tottime": rows["tot"],
            "by_cumtime": rows["cum"], "top_level_imports": top_imports[:15],
            "import_total_us": sum(cum_us for cum_us, _, _ in top_level)}


def _importtime(line: str) -> tuple[int, int, int, str]:
    """'import time:   123 |   456 |     pkg.mod' → (123, 456, indent, 'pkg.mod')."""
    self_us, cum_us, name = line[len("import time:"):].split("|", 2)
    name = name.rstrip()
    return int(self_us), int(cum_us), len(name) - len(name.lstrip()), name.strip()


# --------------------------------------------------------------------------------------
# Report


ROW_ORDER = ("gitpipe status", MONITORED, "gitpipe repro (no-op)", "gitpipe status (no seal)",
             "gitpipe repro (no seal)", "gitpipe status (after a commit)",
             "gitpipe status (seal broken)", MONITORED_CHANGE, SEAL_REMOVED,
             "gitpipe --version",
             "gitpipe validate", "gitpipe dag --format json",
             "make -r (no-op)", "git status", "python -c pass")


def markdown(results: list[dict[str, Any]]) -> str:
    out = ["| S | F | command | median s | min s | × make no-op | × git status | "
           "× python | CPU s | CPU × make | CPU × python | peak RSS MiB |",
           "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for res in results:
        shape, figs = res["shape"], res["figures"]
        for label in ROW_ORDER:
            fig = figs.get(label)
            if fig is None:
                continue
            ratios, cpu = fig["ratios"], fig.get("cpu_ratios", {})
            out.append(
                f"| {shape['stages']} | {shape['files']} | `{label}` | {fig['median_s']:.4f} | "
                f"{fig['min_s']:.4f} | {ratios.get('make -r (no-op)', 0):.1f} | "
                f"{ratios.get('git status', 0):.1f} | {ratios.get('python -c pass', 0):.1f} | "
                f"{fig.get('cpu_median_s', 0):.4f} | {cpu.get('make -r (no-op)', 0):.1f} | "
                f"{cpu.get('python -c pass', 0):.1f} | {fig['peak_rss_kib'] / 1024:.1f} |")
    out += ["", "| S | F | jobs | gitpipe repro (full) s | make -r (full) s | × make | "
            "first status after build s | stale after build | status ms/stage |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for res in results:
        shape, build = res["shape"], res["build"]
        full, make_full = build["gitpipe_repro_full_s"], build["make_full_s"]
        reused = " (reused)" if build.get("reused") else ""
        out.append(
            f"| {shape['stages']} | {shape['files']} | {build['jobs']} | {full:.2f}{reused} | "
            f"{make_full:.2f} | {full / make_full if make_full else 0:.1f} | "
            f"{build['first_status_after_build_s']:.3f} | "
            f"{res['noop_check']['gitpipe_stale_stages']} | "
            f"{res['derived']['status_per_stage_ms']:.2f} |")
    for res in results:
        prof = res.get("profile")
        if not prof:
            continue
        out += ["", f"cProfile of `python -m gitpipe status`, S={res['shape']['stages']} "
                f"F={res['shape']['files']} (total {prof['total_s']:.3f}s, {prof['prof_file']}):",
                "", "| tottime s | cumtime s | calls | function |", "|---:|---:|---:|---|"]
        out += [f"| {r['tottime_s']:.3f} | {r['cumtime_s']:.3f} | {r['calls']} | "
                f"`{r['function']}` |" for r in prof["by_tottime"][:15]]
        out += ["", "| slowest top-level imports | cumulative ms |", "|---|---:|"]
        out += [f"| `{r['module']}` | {r['cumulative_us'] / 1000:.1f} |"
                for r in prof["top_level_imports"][:10]]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stages", "-S", type=int, default=200, help="stages (default 200)")
    parser.add_argument("--files", "-F", type=int, default=2000,
                        help="raw data files, split evenly between stages (default 2000)")
    parser.add_argument("--matrix", action="store_true",
                        help="run S/F = " + ", ".join(f"{s}/{f}" for s, f in MATRIX))
    parser.add_argument("--scaling", action="store_true",
                        help="run S/F = " + ", ".join(f"{s}/{f}" for s, f in SCALING)
                        + ", fit status time = a + b*S, and time planning each DAG")
    parser.add_argument("--repeat", "-n", type=int, default=5,
                        help="timed runs per command; the median is reported (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1,
                        help="-j for the full build, gitpipe and make alike (default: CPUs)")
    parser.add_argument("--track-data", action="store_true",
                        help="commit the raw data to git (default: untracked, git-ignored)")
    parser.add_argument("--dep-style", choices=("dir", "files"), default="dir",
                        help="deps name each stage's raw directory (default) or every file")
    parser.add_argument("--shared-code", action="store_true",
                        help="one src/stage.sh for all stages (default: one script each)")
    parser.add_argument("--file-bytes", type=int, default=256, help="size of each raw file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true",
                        help="keep an already built repository of the same shape")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile `python -m gitpipe status` and -X importtime")
    parser.add_argument("--gitpipe", help="the gitpipe executable to benchmark")
    parser.add_argument("--inherit-env", action="store_true",
                        help="run children with this environment as is (by default bytecode "
                        "caching is forced on, under benchmarks/.work/pycache)")
    parser.add_argument("--snapshot", action="store_true",
                        help="run a frozen copy of gitpipe/ (PYTHONPATH) so concurrent edits "
                        "cannot change the code under test mid-run")
    parser.add_argument("--no-save", action="store_true", help="do not write results JSON")
    parser.add_argument("--no-monitor", dest="monitor", action="store_false",
                        help="leave out the row of a status with `gitpipe monitor` running "
                        "(Linux; the other rows never ask it)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.stages < 1 or args.files < 0:
        parser.error("--repeat and --stages must be >= 1, --files >= 0")
    for tool in ("git", "make"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not on PATH")

    gitpipe = find_gitpipe(args.gitpipe)
    python = interpreter_of(gitpipe)
    env = bench_env(args.inherit_env)
    args.gnu_time = has_gnu_time()
    source = source_digest()
    if args.snapshot:
        env["PYTHONPATH"] = str(snapshot_source(source))
    WORK.mkdir(parents=True, exist_ok=True)  # not REPO_ROOT: there '' on sys.path finds gitpipe/
    imported = output_of([python, "-c", "import gitpipe; print(gitpipe.__file__)"], WORK,
                         env).strip()
    args.stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    sizes = SCALING if args.scaling else MATRIX if args.matrix else ((args.stages, args.files),)
    meta = {
        "timestamp": args.stamp,
        "argv": sys.argv[1:] if argv is None else argv,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_avg_start": os.getloadavg(),
        "tools": tool_versions(gitpipe, python, env),
        "gitpipe_path": str(gitpipe),
        "gitpipe_imported_from": imported,
        "gitpipe_source_sha256": source,
        "snapshot": bool(args.snapshot),
        "python_baseline": python,
        "repeat": args.repeat, "warmup": args.warmup, "jobs": args.jobs,
        "child_env": {k: env.get(k) for k in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX",
                                              "PYTHONUNBUFFERED", "LC_ALL")},
        "peak_rss_method": "GNU time %M (one extra run)" if args.gnu_time
        else "os.wait4 ru_maxrss (floored at the benchmark's own RSS)",
        "bench_self_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(f"gitpipe: {gitpipe} ({meta['tools']['gitpipe']}), package {imported}, "
          f"source sha256 {source[:12]}", file=sys.stderr)
    results = []
    for stages, files in sizes:
        shape = Shape(stages, files, args.track_data, args.dep_style, args.shared_code,
                      args.file_bytes, args.seed)
        results.append(bench_one(shape, args, gitpipe, python, env))
    meta["load_avg_end"] = os.getloadavg()
    meta["gitpipe_source_sha256_end"] = source_digest()
    if meta["gitpipe_source_sha256_end"] != source and not args.snapshot:
        print("WARNING: gitpipe/ changed while the benchmark ran; figures may mix versions "
              "(use --snapshot)", file=sys.stderr)
    # The process-wide high-water mark the brief names: the largest child of the run.
    meta["rusage_children_maxrss_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if args.scaling:
        meta["scaling"] = scaling_fit(results)
    print(markdown(results))
    if args.scaling:
        print(scaling_markdown(meta["scaling"]))
    print(targets_markdown(scale_targets(results)))
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{args.stamp}.json"
        path.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
        print(f"\nresults: {path.relative_to(REPO_ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
