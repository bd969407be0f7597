#!/usr/bin/env python3
"""gitpipe next to DVC, Snakemake and Make on the same synthetic DAGs, in one run.

Issue 7's benchmark. For each scenario it emits the SAME layered DAG (S stages
fanning in, F raw data files, each stage a small shell command; "params": each
stage reads its own key of params.yaml) as gitpipe.yaml, dvc.yaml, a Snakefile
and a Makefile, and times whole processes, round-robin, warm-up then
repetitions (median, min-max), every figure also a ratio to each peer measured
in the same run:

    CLI start               gitpipe --version / --help, dvc/snakemake/make --version
    no-op status            S=10/F=100, S=200/F=2000 (DVC with and without params),
                            S=1000/F=20000 (gitpipe, Snakemake, Make; DVC with --full)
    full build              S=200: gitpipe repro -j2, dvc repro (serial), snakemake
                            --cores 2, make -j2, each in a fresh copy of the repository
    builds next to make     S=200/F=2000 and S=2000/F=20000: gitpipe repro -j2, make -j2
                            and a bare Python runner (floor_runner.py; with --books, also
                            the least bookkeeping of a content-addressed cache), CPU beside wall
    8 x `sleep 1`           gitpipe -j 8, snakemake --cores 8, make -j8, dvc repro
    hashing                 1 GiB file (page cache warm, no stat cache) vs `cat`;
                            20,000 x 4 KiB files (files/s), next to DVC's md5 code
    backfill                365 daily partitions of `true`, concurrency 8: scheduling
                            overhead = (wall - sum of command time / 8) / 365; and
                            per partition next to make -j8 and a bare Python runner
                            running the same `true`s, wall and CPU, start-up apart;
                            all three again on a RAM file system (/dev/shm), and what
                            a new folder and file cost the kernel on each
    transfer                10,000 x 4 KiB files through moto's S3 server on 127.0.0.1:
                            gitpipe push / pull / push with nothing new next to DVC's
                            (dvc-s3; once each) and the s3fs floor (import, one request);
                            1 GiB in 1,000 files to a folder remote next to `cp -r`

The peers live in their own venv, benchmarks/.work/peers-venv, installed from
benchmarks/requirements-peers.txt (reused while that file is unchanged).

    python benchmarks/bench_peers.py            # the full table (~20-30 min on 2 CPUs)
    python benchmarks/bench_peers.py --quick    # ~5 minutes: smaller sizes, fewer runs
    python benchmarks/bench_peers.py --full     # + DVC at S=1000 (takes many minutes)
    python benchmarks/bench_peers.py --smoke    # CI: gitpipe and make only, < 60 s

Results: benchmarks/results/peers-<timestamp>.json and peers-latest.md (a
markdown table with the machine's description); --smoke writes under
benchmarks/.work/smoke/ instead. Stdlib only; reuses bench_status.py's
generator (design, write_repository) and its process timing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_status as bs

HERE = bs.HERE
REPO_ROOT = bs.REPO_ROOT
WORK = bs.WORK
PEERS_WORK = WORK / "peers"
RESULTS = bs.RESULTS
REQUIREMENTS = HERE / "requirements-peers.txt"
PEERS_VENV = WORK / "peers-venv"
GIT = ["git", *bs.GIT_ID]
PEERS = ("dvc", "snakemake", "make")
PEER_TITLES = {"dvc": "DVC", "snakemake": "Snakemake", "make": "Make"}
MARKER = ".peers-config.json"


# --------------------------------------------------------------------------------------
# What to run


@dataclass(frozen=True)
class Plan:
    """The sizes and repetitions of one mode (default, --quick, --smoke)."""

    name: str
    noop_sizes: tuple[tuple[int, int], ...]
    build_size: tuple[int, int]           # must be one of noop_sizes
    big_size: tuple[int, int] | None      # gitpipe vs make/snakemake (dvc with --full)
    repeat: int
    warmup: int
    cli_repeat: int
    build_repeat: int
    dvc_build_repeat: int
    sleep_stages: int
    sleep_seconds: float
    sleep_repeat: int
    hash_big_mib: int                     # 0: skipped
    hash_small_files: int
    hash_small_bytes: int
    hash_repeat: int
    backfill_days: int
    backfill_repeat: int
    noparams_min_stages: int = 0          # DVC's no-params variant from this size up
    # gitpipe's no-op paths, validate and dag over growing S (bench_status.py's
    # figures: wall and CPU, next to make and python)
    scale_sizes: tuple[tuple[int, int], ...] = ()
    scale_repeat: int = 3
    s3_files: int = 10000                 # small files pushed and pulled through moto's S3
    s3_bytes: int = 4096
    folder_mib: int = 1024                # the big out pushed and pulled to a folder remote
    folder_files: int = 1000
    transfer_repeat: int = 3
    # gitpipe next to make alone ("build" group): full builds of these sizes
    make_build_sizes: tuple[tuple[int, int], ...] = ()
    make_build_repeat: int = 1


PLANS = {
    "default": Plan("default", ((10, 100), (200, 2000)), (200, 2000), (1000, 20000),
                    repeat=5, warmup=1, cli_repeat=10, build_repeat=3, dvc_build_repeat=1,
                    sleep_stages=8, sleep_seconds=1, sleep_repeat=3,
                    hash_big_mib=1024, hash_small_files=20000, hash_small_bytes=4096,
                    hash_repeat=5, backfill_days=365, backfill_repeat=3,
                    scale_sizes=((10, 200), (200, 2000), (1000, 20000), (10000, 200000)),
                    make_build_sizes=((200, 2000), (2000, 20000)), make_build_repeat=3),
    "quick": Plan("quick", ((10, 100), (50, 500)), (50, 500), None,
                  repeat=3, warmup=1, cli_repeat=3, build_repeat=1, dvc_build_repeat=1,
                  sleep_stages=8, sleep_seconds=1, sleep_repeat=1,
                  hash_big_mib=0, hash_small_files=2000, hash_small_bytes=4096,
                  hash_repeat=3, backfill_days=365, backfill_repeat=1,
                  noparams_min_stages=50, scale_sizes=((10, 200), (200, 2000)), scale_repeat=1,
                  s3_files=2000, folder_mib=128, folder_files=128, transfer_repeat=1,
                  make_build_sizes=((200, 2000), (2000, 20000)), make_build_repeat=1),
    # CI: every code path of this script, on sizes that cannot take long.
    "smoke": Plan("smoke", ((10, 100),), (10, 100), None,
                  repeat=1, warmup=0, cli_repeat=1, build_repeat=1, dvc_build_repeat=1,
                  sleep_stages=4, sleep_seconds=0.2, sleep_repeat=1,
                  hash_big_mib=16, hash_small_files=300, hash_small_bytes=4096,
                  hash_repeat=1, backfill_days=31, backfill_repeat=1,
                  scale_sizes=((5, 20),), scale_repeat=1,
                  s3_files=200, folder_mib=8, folder_files=20, transfer_repeat=1,
                  make_build_sizes=((10, 100),), make_build_repeat=1),
}


@dataclass
class Tools:
    gitpipe: str
    python: str                  # the interpreter gitpipe runs on
    dvc: str | None
    snakemake: str | None
    make: str | None
    peers_python: str | None
    env: dict[str, str]
    versions: dict[str, str] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return getattr(self, name) is not None


# --------------------------------------------------------------------------------------
# The peers' venv


def ensure_peers_venv(python: str) -> Path:
    """benchmarks/.work/peers-venv with requirements-peers.txt; reused while unchanged."""
    stamp = PEERS_VENV / ".requirements.sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    bindir = PEERS_VENV / "bin"
    if (stamp.is_file() and stamp.read_text().strip() == wanted
            and (bindir / "dvc").exists() and (bindir / "snakemake").exists()):
        return PEERS_VENV
    if not (bindir / "python").exists():
        log(f"creating {PEERS_VENV.relative_to(REPO_ROOT)}")
        subprocess.run([python, "-m", "venv", str(PEERS_VENV)], check=True)
    log(f"installing {REQUIREMENTS.name} into it (a few minutes the first time)")
    subprocess.run([str(bindir / "python"), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", "-r", str(REQUIREMENTS)], check=True)
    stamp.write_text(wanted + "\n")
    return PEERS_VENV


def find_tools(args: argparse.Namespace, wanted: set[str]) -> Tools:
    gitpipe = str(bs.find_gitpipe(args.gitpipe))
    python = bs.interpreter_of(Path(gitpipe))
    env = bs.bench_env(args.inherit_env)
    env["DVC_NO_ANALYTICS"] = "1"
    env.pop("VIRTUAL_ENV", None)
    dvc = snakemake = peers_python = None
    if wanted & {"dvc", "snakemake"}:
        venv = Path(args.peers_venv) if args.peers_venv else ensure_peers_venv(sys.executable)
        bindir = venv / "bin"
        peers_python = str(bindir / "python")
        if "dvc" in wanted:
            dvc = str(bindir / "dvc")
        if "snakemake" in wanted:
            snakemake = str(bindir / "snakemake")
    make = shutil.which("make") if "make" in wanted else None
    tools = Tools(gitpipe, python, dvc, snakemake, make, peers_python, env)

    def first_line(cmd: list[str]) -> str:
        try:
            return bs.output_of(cmd, WORK, env).strip().splitlines()[0]
        except (OSError, RuntimeError, IndexError) as exc:
            return f"unavailable: {exc}"
    tools.versions = {
        "gitpipe": first_line([gitpipe, "--version"]),
        "python": first_line([python, "-c", "import sys; print(sys.version.split()[0])"]),
        "git": first_line(["git", "--version"]),
    }
    for name in ("dvc", "snakemake", "make"):
        exe = getattr(tools, name)
        if exe:
            tools.versions[name] = first_line([exe, "--version"])
    return tools


def short_version(versions: dict[str, str], name: str) -> str:
    text = versions.get(name, "")
    for word in reversed(text.replace(",", " ").split()):
        if word[:1].isdigit():
            return word
    return text


# --------------------------------------------------------------------------------------
# Measuring


@dataclass
class Measurement:
    seconds: float
    maxrss_kib: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def run_child(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[Measurement, str]:
    """Run one child to completion: wall time, its peak RSS (wait4), the CPU time of
    it and its descendants, and its output."""
    sample, text = bs.run_capturing(cmd, cwd, env)
    return Measurement(sample.seconds, sample.maxrss_kib,
                       {"cpu_s": sample.cpu_seconds}), text


@dataclass
class Spec:
    """One thing to time: `run(rep)` returns one Measurement."""

    key: str
    label: str
    run: Callable[[int], Measurement]
    repeat: int | None = None          # fewer repetitions than the scenario's (slow peers)
    warmup: int | None = None


@dataclass
class Figure:
    label: str
    samples: list[float]
    maxrss_kib: list[int]
    extras: list[dict[str, Any]] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "median_s": self.median, "min_s": min(self.samples),
                "max_s": max(self.samples), "samples_s": self.samples,
                "wait4_maxrss_kib": self.maxrss_kib, "extras": self.extras}


def command(key: str, label: str, cmd: list[str], cwd: Path, env: dict[str, str],
            repeat: int | None = None) -> Spec:
    return Spec(key, label, lambda _rep: run_child(cmd, cwd, env)[0], repeat)


def after_commit(key: str, label: str, cmd: list[str], cwd: Path, env: dict[str, str]) -> Spec:
    """`cmd` timed right after a commit of a file no stage reads (untimed): the git
    index and HEAD are new, the pipeline's inputs are not. The first status a user
    or a post-commit hook asks for."""
    def run(rep: int) -> Measurement:
        bs.commit_unrelated(cwd, env, rep)
        return run_child(cmd, cwd, env)[0]
    return Spec(key, label, run)


def round_robin(specs: list[Spec], repeat: int, warmup: int) -> dict[str, Figure]:
    """Warm-up runs, then `repeat` rounds in which every spec runs once, so background
    load drifting during the run hits every tool alike and same-run ratios stay fair."""
    for rnd in range(warmup):
        for spec in specs:
            if rnd < (spec.warmup if spec.warmup is not None else warmup):
                spec.run(-1 - rnd)
    got: dict[str, list[Measurement]] = {spec.key: [] for spec in specs}
    for rnd in range(max([repeat] + [s.repeat or 0 for s in specs])):
        for spec in specs:
            if rnd < (spec.repeat or repeat):
                got[spec.key].append(spec.run(rnd))
    figures = {}
    for spec in specs:
        runs = got[spec.key]
        fig = Figure(spec.label, [m.seconds for m in runs], [m.maxrss_kib for m in runs],
                     [m.extra for m in runs])
        figures[spec.key] = fig
        log(f"    {spec.label:<44} median {fig.median:9.4f}s  "
            f"min {min(fig.samples):9.4f}s  max {max(fig.samples):9.4f}s  (n={len(runs)})")
    return figures


# --------------------------------------------------------------------------------------
# The synthetic DAG, for four tools


def shape_of(stages: int, files: int) -> bs.Shape:
    return bs.Shape(stages, files)


def dvc_yaml(stages: list[bs.StageDef], params: bool) -> str:
    lines = ["stages:"]
    for stage in stages:
        deps = [f"src/{stage.name}.sh"]
        if stage.raw:
            deps.append(f"data/raw/{stage.name}")
        deps += [f"dvc/{u}.txt" for u in stage.upstream]
        lines += [f"  {stage.name}:",
                  f"    cmd: mkdir -p dvc && sh src/{stage.name}.sh dvc/{stage.name}.txt "
                  f"{bs._inputs(stage, 'dvc')}",
                  "    deps:", *(f"      - {dep}" for dep in deps)]
        if params:
            lines.append(f"    params: [{stage.name}.x]")
        lines.append(f"    outs: [dvc/{stage.name}.txt]")
    return "\n".join(lines) + "\n"


def snakefile(stages: list[bs.StageDef]) -> str:
    """The same DAG for Snakemake: every raw file an input (as for make), the stage's
    key of params.yaml a `params:` entry (a rerun trigger), outs under smk/."""
    lines = ['configfile: "params.yaml"', "",
             "rule all:", "    input:",
             *(f'        "smk/{s.name}.txt",' for s in stages), ""]
    for stage in stages:
        inputs = [f"src/{stage.name}.sh", *stage.raw, *(f"smk/{u}.txt" for u in stage.upstream)]
        lines += [f"rule {stage.name}:", "    input:",
                  *(f'        "{path}",' for path in inputs),
                  f'    output: "smk/{stage.name}.txt"',
                  f'    params: x=config["{stage.name}"]["x"]',
                  f'    shell: "sh src/{stage.name}.sh {{output}} {bs._inputs(stage, "smk")}"',
                  ""]
    return "\n".join(lines)


def init_repo(repo: Path, tools: Tools, with_dvc: bool, with_gitpipe: bool = True) -> None:
    env = tools.env
    bs.output_of([*GIT, "init", "-q"], repo, env)
    if with_gitpipe:
        bs.output_of([tools.gitpipe, "init"], repo, env)
    if with_dvc and tools.dvc:
        bs.output_of([tools.dvc, "init", "-q"], repo, env)
        bs.output_of([tools.dvc, "config", "core.analytics", "false"], repo, env)
        bs.output_of([tools.dvc, "config", "core.check_update", "false"], repo, env)
        # What a DVC user's repository would not hold: the other tools' outs and state.
        (repo / ".dvcignore").write_text(
            "/out/\n/mk/\n/smk/\n/.gitpipe/\n/.snakemake/\n/.bench-config.json\n")
    bs.output_of([*GIT, "add", "-A"], repo, env)
    bs.output_of([*GIT, "commit", "-q", "-m", "synthetic pipeline"], repo, env)


def write_dag_template(template: Path, shape: bs.Shape, tools: Tools, dvc_params: bool,
                       only_dvc: bool = False) -> None:
    """A committed, never built repository with the DAG for every selected tool."""
    stages = bs.design(shape)
    bs.write_repository(template, shape, stages)
    if only_dvc:
        (template / "gitpipe.yaml").unlink()
        (template / "Makefile").unlink()
    elif tools.snakemake:
        (template / "Snakefile").write_text(snakefile(stages))
    if tools.dvc:
        (template / "dvc.yaml").write_text(dvc_yaml(stages, dvc_params))
    with (template / ".gitignore").open("a") as ignore:
        ignore.write("/smk/\n/.snakemake/\n")
    init_repo(template, tools, with_dvc=True, with_gitpipe=not only_dvc)


def fresh_copy(template: Path, target: Path, env: dict[str, str]) -> Path:
    """A copy of a template repository, its git index refreshed (untimed) so that no
    tool pays for re-stat'ing an index whose inodes all changed."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(template, target, symlinks=True)
    subprocess.run([*GIT, "update-index", "-q", "--refresh"], cwd=target, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return target


def build_cmds(tools: Tools, jobs: int) -> dict[str, list[str]]:
    cmds = {"gitpipe": [tools.gitpipe, "repro", "-j", str(jobs)]}
    if tools.dvc:
        cmds["dvc"] = [tools.dvc, "repro"]                      # DVC runs stages serially
    if tools.snakemake:
        cmds["snakemake"] = [tools.snakemake, "--cores", str(jobs)]
    if tools.make:
        cmds["make"] = [tools.make, "-r", "-s", f"-j{jobs}"]
    return cmds


def status_cmds(tools: Tools) -> dict[str, list[str]]:
    cmds = {"gitpipe": [tools.gitpipe, "status"]}
    if tools.dvc:
        cmds["dvc"] = [tools.dvc, "status"]
    if tools.snakemake:
        cmds["snakemake"] = [tools.snakemake, "-n", "--cores", "1"]
    if tools.make:
        cmds["make"] = [tools.make, "-r", "-q"]
    return cmds


STATUS_LABELS = {"gitpipe": "gitpipe status", "dvc": "dvc status",
                 "snakemake": "snakemake -n", "make": "make -r -q"}


def noop_check(repo: Path, tools: Tools, keys: list[str]) -> dict[str, Any]:
    """Is every tool's build complete? A benchmark of a stale repository means nothing."""
    env, result = tools.env, {}
    if "gitpipe" in keys:
        report = json.loads(bs.output_of([tools.gitpipe, "status", "--json"], repo, env))
        stale = [row["name"] for row in report["stages"] if row["stale"]]
        result["gitpipe"] = {"ok": not stale, "stale": len(stale), "sample": stale[:5]}
    if "dvc" in keys and tools.dvc:
        text = bs.output_of([tools.dvc, "status", "--json"], repo, env).strip()
        changed = json.loads(text or "{}")
        result["dvc"] = {"ok": not changed, "stale": len(changed), "sample": list(changed)[:5]}
    if "snakemake" in keys and tools.snakemake:
        done = subprocess.run([tools.snakemake, "-n", "--cores", "1"], cwd=repo, env=env,
                              capture_output=True, text=True, check=False)
        text = done.stdout + done.stderr
        result["snakemake"] = {"ok": done.returncode == 0 and "Nothing to be done" in text,
                               "tail": text.strip().splitlines()[-3:]}
    if "make" in keys and tools.make:
        code = subprocess.run([tools.make, "-r", "-q"], cwd=repo, env=env, check=False,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        result["make"] = {"ok": code == 0}
    for key, check in result.items():
        if not check["ok"]:
            log(f"  WARNING: {key} is not a no-op in {repo}: {check}")
    return result


def prepare_size(shape: bs.Shape, tools: Tools, keys: list[str], jobs: int, reuse: bool,
                 dvc_params: bool = True, only_dvc: bool = False,
                 tag: str = "") -> tuple[Path, Path, dict[str, Any]]:
    """The template and the built no-op repository of one size. The builds made here
    are timed (one sample each) and reported with the full builds."""
    base = PEERS_WORK / (shape.slug + tag)
    template, noop = base / "template", base / "noop"
    config = {"shape": asdict(shape), "keys": sorted(keys), "dvc_params": dvc_params,
              "versions": tools.versions}
    marker = base / MARKER
    if reuse and marker.is_file():
        recorded = json.loads(marker.read_text())
        if recorded.get("config") == config:
            check = noop_check(noop, tools, keys)
            stale = [key for key, c in check.items() if not c["ok"]]
            if stale:
                # e.g. gitpipe's code changed its digests since: rebuild those tools only
                # (not DVC's many minutes unless DVC itself is stale).
                log(f"  reused repository: rebuilding {', '.join(stale)}")
                cmds = build_cmds(tools, jobs)
                for key in stale:
                    run_child(cmds[key], noop, tools.env)
                bs.output_of([*GIT, "add", "-A"], noop, tools.env)
                bs.output_of([*GIT, "commit", "-q", "--allow-empty", "-m", "rebuilt"], noop,
                             tools.env)
                time.sleep(1.2)
                check = noop_check(noop, tools, keys)
            if all(c["ok"] for c in check.values()):
                log(f"  reusing {noop.relative_to(REPO_ROOT)}")
                return template, noop, dict(recorded["build"], reused=True,
                                            rebuilt=stale, noop_check=check)
            log("  the reused repository is still not a no-op; regenerating it")
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    started = time.perf_counter()
    write_dag_template(template, shape, tools, dvc_params, only_dvc)
    fresh_copy(template, noop, tools.env)
    log(f"  generated {base.name} in {time.perf_counter() - started:.1f}s; building")
    build: dict[str, Any] = {"jobs": jobs, "seconds": {}}
    for key, cmd in build_cmds(tools, jobs).items():
        if key not in keys:
            continue
        seconds = run_child(cmd, noop, tools.env)[0].seconds
        build["seconds"][key] = seconds
        log(f"    {' '.join(Path(c).name if c.startswith('/') else c for c in cmd):<44}"
            f" {seconds:9.2f}s (full build)")
    bs.output_of([*GIT, "add", "-A"], noop, tools.env)
    bs.output_of([*GIT, "commit", "-q", "--allow-empty", "-m", "locks after the first build"],
                 noop, tools.env)
    # gitpipe re-hashes files hashed within 1 s of their mtime (git's racy rule): wait
    # that out; the warm-up run pays for the one re-hash.
    time.sleep(1.2)
    build["noop_check"] = noop_check(noop, tools, keys)
    marker.write_text(json.dumps({"config": config, "build": build}))
    return template, noop, build


# --------------------------------------------------------------------------------------
# Scenarios


def scenario(sid: str, title: str, gitpipe: dict[str, Figure], peers: dict[str, Figure],
             **more: Any) -> dict[str, Any]:
    """One row group of the table; ratios are gitpipe's median over each peer's."""
    ratios = {g: {p: gfig.median / pfig.median for p, pfig in peers.items() if pfig.median > 0}
              for g, gfig in gitpipe.items()}
    return {"id": sid, "title": title, "kind": "time",
            "gitpipe": {k: v.to_json() for k, v in gitpipe.items()},
            "peers": {k: v.to_json() for k, v in peers.items()},
            "ratios_gitpipe_over_peer": ratios, **more}


def bench_cli(tools: Tools, plan: Plan) -> list[dict[str, Any]]:
    log("\n== CLI start")
    env = tools.env
    specs = [command("gitpipe --version", "gitpipe --version", [tools.gitpipe, "--version"],
                     WORK, env),
             command("gitpipe --help", "gitpipe --help", [tools.gitpipe, "--help"], WORK, env)]
    for key in PEERS:
        if tools.has(key):
            exe = getattr(tools, key)
            specs.append(command(key, f"{key} --version", [exe, "--version"], WORK, env))
    figs = round_robin(specs, plan.cli_repeat, max(1, plan.warmup))
    peers = {k: figs[k] for k in PEERS if k in figs}
    return [scenario("cli", "CLI start (`--version`; gitpipe also `--help`)",
                     {"gitpipe --version": figs["gitpipe --version"],
                      "gitpipe --help": figs["gitpipe --help"]}, peers)]


def bench_size(tools: Tools, plan: Plan, stages: int, files: int, args: argparse.Namespace,
               big: bool) -> list[dict[str, Any]]:
    shape = shape_of(stages, files)
    log(f"\n== S={stages} F={files}")
    keys = ["gitpipe"] + [k for k in PEERS if tools.has(k)]
    if big and not args.full:
        keys = [k for k in keys if k != "dvc"]
    env, jobs = tools.env, args.jobs
    template, noop, build = prepare_size(shape, tools, keys, jobs, args.reuse)
    out: list[dict[str, Any]] = []
    noparams_repo = None
    if "dvc" in keys and stages >= plan.noparams_min_stages:
        log(f"  DVC without params, S={stages} F={files}")
        _, noparams_repo, np_build = prepare_size(shape, tools, ["dvc"], jobs, args.reuse,
                                                  dvc_params=False, only_dvc=True,
                                                  tag="-dvc-noparams")
        build["dvc_noparams"] = np_build
    cmds = status_cmds(tools)
    # Without the no-op seal: what the first no-op after any change costs.
    no_seal = {**env, "GITPIPE_NO_SEAL": "1"}
    specs = [command("gitpipe", "gitpipe status", cmds["gitpipe"], noop, env),
             command("gitpipe repro", "gitpipe repro (no-op)",
                     [tools.gitpipe, "repro", "-j", str(jobs)], noop, env),
             command("gitpipe-unsealed", "GITPIPE_NO_SEAL=1 gitpipe status", cmds["gitpipe"],
                     noop, no_seal),
             command("gitpipe repro-unsealed", "GITPIPE_NO_SEAL=1 gitpipe repro (no-op)",
                     [tools.gitpipe, "repro", "-j", str(jobs)], noop, no_seal),
             after_commit("gitpipe-after-commit", "gitpipe status, first after a commit",
                          cmds["gitpipe"], noop, env)]
    for key in keys[1:]:
        specs.append(command(key, STATUS_LABELS[key], cmds[key], noop, env))
    if noparams_repo is not None:
        specs.append(command("dvc-noparams", "dvc status (no params)", cmds["dvc"],
                             noparams_repo, env))
    load_before = os.getloadavg()
    figs = round_robin(specs, plan.repeat, plan.warmup)
    gp = {"gitpipe status": figs["gitpipe"], "gitpipe repro (no-op)": figs["gitpipe repro"],
          "gitpipe status (no seal)": figs["gitpipe-unsealed"],
          "gitpipe repro (no seal)": figs["gitpipe repro-unsealed"],
          "gitpipe status (after a commit)": figs["gitpipe-after-commit"]}
    peers = {k: figs[k] for k in keys[1:]}
    more = {"shape": asdict(shape), "build_in_noop_repo": build,
            "load_avg": [load_before, os.getloadavg()]}
    out.append(scenario(f"noop-s{stages}", f"no-op status, S={stages:,} F={files:,}, params",
                        gp, peers, **more))
    if "dvc-noparams" in figs:
        out.append(scenario(f"noop-s{stages}-noparams",
                            "the same, DVC without params (gitpipe: the row above)",
                            gp, {"dvc": figs["dvc-noparams"]}, shape=asdict(shape)))
    if (stages, files) == plan.build_size:
        out.append(bench_full_build(tools, plan, shape, template, build, keys, jobs))
    if big or (stages, files) == plan.noop_sizes[-1]:
        out[0]["gitpipe_status_max_wait4_rss_kib"] = max(figs["gitpipe"].maxrss_kib)
    return out


def bench_full_build(tools: Tools, plan: Plan, shape: bs.Shape, template: Path,
                     first: dict[str, Any], keys: list[str], jobs: int) -> dict[str, Any]:
    """Full builds, each in a fresh copy of the never-built template. The build that
    made the no-op repository is the first sample; the others run round-robin."""
    log(f"  full builds, S={shape.stages} F={shape.files} (-j{jobs}; dvc serial)")
    cmds = build_cmds(tools, jobs)
    scratch = template.parent / "scratch"

    def builder(key: str) -> Callable[[int], Measurement]:
        def run(rep: int) -> Measurement:
            repo = fresh_copy(template, scratch, tools.env)
            try:
                return run_child(cmds[key], repo, tools.env)[0]
            finally:
                shutil.rmtree(repo, ignore_errors=True)
        return run

    # The build that made the no-op repository is the first sample, unless that
    # repository was reused (--reuse): then every tool but DVC builds afresh, and DVC's
    # one sample is the one recorded when the repository was built (said so in the JSON).
    reused = bool(first.get("reused"))
    if reused:
        first = {"seconds": {k: v for k, v in first["seconds"].items() if k == "dvc"}}
    extra = {key: max(0, (plan.dvc_build_repeat if key == "dvc" else plan.build_repeat)
                      - (1 if key in first["seconds"] else 0)) for key in keys}
    specs = [Spec(key, " ".join(Path(c).name if c.startswith("/") else c for c in cmds[key]),
                  builder(key), repeat=extra[key], warmup=0) for key in keys if extra[key] > 0]
    figs = round_robin(specs, 0, 0) if specs else {}
    all_figs: dict[str, Figure] = {}
    for key in keys:
        label = " ".join(Path(c).name if c.startswith("/") else c for c in cmds[key])
        first_s = first["seconds"].get(key)
        samples = ([first_s] if first_s is not None else []) + \
            (figs[key].samples if key in figs else [])
        all_figs[key] = Figure(label, samples, [0] * len(samples))
    peers = {k: all_figs[k] for k in keys[1:]}
    return scenario(f"build-s{shape.stages}",
                    f"full build, S={shape.stages:,} F={shape.files:,} (`-j{jobs}`; DVC serial)",
                    {"gitpipe repro": all_figs["gitpipe"]}, peers, shape=asdict(shape),
                    samples_from_earlier_run=sorted(first["seconds"]) if reused else [])


def fresh_build(template: Path, scratch: Path, cmd: list[str], env: dict[str, str],
                outs_dir: str) -> Callable[[int], Measurement]:
    """A build of a fresh copy of `template`, with the number of outs it wrote."""
    def run(_rep: int) -> Measurement:
        repo = fresh_copy(template, scratch, env)
        try:
            measured = run_child(cmd, repo, env)[0]
            measured.extra["outs"] = len(list((repo / outs_dir).iterdir()))
            return measured
        finally:
            shutil.rmtree(repo, ignore_errors=True)
    return run


def bench_make_builds(tools: Tools, plan: Plan, jobs: int) -> list[dict[str, Any]]:
    """Full builds next to make alone (issue 22's rows): each size's never-built
    template, copied afresh for every build, gitpipe and make in turn."""
    if not tools.make:
        return []
    alone = Tools(tools.gitpipe, tools.python, None, None, tools.make, None, tools.env,
                  tools.versions)
    out = []
    for stages, files in plan.make_build_sizes:
        shape = shape_of(stages, files)
        log(f"\n== full build next to make, S={stages} F={files} (-j{jobs})")
        base = PEERS_WORK / f"make-build-s{stages}-f{files}"
        template = base / "template"
        marker = base / MARKER
        config = json.dumps(asdict(shape), sort_keys=True)
        if not (marker.exists() and marker.read_text() == config and template.exists()):
            shutil.rmtree(base, ignore_errors=True)
            base.mkdir(parents=True)
            write_dag_template(template, shape, alone, dvc_params=False)
            marker.write_text(config)
        cmds = build_cmds(alone, jobs)
        # The floor of a Python runner: gitpipe's commands, started as gitpipe starts
        # them, with none of its bookkeeping (benchmarks/floor_runner.py).
        dag = base / "floor-dag.json"
        dag.write_text(json.dumps([
            {"name": st.name, "needs": st.upstream,
             "cmd": f"sh {bs._code_path(shape, st)} {st.out} {bs._inputs(st, 'out')}",
             "reads": [bs._code_path(shape, st), *([f"data/raw/{st.name}"] if st.raw else []),
                       *(f"out/{up}.txt" for up in st.upstream)],
             "writes": [st.out]}
            for st in bs.design(shape)]))
        cmds["floor"] = [tools.python, str(HERE / "floor_runner.py"), str(dag), str(jobs)]
        # ... and with the least bookkeeping gitpipe's model needs (--books: the
        # deps hashed, the out cached, a run entry, a lock).
        cmds["floor-books"] = [*cmds["floor"], "--books"]
        outs_dir = {"gitpipe": "out", "make": "mk", "floor": "out", "floor-books": "out"}
        specs = [Spec(key, " ".join(Path(c).name if c.startswith("/") else c for c in cmds[key]),
                      fresh_build(template, base / f"run-{key}", cmds[key], tools.env,
                                  outs_dir[key]),
                      warmup=1 if stages <= 200 else 0) for key in cmds]
        figs = round_robin(specs, plan.make_build_repeat, 1 if stages <= 200 else 0)
        short = [k for k, f in figs.items() if any(e["outs"] != stages for e in f.extras)]
        if short:
            log(f"  WARNING: {', '.join(short)} did not write all {stages} outs")
        cpu = {k: [e["cpu_s"] for e in f.extras] for k, f in figs.items()}
        res = scenario(f"make-build-s{stages}",
                       f"full build next to make, S={stages:,} F={files:,} (`-j{jobs}`)",
                       {"gitpipe repro": figs["gitpipe"],
                        "a bare Python runner (floor_runner.py)": figs["floor"],
                        "the bare runner with a cache's bookkeeping (floor_runner.py --books)":
                            figs["floor-books"]},
                       {"make": figs["make"]},
                       shape=asdict(shape), jobs=jobs, incomplete=short,
                       cpu_s={k: {"median": statistics.median(v), "samples": v}
                              for k, v in cpu.items()},
                       load_avg=os.getloadavg())
        out.append(res)
    return out


def bench_sleep(tools: Tools, plan: Plan) -> list[dict[str, Any]]:
    n, secs = plan.sleep_stages, plan.sleep_seconds
    log(f"\n== {n} independent `sleep {secs:g}` stages")
    base = PEERS_WORK / f"sleep-{n}x{secs:g}"
    template = base / "template"
    if base.exists():
        shutil.rmtree(base)
    template.mkdir(parents=True)
    names = [f"sleep{i}" for i in range(n)]
    gp = ["stages:"]
    dv = ["stages:"]
    for name in names:
        gp += [f"  {name}:", f'    cmd: "mkdir -p out && sleep {secs:g} && echo {name} > '
               f'out/{name}.txt"', f"    outs: [out/{name}.txt]"]
        dv += [f"  {name}:", f'    cmd: "mkdir -p dvc && sleep {secs:g} && echo {name} > '
               f'dvc/{name}.txt"', f"    outs: [dvc/{name}.txt]"]
    (template / "gitpipe.yaml").write_text("\n".join(gp) + "\n")
    if tools.dvc:
        (template / "dvc.yaml").write_text("\n".join(dv) + "\n")
    if tools.snakemake:
        smk = ["rule all:", "    input: " + ", ".join(f'"smk/{x}.txt"' for x in names), ""]
        for name in names:
            smk += [f"rule {name}:", f'    output: "smk/{name}.txt"',
                    f'    shell: "sleep {secs:g} && echo {name} > {{output}}"', ""]
        (template / "Snakefile").write_text("\n".join(smk))
    mk = [".SUFFIXES:", "all: " + " ".join(f"mk/{x}.txt" for x in names), ""]
    for name in names:
        mk += [f"mk/{name}.txt:", "\t@mkdir -p mk", f"\t@sleep {secs:g} && echo {name} > $@", ""]
    (template / "Makefile").write_text("\n".join([*mk, ".PHONY: all"]) + "\n")
    (template / ".gitignore").write_text("/mk/\n/smk/\n/.snakemake/\n")
    init_repo(template, tools, with_dvc=True)
    cmds = build_cmds(tools, n)
    keys = ["gitpipe"] + [k for k in PEERS if tools.has(k)]

    def builder(key: str) -> Callable[[int], Measurement]:
        def run(rep: int) -> Measurement:
            repo = fresh_copy(template, base / f"run-{key}", tools.env)
            try:
                return run_child(cmds[key], repo, tools.env)[0]
            finally:
                shutil.rmtree(repo, ignore_errors=True)
        return run

    specs = [Spec(key, " ".join(Path(c).name if c.startswith("/") else c for c in cmds[key]),
                  builder(key), warmup=0) for key in keys]
    figs = round_robin(specs, plan.sleep_repeat, 0)
    return [scenario("sleep", f"{n} independent `sleep {secs:g}` stages "
                     f"(`-j {n}`; DVC serial)", {"gitpipe repro": figs["gitpipe"]},
                     {k: figs[k] for k in keys[1:]}, floor_s=secs,
                     serial_floor_s=n * secs)]


HASH_CHILD = r"""
import json, os, sys, time, tempfile
mode, target = sys.argv[1], sys.argv[2]
if mode == "gitpipe-file":
    from gitpipe.hashing.digests import hash_file
    t = time.perf_counter(); hash_file(target); s = time.perf_counter() - t
    print(json.dumps({"seconds": s, "amount": os.path.getsize(target)}))
elif mode == "gitpipe-scan":
    from gitpipe.hashing.coldscan import scan_directory
    t = time.perf_counter()
    scan = scan_directory(target)
    s = time.perf_counter() - t
    print(json.dumps({"seconds": s, "amount": scan.files}))
elif mode == "gitpipe-workspace":
    from pathlib import Path
    from gitpipe.storage.state import State
    from gitpipe.storage.workspace import Workspace
    root, rel = os.path.split(target)
    with tempfile.TemporaryDirectory() as tmp:
        state = State(Path(tmp) / "state.db")          # empty: a cold stat cache
        t = time.perf_counter()
        info = Workspace(Path(root), state, None).info(rel)
        state.close()                                   # includes writing the stat cache
        s = time.perf_counter() - t
    print(json.dumps({"seconds": s, "amount": info.files}))
elif mode == "dvc-file":
    from dvc_data.hashfile.hash import file_md5
    t = time.perf_counter(); file_md5(target); s = time.perf_counter() - t
    print(json.dumps({"seconds": s, "amount": os.path.getsize(target)}))
elif mode == "dvc-tree":
    from dvc_objects.fs.local import LocalFileSystem
    from dvc_data.hashfile.build import _build_tree
    fs = LocalFileSystem()
    t = time.perf_counter()
    meta, tree = _build_tree(target, fs, fs.info(target), "md5", dry_run=True)
    s = time.perf_counter() - t
    print(json.dumps({"seconds": s, "amount": len(tree)}))
"""


def hash_spec(key: str, label: str, python: str, mode: str, target: Path,
              env: dict[str, str]) -> Spec:
    def run(_rep: int) -> Measurement:
        whole, text = run_child([python, "-c", HASH_CHILD, mode, str(target)], WORK, env)
        got = json.loads(text.strip().splitlines()[-1])
        return Measurement(got["seconds"], whole.maxrss_kib,
                           {"amount": got["amount"], "whole_process_s": whole.seconds})
    return Spec(key, label, run)


def cat_spec(target: Path, env: dict[str, str]) -> Spec:
    def run(_rep: int) -> Measurement:
        whole, _ = run_child(["sh", "-c", f"cat '{target}' > /dev/null"], WORK, env)
        return Measurement(whole.seconds, whole.maxrss_kib,
                           {"amount": target.stat().st_size, "whole_process_s": whole.seconds})
    return Spec("cat", "cat file > /dev/null", run)


def throughput_scenario(sid: str, title: str, unit: str, amount: int,
                        figs: dict[str, Figure], target: float | None = None,
                        **more: Any) -> dict[str, Any]:
    def rate(fig: Figure) -> dict[str, float]:
        return {"median": amount / fig.median, "min": amount / max(fig.samples),
                "max": amount / min(fig.samples)}
    rates = {k: rate(f) for k, f in figs.items()}
    gitpipe_keys = [k for k in figs if k.startswith("gitpipe")]
    ratios = {g: {p: rates[g]["median"] / rates[p]["median"] for p in figs
                  if not p.startswith("gitpipe")} for g in gitpipe_keys}
    return {"id": sid, "title": title, "kind": "throughput", "unit": unit, "amount": amount,
            "figures": {k: f.to_json() for k, f in figs.items()}, "rates": rates,
            "ratios_gitpipe_over_peer": ratios, **more}


def bench_hashing(tools: Tools, plan: Plan) -> list[dict[str, Any]]:
    env = tools.env
    base = WORK / "hash"
    base.mkdir(parents=True, exist_ok=True)
    out = []
    if plan.hash_big_mib:
        size = plan.hash_big_mib * 2**20
        big = base / f"big-{plan.hash_big_mib}m.bin"
        log(f"\n== hashing one {plan.hash_big_mib} MiB file (page cache warm, no stat cache)")
        if not big.is_file() or big.stat().st_size != size:
            block = os.urandom(2**20)
            with big.open("wb") as handle:
                for i in range(plan.hash_big_mib):
                    handle.write(block[:-8] + i.to_bytes(8, "little"))
        subprocess.run(["sh", "-c", f"cat '{big}' > /dev/null"], check=True)  # warm the cache
        specs = [hash_spec("gitpipe", "gitpipe hash_file (in-process)", tools.python,
                           "gitpipe-file", big, env), cat_spec(big, env)]
        if tools.peers_python and tools.dvc:
            specs.append(hash_spec("dvc", "dvc_data file_md5 (in-process)", tools.peers_python,
                                   "dvc-file", big, env))
        figs = round_robin(specs, plan.hash_repeat, max(1, plan.warmup))
        out.append(throughput_scenario(
            "hash-big", f"hash one {plan.hash_big_mib:,} MiB file (page cache warm)", "MB/s",
            size, figs, target=0.70))
    n = plan.hash_small_files
    small = base / f"small-{n}x{plan.hash_small_bytes}"
    log(f"\n== hashing {n:,} x {plan.hash_small_bytes} B files (no stat cache)")
    complete = base / f"{small.name}.complete"      # outside the directory it describes
    if not complete.is_file():
        shutil.rmtree(small, ignore_errors=True)
        per_dir = 1000
        for i in range(n):
            sub = small / f"d{i // per_dir:03d}"
            if i % per_dir == 0:
                sub.mkdir(parents=True)
            (sub / f"f{i:06d}.bin").write_bytes(
                i.to_bytes(8, "little") * (plan.hash_small_bytes // 8))
        complete.write_text("")
    # The headline: what `gitpipe status` does with a directory it never saw,
    # state.db written. The same in one process (a repro, which runs threads,
    # never forks), and the scan alone: the work DVC's figure covers (listing,
    # hashing, the manifest's digest; no state written).
    specs = [hash_spec("gitpipe workspace", "gitpipe Workspace.info(dir), cold state.db",
                       tools.python, "gitpipe-workspace", small, env),
             hash_spec("gitpipe workspace, 1 process",
                       "the same, GITPIPE_HASH_WORKERS=1 (as in a repro)", tools.python,
                       "gitpipe-workspace", small, {**env, "GITPIPE_HASH_WORKERS": "1"}),
             hash_spec("gitpipe scan", "gitpipe coldscan.scan_directory (no state.db)",
                       tools.python, "gitpipe-scan", small, env)]
    if tools.peers_python and tools.dvc:
        specs.append(hash_spec("dvc", "dvc_data _build_tree (md5, no state)",
                               tools.peers_python, "dvc-tree", small, env))
    subprocess.run(["sh", "-c", f"cat '{small}'/*/* > /dev/null"], check=True)
    figs = round_robin(specs, plan.hash_repeat, max(1, plan.warmup))
    amounts = {k: f.extras[0]["amount"] for k, f in figs.items()}
    if len(set(amounts.values())) != 1 or n not in amounts.values():
        log(f"  WARNING: the hashers counted different numbers of files: {amounts}")
    out.append(throughput_scenario(
        "hash-small", f"hash {n:,} x {plan.hash_small_bytes // 1024} KiB files (no stat cache)",
        "files/s", n, figs, target=60000.0, counted=amounts))
    return out


def bench_scale(tools: Tools, plan: Plan, args: argparse.Namespace) -> list[dict[str, Any]]:
    """bench_status.py's sizes of the curve (issue 22): each repository built once
    (kept with --reuse), then status sealed and not, validate, dag --format json,
    make and python timed round-robin, wall and CPU."""
    log("\n== scale: " + ", ".join(f"S={s:,} F={f:,}" for s, f in plan.scale_sizes))
    options = argparse.Namespace(jobs=args.jobs, reuse=args.reuse, repeat=plan.scale_repeat,
                                 warmup=min(1, plan.warmup), profile=False,
                                 gnu_time=bs.has_gnu_time(),
                                 monitor=sys.platform.startswith("linux"),
                                 stamp=dt.datetime.now().strftime("%Y%m%dT%H%M%S"))
    points = [bs.bench_one(bs.Shape(stages, files), options, Path(tools.gitpipe), tools.python,
                           tools.env) for stages, files in plan.scale_sizes]
    return [{"id": "scale", "title": "gitpipe at scale", "kind": "scale", "points": points,
             "fit": bs.scaling_fit(points), "targets": bs.scale_targets(points)}]


def bench_backfill(tools: Tools, plan: Plan) -> list[dict[str, Any]]:
    """365 partitions of `true` at concurrency 8, next to make and a bare Python
    runner doing the same work (one `true` per partition, 8 at once); each also
    with a single partition or target, so start-up and the per-partition cost
    come apart: (whole run - one partition's run) / (partitions - 1).

    Each runs once more in a copy on a RAM file system (/dev/shm, where there is
    one), in the same rounds: a command that prints makes a log, a stage with
    outs a run-cache folder and entry (a partition of `true` makes neither, in
    gitpipe or the bare runner), and what a new file costs depends on the disk
    and on what else deletes files there. The
    `file_costs` probe measures that, on both, in the same rounds."""
    days = plan.backfill_days
    log(f"\n== backfill: {days} daily partitions of `true`, concurrency 8")
    start = dt.date(2024, 1, 1)
    end = start + dt.timedelta(days=days - 1)
    base = PEERS_WORK / f"backfill-{days}"
    template = base / "template"
    if base.exists():
        shutil.rmtree(base)
    template.mkdir(parents=True)
    (template / "gitpipe.yaml").write_text(
        "stages:\n  day:\n"
        f"    partition: {{by: date, start: {start}, end: {end}, freq: daily}}\n"
        '    cmd: "true"\n    concurrency: 8\n')
    dates = [str(start + dt.timedelta(days=i)) for i in range(days)]
    (template / "Makefile").write_text(
        "all: " + " ".join(f"d{d}" for d in dates) + "\n"
        + "".join(f"d{d}:\n\t@true\n" for d in dates)
        + ".PHONY: all " + " ".join(f"d{d}" for d in dates) + "\n")
    (template / ".gitignore").write_text("/.floor-logs/\n")
    init_repo(template, tools, with_dvc=False)
    (base / "floor-dag.json").write_text(json.dumps(
        [{"name": f"d{d}", "cmd": "true", "needs": []} for d in dates]))
    (base / "floor-one.json").write_text(json.dumps(
        [{"name": f"d{dates[0]}", "cmd": "true", "needs": []}]))
    ram = ram_folder(f"gitpipe-bench-backfill-{os.getpid()}")
    try:
        places = {"": base}
        if ram is not None:
            shutil.copytree(template, ram / "template", symlinks=True)
            places["-ram"] = ram
        figs = round_robin(backfill_specs(tools, places, base, dates), plan.backfill_repeat, 0)
    finally:
        if ram is not None:
            shutil.rmtree(ram, ignore_errors=True)
    gfig = figs["gitpipe"]
    bad = [e["ran"] for e in gfig.extras if e["ran"] != days]
    if bad:
        log(f"  WARNING: backfill ran {bad} partitions, not {days}")
    overhead = [e["overhead_ms_per_partition"] for e in gfig.extras]
    peers: dict[str, Figure] = {k: figs[k] for k in ("floor", "floor-1", "make", "make-1")
                                if k in figs}
    result = scenario("backfill", f"backfill {days} partitions of `true`, concurrency 8",
                      {"gitpipe backfill": gfig}, peers, days=days,
                      load_avg=os.getloadavg())
    result["overhead_ms_per_partition"] = {"median": statistics.median(overhead),
                                           "min": min(overhead), "max": max(overhead)}
    result["sum_command_s"] = [e["sum_command_s"] for e in gfig.extras]
    result["per_partition_ms"] = per_partition_ms(figs, days)
    result["file_costs_us"] = {key.removeprefix("files"): {
        part: statistics.median(e[part] for e in figs[key].extras)
        for part in ("folder_us", "file_in_new_folder_us", "file_in_one_folder_us")}
        for key in figs if key.startswith("files")}
    return [result]


def backfill_specs(tools: Tools, places: dict[str, Path], dags: Path,
                   dates: list[str]) -> list[Spec]:
    """gitpipe, the bare runner and make, each over every partition and over one,
    and the file probe, in each place (`places`: key suffix -> folder holding
    `template`); the bare runner's DAGs are `dags`/floor-{dag,one}.json."""
    days, first = len(dates), dates[0]
    floor = [tools.python, str(HERE / "floor_runner.py")]
    specs = []
    for suffix, base in places.items():
        where = " (on a RAM file system)" if suffix else ""
        specs += [
            Spec(f"gitpipe{suffix}", f"gitpipe backfill day --concurrency 8{where}",
                 backfill_run(tools, base, [], days), warmup=0),
            Spec(f"gitpipe{suffix}-1", f"the same, one partition (--start = --end){where}",
                 backfill_run(tools, base, ["--start", first, "--end", first], 1), warmup=0),
            Spec(f"floor{suffix}", f"a bare Python runner (floor_runner.py), -j 8{where}",
                 fresh_run(tools, base, [*floor, str(dags / "floor-dag.json"), "8"]),
                 warmup=0),
            Spec(f"floor{suffix}-1", f"the same, one command{where}",
                 fresh_run(tools, base, [*floor, str(dags / "floor-one.json"), "8"]),
                 warmup=0),
            Spec(f"files{suffix}", f"{days} new folders and files{where}",
                 file_probe(base / "file-probe", days), warmup=0)]
        if tools.make:
            specs += [Spec(f"make{suffix}", f"make -r -j8 ({days} phony `true`){where}",
                           fresh_run(tools, base, [tools.make, "-r", "-s", "-j8"]), warmup=0),
                      Spec(f"make{suffix}-1", f"the same, one target{where}",
                           fresh_run(tools, base, [tools.make, "-r", "-s", "-j8", f"d{first}"]),
                           warmup=0)]
    return specs


def backfill_run(tools: Tools, base: Path, extra: list[str],
                 count: int) -> Callable[[int], Measurement]:
    """One `gitpipe backfill` in a fresh copy of base/template, with the run
    history's count and sum of command time beside the process figures."""
    def run(_rep: int) -> Measurement:
        repo = fresh_copy(base / "template", base / "run-gitpipe", tools.env)
        try:
            whole, _ = run_child([tools.gitpipe, "backfill", "day", "--concurrency", "8",
                                  "-j", "8", *extra], repo, tools.env)
            import sqlite3
            with sqlite3.connect(repo / ".gitpipe" / "state.db") as db:
                ran, total = db.execute(
                    "SELECT count(*), coalesce(sum(duration), 0) FROM runs "
                    "WHERE result = 'ran'").fetchone()
            whole.extra.update({"ran": ran, "sum_command_s": total,
                                "overhead_ms_per_partition":
                                    backfill_overhead_ms(whole.seconds, total, count),
                                "wall_ms_per_partition": 1000 * whole.seconds / count})
            return whole
        finally:
            shutil.rmtree(repo, ignore_errors=True)
    return run


def fresh_run(tools: Tools, base: Path, cmd: list[str]) -> Callable[[int], Measurement]:
    def run(_rep: int) -> Measurement:
        repo = fresh_copy(base / "template", base / "run-other", tools.env)
        try:
            return run_child(cmd, repo, tools.env)[0]
        finally:
            shutil.rmtree(repo, ignore_errors=True)
    return run


def ram_folder(name: str) -> Path | None:
    """A new folder on /dev/shm (a RAM file system), or None where there is none."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        return None
    folder = shm / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return folder


def file_probe(folder: Path, count: int) -> Callable[[int], Measurement]:
    return lambda _rep: file_costs(folder, count)


def file_costs(folder: Path, count: int) -> Measurement:
    """CPU (this process's, user + sys) of making `count` new folders, a file in
    each and `count` files in one folder, in µs each: what a partition's run-cache
    folder and entry, and its log, cost the kernel here."""
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "one").mkdir(parents=True)
    started = time.perf_counter()

    def each(make: Callable[[int], object]) -> float:
        before = resource.getrusage(resource.RUSAGE_SELF)
        for i in range(count):
            make(i)
        after = resource.getrusage(resource.RUSAGE_SELF)
        return 1e6 * (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / count

    costs = {"folder_us": each(lambda i: os.mkdir(folder / f"d{i}")),
             "file_in_new_folder_us": each(lambda i: (folder / f"d{i}" / "entry").touch()),
             "file_in_one_folder_us": each(lambda i: (folder / "one" / f"f{i}").touch())}
    seconds = time.perf_counter() - started
    shutil.rmtree(folder)
    return Measurement(seconds, 0, {**costs, "cpu_s": 0.0})


BACKFILL_CONCURRENCY = 8


def backfill_overhead_ms(wall: float, sum_command: float, days: int) -> float:
    """The historical figure: the wall time beyond the commands' own time run
    perfectly in parallel, (wall - sum / concurrency) / partitions. Generous to
    gitpipe: the `duration` it records for a command also holds its own work
    of starting it, and make has no such figure (its 0.4 ms is its whole run
    per target). per_partition_ms is the same-work comparison."""
    return 1000 * (wall - sum_command / BACKFILL_CONCURRENCY) / days


def per_partition_ms(figs: dict[str, Figure], days: int) -> dict[str, dict[str, float]]:
    """Each runner's cost per partition, wall and CPU (the process tree, wait4):
    `whole` is the run over the count, `marginal` leaves start-up out,
    (whole run - run of one) / (count - 1). Medians of the rounds."""
    out: dict[str, dict[str, float]] = {}
    for key in ("gitpipe", "floor", "make", "gitpipe-ram", "floor-ram", "make-ram"):
        if key not in figs or f"{key}-1" not in figs:
            continue
        many, one = figs[key], figs[f"{key}-1"]
        cpu_many = statistics.median(e["cpu_s"] for e in many.extras)
        cpu_one = statistics.median(e["cpu_s"] for e in one.extras)
        out[key] = {"wall_whole": 1000 * many.median / days,
                    "cpu_whole": 1000 * cpu_many / days,
                    "wall_marginal": 1000 * (many.median - one.median) / (days - 1),
                    "cpu_marginal": 1000 * (cpu_many - cpu_one) / (days - 1)}
    return out


# --------------------------------------------------------------------------------------
# Transfers (issue 22): S3 through moto on 127.0.0.1, and a folder remote

MIB = 1024 * 1024
S3_BUCKET = "bench"
PUSH_JOBS = "8"  # gitpipe's default -j, and DVC's on 2 CPUs (4 x cores)


def bench_transfer(tools: Tools, plan: Plan) -> list[dict[str, Any]]:
    import bench_transfer as bt

    return [bench_s3_transfer(tools, plan, bt), bench_folder_transfer(tools, plan, bt)]


def transfer_repo(path: Path, files: int, total: int, remote: str, tools: Tools,
                  bt: Any, env: dict[str, str]) -> Path:
    """A git repository whose one stage writes `files` random files into data/,
    built and committed with its lock; default remote `store` = `remote`."""
    bt.remove_tree(path)
    path.mkdir(parents=True)
    (path / "gen.py").write_text(bt.GEN_SCRIPT)
    (path / "gitpipe.yaml").write_text(
        f"stages:\n  make:\n    cmd: python3 gen.py data {files} {total}\n"
        "    deps: [gen.py]\n    outs: [data/]\n")
    bs.output_of([*GIT, "init", "-q"], path, env)
    bs.output_of([tools.gitpipe, "init"], path, env)
    bs.output_of([tools.gitpipe, "remote", "add", "--default", "store", remote], path, env)
    bs.output_of([tools.gitpipe, "repro"], path, env)
    bs.output_of([*GIT, "add", "-A"], path, env)
    bs.output_of([*GIT, "commit", "-q", "-m", "built"], path, env)
    return path


def dvc_repo(path: Path, data: Path, remote: str, endpoint: str, tools: Tools,
             env: dict[str, str]) -> Path:
    """The same files tracked by `dvc add`, with an S3 remote at `endpoint`."""
    dvc = str(tools.dvc)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    bs.output_of([*GIT, "init", "-q"], path, env)
    bs.output_of([dvc, "init", "-q"], path, env)
    shutil.copytree(data, path / "data")
    bs.output_of([dvc, "add", "-q", "data"], path, env)
    bs.output_of([dvc, "remote", "add", "-d", "store", remote], path, env)
    bs.output_of([dvc, "remote", "modify", "store", "endpointurl", endpoint], path, env)
    bs.output_of([*GIT, "add", "-A"], path, env)
    bs.output_of([*GIT, "commit", "-q", "-m", "data"], path, env)
    return path


def bench_s3_transfer(tools: Tools, plan: Plan, bt: Any) -> dict[str, Any]:
    import boto3

    n, size = plan.s3_files, plan.s3_bytes
    log(f"\n== S3 (moto on 127.0.0.1): push and pull {n:,} x {size} B files")
    base = PEERS_WORK / f"s3-{n}x{size}"
    bt.remove_tree(base)  # what an interrupted run left
    try:
        with bt.moto_endpoint() as endpoint:
            return _s3_transfer_at(tools, plan, bt, boto3, base, endpoint)
    finally:
        bt.remove_tree(base)


def _s3_transfer_at(tools: Tools, plan: Plan, bt: Any, boto3: Any, base: Path,
                    endpoint: str) -> dict[str, Any]:
    n, size = plan.s3_files, plan.s3_bytes
    env = bt.s3_env(tools.env, endpoint)
    client = boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
        aws_secret_access_key="testing", aws_session_token="testing")
    client.create_bucket(Bucket=S3_BUCKET)
    gp = transfer_repo(base / "gitpipe", n, n * size, f"s3://{S3_BUCKET}/gitpipe", tools, bt,
                       env)
    dv = dvc_repo(base / "dvc", gp / "data", f"s3://{S3_BUCKET}/dvc", endpoint, tools,
                  env) if tools.dvc else None
    return _s3_figures(tools, plan, env, client, gp, dv, base)


def _s3_figures(tools: Tools, plan: Plan, env: dict[str, str], client: Any, gp: Path,
                dv: Path | None, base: Path) -> dict[str, Any]:
    n = plan.s3_files
    clones = iter(range(10**6))

    def empty(prefix: str) -> None:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=S3_BUCKET,
                                                                     Prefix=prefix):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            for i in range(0, len(keys), 1000):
                client.delete_objects(Bucket=S3_BUCKET, Delete={"Objects": keys[i:i + 1000]})

    def fresh_push(tool: str, repo: Path, prefix: str) -> Callable[[int], Measurement]:
        def run(_rep: int) -> Measurement:
            empty(prefix)
            took, text = run_child([tool, "push", "-j", PUSH_JOBS], repo, env)
            if tool == tools.gitpipe and f"pushed {n + 1} object(s)" not in text:
                raise RuntimeError(f"gitpipe push did not push {n + 1} objects: {text}")
            return took
        return run

    def fresh_pull(tool: str, repo: Path) -> Callable[[int], Measurement]:
        def run(_rep: int) -> Measurement:
            clone = base / f"clone-{next(clones)}"
            bs.output_of(["git", "clone", "-q", str(repo), str(clone)], base, env)
            took, _ = run_child([tool, "pull", "-j", PUSH_JOBS], clone, env)
            got = sum(1 for _ in (clone / "data").iterdir())
            if got != n:
                raise RuntimeError(f"{tool} pull left {got} files, not {n}")
            return took
        return run

    def again(tool: str, repo: Path) -> Callable[[int], Measurement]:
        return lambda _rep: run_child([tool, "push", "-j", PUSH_JOBS], repo, env)[0]

    specs = [Spec("gitpipe push", f"gitpipe push -j {PUSH_JOBS} (empty bucket)",
                  fresh_push(tools.gitpipe, gp, "gitpipe/")),
             Spec("gitpipe push (no-op)", "gitpipe push (nothing new)", again(tools.gitpipe, gp)),
             Spec("gitpipe pull", f"gitpipe pull -j {PUSH_JOBS} (fresh clone)",
                  fresh_pull(tools.gitpipe, gp))]
    # The floor of any tool on s3fs: start Python, import s3fs, make one request.
    floor = [tools.python, "-c",
             f"import s3fs; s3fs.S3FileSystem().ls('{S3_BUCKET}/gitpipe/packs')"]
    specs.append(Spec("s3fs floor", "python: import s3fs, one listing (the floor)",
                      lambda _rep: run_child(floor, base, env)[0]))
    if dv is not None and tools.dvc:  # once: one DVC push of 10,000 files takes minutes
        specs += [Spec("dvc push", f"dvc push -j {PUSH_JOBS}", fresh_push(tools.dvc, dv, "dvc/"),
                       repeat=1),
                  Spec("dvc push (no-op)", "dvc push (nothing new)", again(tools.dvc, dv),
                       repeat=1),
                  Spec("dvc pull", f"dvc pull -j {PUSH_JOBS}", fresh_pull(tools.dvc, dv),
                       repeat=1)]
    figs = round_robin(specs, plan.transfer_repeat, 0)
    result = scenario("s3-small", f"{n:,} x {plan.s3_bytes // 1024} KiB files, S3 (moto)",
                      {k: v for k, v in figs.items() if k.startswith("gitpipe")}, {},
                      files=n, bytes_each=plan.s3_bytes)
    result["kind"] = "transfer"
    result["pairs"] = [(g, p) for g, p in (("gitpipe push", "dvc push"),
                                           ("gitpipe pull", "dvc pull"),
                                           ("gitpipe push (no-op)", "dvc push (no-op)"))
                       if p in figs]
    result["baselines"] = {k: v.to_json() for k, v in figs.items()
                           if not k.startswith("gitpipe")}
    return result


def bench_folder_transfer(tools: Tools, plan: Plan, bt: Any) -> dict[str, Any]:
    n, mib = plan.folder_files, plan.folder_mib
    log(f"\n== folder remote: push and pull {mib} MiB in {n:,} files, next to cp -r")
    base = PEERS_WORK / f"folder-{n}-{mib}"
    bt.remove_tree(base)  # what an interrupted run left
    env = tools.env
    repo = transfer_repo(base / "repo", n, mib * MIB, str(base / "remote-build"), tools, bt,
                         env)
    rounds = iter(range(10**6))
    trees: list[Path] = []

    remotes: list[Path] = []

    # Each timed run starts after a sync: the previous run's writeback is not
    # billed to the next.
    def push(_rep: int) -> Measurement:
        remote = base / f"remote-{next(rounds)}"
        trees.append(remote)
        remotes.append(remote)
        bt.set_remote(repo, str(remote))
        bs.output_of(["sync"], base, env)
        return run_child([tools.gitpipe, "push", "-j", PUSH_JOBS], repo, env)[0]

    def pull(link_type: str | None) -> Callable[[int], Measurement]:
        def run(_rep: int) -> Measurement:
            clone = base / f"clone-{len(trees)}"
            bs.output_of(["git", "clone", "-q", str(repo), str(clone)], base, env)
            bt.set_remote(clone, str(remotes[-1]))  # the remote the push just filled
            if link_type is not None:
                (clone / ".gitpipe" / "config.local.yaml").write_text(json.dumps(
                    {"remotes": {"store": {"url": str(remotes[-1])}},
                     "cache": {"type": link_type}}))
            trees.append(clone)
            bs.output_of(["sync"], base, env)
            return run_child([tools.gitpipe, "pull", "-j", PUSH_JOBS], clone, env)[0]
        return run

    def copy(times: int) -> Callable[[int], Measurement]:
        # Two copies, one after the other: the floor of a pull that keeps the
        # cache's own copy where the file system cannot share extents.
        def run(_rep: int) -> Measurement:
            targets = [base / f"copy-{len(trees)}-{i}" for i in range(times)]
            trees.extend(targets)
            script = " && ".join(f'cp -r "$1" "{t}"' for t in targets)
            bs.output_of(["sync"], base, env)
            return run_child(["sh", "-c", script, "sh", str(repo / "data")], base, env)[0]
        return run

    bs.output_of(["sync"], base, env)
    figs = round_robin([Spec("gitpipe push", f"gitpipe push -j {PUSH_JOBS} (fresh folder)",
                             push),
                        Spec("gitpipe pull", f"gitpipe pull -j {PUSH_JOBS} (fresh clone)",
                             pull(None)),
                        Spec("gitpipe pull (hardlink)",
                             f"gitpipe pull -j {PUSH_JOBS}, cache.type hardlink", pull("hardlink")),
                        Spec("cp -r", "cp -r data DEST", copy(1)),
                        Spec("cp -r twice", "cp -r data A && cp -r data B (the floor of "
                             "two copies)", copy(2))], plan.transfer_repeat, 0)
    bt.remove_tree(base)
    result = scenario("folder-big", f"{mib:,} MiB in {n:,} files, folder remote",
                      {k: v for k, v in figs.items() if k.startswith("gitpipe")}, {},
                      files=n, mib=mib)
    result["kind"] = "transfer"
    result["pairs"] = [("gitpipe push", "cp -r"), ("gitpipe pull", "cp -r"),
                       ("gitpipe pull (hardlink)", "cp -r")]
    result["baselines"] = {k: figs[k].to_json() for k in ("cp -r", "cp -r twice")}
    return result


def transfer_targets(by: dict[str, dict[str, Any]]) -> list[tuple[str, str, bool | None]]:
    """Issue 22's transfer targets, from the same run's figures."""
    rows: list[tuple[str, str, bool | None]] = []

    def med(res: dict[str, Any], key: str) -> float:
        fig = res["gitpipe"].get(key) or res["baselines"][key]
        return float(fig["median_s"])

    s3 = by.get("s3-small")
    if s3 is not None:
        noop = med(s3, "gitpipe push (no-op)")
        floor = med(s3, "s3fs floor")
        rows.append((f"push with nothing new ≤ 1 s ({s3['files']:,} objects, S3)",
                     f"{noop:.2f} s (the s3fs floor: {floor:.2f} s, {noop / floor:.1f}×)",
                     noop <= 1.0))
        for what in ("push", "pull"):
            if f"dvc {what}" in s3["baselines"]:
                times = med(s3, f"dvc {what}") / med(s3, f"gitpipe {what}")
                rows.append((f"{what} {s3['files']:,} small files to S3 ≥ 5× DVC",
                             f"{times:.1f}× DVC", times >= 5))
    folder = by.get("folder-big")
    if folder is not None:
        for what, limit in (("push", 1.0), ("pull", 1.2)):
            ratio = med(folder, f"gitpipe {what}") / med(folder, "cp -r")
            rows.append((f"{what} {folder['mib']:,} MiB to a folder remote ≤ {limit}× `cp -r`",
                         f"{ratio:.2f}× cp -r", ratio <= limit))
        if "cp -r twice" in folder["baselines"]:
            floor = med(folder, "cp -r twice")
            pull = med(folder, "gitpipe pull")
            linked = med(folder, "gitpipe pull (hardlink)")
            copy = med(folder, "cp -r")
            rows.append(("pull with cache.type hardlink ≤ 1.2× `cp -r` (the default keeps "
                         "the cache's own copy: its floor is `cp -r` twice)",
                         f"{linked / copy:.2f}× `cp -r`; the default {pull / floor:.2f}× "
                         f"`cp -r` twice ({floor / copy:.2f}× `cp -r`)",
                         linked / copy <= 1.2))
    return rows


def transfer_lines(results: list[dict[str, Any]]) -> list[str]:
    """The transfer table: each gitpipe figure next to its baseline, same run."""
    rows = [r for r in results if r["kind"] == "transfer"]
    if not rows:
        return []
    out = ["", "| transfer | gitpipe | baseline | gitpipe vs baseline |", "|---|---|---|---|"]
    for res in rows:
        for gkey, gfig in res["gitpipe"].items():
            peer = dict(res["pairs"]).get(gkey)
            pfig = res["baselines"].get(peer) if peer else None
            ratio = fmt_ratio(gfig["median_s"] / pfig["median_s"]) if pfig else "—"
            base = f"`{pfig['label']}` {fmt_fig(pfig)}" if pfig else "—"
            out.append(f"| {res['title']} | `{gfig['label']}` {fmt_fig(gfig)} | {base} | "
                       f"{ratio} |")
    return out


# --------------------------------------------------------------------------------------
# Report


def fmt_s(x: float) -> str:
    if x < 0.1:
        return f"{x:.4f}"
    if x < 10:
        return f"{x:.3f}"
    return f"{x:.1f}"


def fmt_fig(fig: dict[str, Any]) -> str:
    if len(fig["samples_s"]) == 1:
        return f"{fmt_s(fig['median_s'])} s (n=1)"
    return f"{fmt_s(fig['median_s'])} s ({fmt_s(fig['min_s'])}–{fmt_s(fig['max_s'])})"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "—"
    if r <= 1:
        return f"**{1 / r:.1f}× faster**" if r > 0 else "—"
    return f"{r:.1f}× slower"


def fmt_rate(rate: dict[str, float], unit: str) -> str:
    scale = 1e6 if unit == "MB/s" else 1.0
    m, lo, hi = (rate[k] / scale for k in ("median", "min", "max"))
    if unit == "MB/s":
        return f"{m:,.0f} MB/s ({lo:,.0f}–{hi:,.0f})"
    return f"{m:,.0f} files/s ({lo:,.0f}–{hi:,.0f})"


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return {"nproc": nproc or str(os.cpu_count()), "cpu_model": cpu, "memory": mem,
            "python": platform.python_version(), "platform": platform.platform()}


def targets(results: list[dict[str, Any]]) -> list[tuple[str, str, bool | None]]:
    """Issue 7's targets: (target, measured, met?)."""
    by = {r["id"]: r for r in results}
    rows: list[tuple[str, str, bool | None]] = []

    def med(res: dict[str, Any], who: str, key: str) -> float:
        return float(res[who][key]["median_s"])

    for sid, limit, size in (("noop-s200", 0.15, "S=200/F=2,000"),
                             ("noop-s1000", 0.5, "S=1,000/F=20,000")):
        if sid in by:
            st = med(by[sid], "gitpipe", "gitpipe status")
            rp = med(by[sid], "gitpipe", "gitpipe repro (no-op)")
            rows.append((f"no-op status and repro ≤ {limit} s at {size}",
                         f"status {fmt_s(st)} s, repro {fmt_s(rp)} s",
                         st <= limit and rp <= limit))
            if "gitpipe status (no seal)" in by[sid]["gitpipe"]:
                st = med(by[sid], "gitpipe", "gitpipe status (no seal)")
                rp = med(by[sid], "gitpipe", "gitpipe repro (no seal)")
                rows.append((f"… the first no-op after a change (no seal), ≤ {limit} s",
                             f"status {fmt_s(st)} s, repro {fmt_s(rp)} s",
                             st <= limit and rp <= limit))
            if "gitpipe status (after a commit)" in by[sid]["gitpipe"]:
                st = med(by[sid], "gitpipe", "gitpipe status (after a commit)")
                rows.append((f"… the first status after a commit, ≤ {limit} s",
                             f"{fmt_s(st)} s", st <= limit))
        for suffix, want, what in (("", 30, "with params"), ("-noparams", 8, "without params")):
            res = by.get(sid + suffix)
            if res and "dvc" in res["peers"]:
                ratios = res["ratios_gitpipe_over_peer"]
                worst = max(ratios["gitpipe status"]["dvc"], ratios["gitpipe repro (no-op)"]["dvc"])
                rows.append((f"≥ {want}× faster than `dvc status` {what}, {size}",
                             f"{1 / worst:.1f}× (slower of status/repro)", 1 / worst >= want))
    for res in results:
        if res["id"] == "build-s200" and "make" in res["peers"]:
            r = res["ratios_gitpipe_over_peer"]["gitpipe repro"]["make"]
            rows.append((f"full build within 3× of `make -j2` ({res['title'].split(' (')[0]})",
                         f"{r:.1f}× make", r <= 3))
    if "hash-big" in by and "cat" in by["hash-big"]["rates"] \
            and by["hash-big"]["amount"] >= 2**30:
        r = by["hash-big"]["ratios_gitpipe_over_peer"]["gitpipe"]["cat"]
        rows.append(("1 GiB file at ≥ 70% of `cat` throughput", f"{100 * r:.1f}% of cat",
                     r >= 0.70))
    if "hash-small" in by and by["hash-small"]["amount"] >= 20000:
        res = by["hash-small"]
        rate = res["rates"]["gitpipe workspace"]["median"]
        one = res["rates"]["gitpipe workspace, 1 process"]["median"]
        rows.append((f"{res['amount']:,} small files ≥ 60,000 files/s",
                     f"{rate:,.0f} files/s (Workspace, state.db written); "
                     f"{one:,.0f} in one process", rate >= 60000))
        if "dvc" in res["rates"]:
            ratios = res["ratios_gitpipe_over_peer"]
            r = ratios["gitpipe workspace"]["dvc"]
            rows.append(("… and 5× DVC", f"{r:.1f}× DVC (the scan alone, as DVC's figure: "
                         f"{ratios['gitpipe scan']['dvc']:.1f}×; one process: "
                         f"{ratios['gitpipe workspace, 1 process']['dvc']:.1f}×)", r >= 5))
    if "cli" in by:
        v = med(by["cli"], "gitpipe", "gitpipe --version")
        h = med(by["cli"], "gitpipe", "gitpipe --help")
        rows.append(("`gitpipe --version` and `--help` ≤ 0.10 s",
                     f"{fmt_s(v)} s / {fmt_s(h)} s", v <= 0.10 and h <= 0.10))
    rss = [(r["shape"]["files"], r["gitpipe_status_max_wait4_rss_kib"]) for r in results
           if "gitpipe_status_max_wait4_rss_kib" in r and r["shape"]["files"] >= 20000]
    if rss:
        files, kib = max(rss)
        rows.append((f"status over 20,000 files < 200 MB RSS (measured at F={files:,})",
                     f"{kib / 1024:.0f} MiB (wait4 max)", kib / 1024 < 200))
    rows += transfer_targets(by)
    if "backfill" in by and by["backfill"]["days"] >= 365:
        o = by["backfill"]["overhead_ms_per_partition"]["median"]
        rows.append(("backfill overhead < 20 ms per partition", f"{o:.1f} ms", o < 20))
    return rows


def targets_22(results: list[dict[str, Any]]) -> list[tuple[str, str, bool | None]]:
    """Issue 22's build and backfill targets: (target, measured, met?)."""
    by = {r["id"]: r for r in results}
    rows: list[tuple[str, str, bool | None]] = []
    for stages, limit in ((200, 1.3), (2000, 1.5)):
        res = by.get(f"make-build-s{stages}")
        if res is None:
            continue
        ratio = res["ratios_gitpipe_over_peer"]["gitpipe repro"]["make"]
        cpu = res["cpu_s"]
        cpu_ratio = cpu["gitpipe"]["median"] / cpu["make"]["median"]
        load = res["load_avg"][0]
        # More runnable processes than CPUs: every tool waits for a core, and the
        # wall ratio says more about the others' load than about the tools.
        judged = load <= (os.cpu_count() or 1)
        rows.append((f"full build, S={stages:,}: ≤ {limit}× `make -j{res['jobs']}`",
                     f"{ratio:.2f}× make (CPU {cpu_ratio:.2f}×; load {load:.1f})",
                     (ratio <= limit) if judged else None))
    if "backfill" in by and by["backfill"]["days"] >= 365:
        o = by["backfill"]["overhead_ms_per_partition"]["median"]
        rows.append(("backfill scheduling overhead ≤ 0.5 ms per partition", f"{o:.2f} ms",
                     o <= 0.5))
        per = by["backfill"].get("per_partition_ms", {})
        if "gitpipe" in per and "make" in per:
            beyond = per["gitpipe"]["cpu_marginal"] - per["make"]["cpu_marginal"]
            rows.append(("… the same work as make: marginal CPU per partition beyond make's",
                         f"{beyond:.2f} ms (gitpipe {per['gitpipe']['cpu_marginal']:.2f}, "
                         f"make {per['make']['cpu_marginal']:.2f})", beyond <= 0.5))
        if "gitpipe-ram" in per and "make-ram" in per:
            beyond = per["gitpipe-ram"]["cpu_marginal"] - per["make-ram"]["cpu_marginal"]
            rows.append(("… the same, both on a RAM file system (not judged: the disk's "
                         "file costs apart)",
                         f"{beyond:.2f} ms (gitpipe {per['gitpipe-ram']['cpu_marginal']:.2f}, "
                         f"make {per['make-ram']['cpu_marginal']:.2f})", None))
    return rows


def per_partition_markdown(res: dict[str, Any]) -> list[str]:
    """The backfill's same-work table: gitpipe, the bare Python runner and make,
    each running one `true` per partition, 8 at once (absent in older results)."""
    per = res.get("per_partition_ms")
    if not per:
        return []
    titles = {"gitpipe": "gitpipe backfill", "floor": "a bare Python runner",
              "make": "make -j8"}
    titles.update({f"{key}-ram": f"{title}, on a RAM file system"
                   for key, title in titles.items()})
    load = res.get("load_avg", [float("nan")])[0]
    lines = ["", f"Per partition, the same work ({res['days']} × `true`, 8 at once; "
             f"load {load:.1f}); marginal = (whole run − run of one) / "
             f"{res['days'] - 1}, start-up left out:", "",
             "| runner | wall / partition | CPU / partition | marginal wall | marginal CPU |",
             "|---|---:|---:|---:|---:|"]
    for key, fig in per.items():
        lines.append(f"| {titles[key]} | {fig['wall_whole']:.2f} ms | {fig['cpu_whole']:.2f} ms"
                     f" | {fig['wall_marginal']:.2f} ms | {fig['cpu_marginal']:.2f} ms |")
    for place, cost in res.get("file_costs_us", {}).items():
        where = "on a RAM file system" if place else "on the benchmark's disk"
        lines += ["", f"What new files cost the kernel {where}, same rounds (CPU, median): "
                  f"a folder {cost['folder_us']:.0f} µs, a file in a new folder "
                  f"{cost['file_in_new_folder_us']:.0f} µs, a file in an existing one "
                  f"{cost['file_in_one_folder_us']:.0f} µs (a partition of `true` makes "
                  "none, in gitpipe or the bare runner; a stage with outs makes a run-cache "
                  "folder and entry, a command that prints a log)."]
    return lines


def markdown(meta: dict[str, Any], results: list[dict[str, Any]]) -> str:
    m, versions = meta["machine"], meta["tools"]
    peers = [p for p in PEERS if p in versions]
    heads = [f"{PEER_TITLES[p]} {short_version(versions, p)}" for p in peers]
    la0, la1 = meta["load_avg_start"], meta["load_avg_end"]
    out = [f"# gitpipe next to DVC, Snakemake and Make ({meta['mode']})", "",
           f"- date: {meta['date']}",
           f"- machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory']} RAM, "
           f"Python {m['python']}, {m['platform']}",
           f"- tools: {', '.join(f'{k} {short_version(versions, k)}' for k in versions)}",
           f"- load average (1/5/15 min) at start {la0[0]:.2f} / {la0[1]:.2f} / {la0[2]:.2f}, "
           f"at end {la1[0]:.2f} / {la1[1]:.2f} / {la1[2]:.2f}; niceness {meta['niceness']}",
           f"- whole processes, round-robin; warm-up {meta['plan']['warmup']}, "
           f"{meta['plan']['repeat']} repetitions (CLI {meta['plan']['cli_repeat']}; "
           f"builds {meta['plan']['build_repeat']}, DVC build "
           f"{meta['plan']['dvc_build_repeat']}); median (min–max) in seconds",
           f"- gitpipe source sha256 {meta['gitpipe_source_sha256'][:12]}"
           + (" (a frozen snapshot of gitpipe/)" if meta.get("snapshot") else "")]
    if any(res["kind"] == "time" for res in results):
        out += ["", "| work | gitpipe | " + " | ".join(heads) + " | "
                + " | ".join(f"gitpipe vs {PEER_TITLES[p]}" for p in peers) + " |",
                "|---|---|" + "---|" * len(peers) + "---|" * len(peers)]
    for res in results:
        if res["kind"] != "time":
            continue
        for gkey, gfig in res["gitpipe"].items():
            cells = [f"{res['title']}: `{gfig['label']}`", fmt_fig(gfig)]
            cells += [fmt_fig(res["peers"][p]) if p in res["peers"] else "—" for p in peers]
            ratios = res["ratios_gitpipe_over_peer"][gkey]
            cells += [fmt_ratio(ratios.get(p)) for p in peers]
            out.append("| " + " | ".join(cells) + " |")
    hashing = [r for r in results if r["kind"] == "throughput"]
    if hashing:
        out += ["", "| hashing | what | throughput, median (min–max) | vs cat | vs DVC |",
                "|---|---|---|---|---|"]
        for res in hashing:
            for key, fig in res["figures"].items():
                ratio = res["ratios_gitpipe_over_peer"].get(key, {})
                vs_cat = f"{100 * ratio['cat']:.0f}% of cat" if "cat" in ratio else "—"
                vs_dvc = f"{ratio['dvc']:.1f}× DVC" if "dvc" in ratio else "—"
                out.append(f"| {res['title']} | `{fig['label']}` | "
                           f"{fmt_rate(res['rates'][key], res['unit'])} | {vs_cat} | {vs_dvc} |")
    for res in results:
        if res["id"] == "backfill":
            o = res["overhead_ms_per_partition"]
            g = res["gitpipe"]["gitpipe backfill"]
            sums = res["sum_command_s"]
            line = (f"Backfill, {res['days']} partitions of `true` at concurrency 8: wall "
                    f"{fmt_s(g['median_s'])} s, sum of command time (state.db `runs`) "
                    f"{statistics.median(sums):.2f} s, scheduling overhead "
                    f"(wall − sum ÷ {BACKFILL_CONCURRENCY}) / {res['days']} = "
                    f"**{o['median']:.1f} ms per partition** "
                    f"({o['min']:.1f}–{o['max']:.1f}); wall / partition "
                    f"{1000 * g['median_s'] / res['days']:.1f} ms")
            if "make" in res["peers"]:
                mk = res["peers"]["make"]
                line += (f"; `make -j8` on {res['days']} phony `true` targets: "
                         f"{1000 * mk['median_s'] / res['days']:.2f} ms per target")
            out += ["", line + "."]
            out += per_partition_markdown(res)
    for res in results:
        if res["kind"] == "scale":
            out += ["", "### gitpipe at scale (issue 22), S = "
                    + ", ".join(f"{p['shape']['stages']:,}" for p in res["points"]),
                    bs.scaling_markdown(res["fit"]), bs.targets_markdown(res["targets"])]
        if str(res.get("id", "")).startswith("make-build-"):
            cpu = res["cpu_s"]
            floor = (f", a bare Python runner {cpu['floor']['median']:.2f} s "
                     f"({cpu['floor']['median'] / cpu['make']['median']:.2f}×)"
                     if "floor" in cpu else "")
            if "floor-books" in cpu:
                floor += (f", the bare runner with a cache's bookkeeping "
                          f"{cpu['floor-books']['median']:.2f} s "
                          f"({cpu['floor-books']['median'] / cpu['make']['median']:.2f}×)")
            out += ["", f"{res['title']}: CPU time (user + system, the whole process tree) "
                    f"gitpipe {cpu['gitpipe']['median']:.2f} s, make {cpu['make']['median']:.2f} s "
                    f"({cpu['gitpipe']['median'] / cpu['make']['median']:.2f}×){floor}; "
                    f"load average at its end {res['load_avg'][0]:.1f}."]
    out += transfer_lines(results)
    rows = targets_22(results)
    if rows:
        out += ["", "## Issue 22 targets (builds and backfill)", "",
                "| target | measured | met |", "|---|---|---|"]
        for name, value, ok in rows:
            verdict = "n/a (loaded machine)" if ok is None else "yes" if ok else "**no**"
            out.append(f"| {name} | {value} | {verdict} |")
    rows = targets(results)
    if rows:
        out += ["", "## Targets (issues 7 and 22)", "", "| target | measured | met |",
                "|---|---|---|"]
        for name, value, ok in rows:
            out.append(f"| {name} | {value} | "
                       f"{'yes' if ok else 'n/a' if ok is None else '**no**'} |")
    bad = meta.get("noop_failures") or []
    if bad:
        out += ["", "**WARNING**: not a no-op: " + "; ".join(bad)]
    for res in results:
        if res.get("samples_from_earlier_run"):
            out += ["", f"{res['title']}: the sample of "
                    f"{', '.join(res['samples_from_earlier_run'])} comes from the run that "
                    "built the reused no-op repository (--reuse), on the same machine."]
    out += ["", "Ratios are gitpipe's median over the peer's, same run. The DVC-without-"
            "params row compares the same gitpipe figures (gitpipe reads its params either "
            "way) with DVC on a copy of the DAG that has no `params:`. Hashing is timed "
            "inside the child (interpreter start excluded) for gitpipe and DVC, and as a "
            "whole `cat` process; the 1 GiB file is in the page cache and no stat cache "
            "exists. Builds run in fresh copies of a never-built repository.", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


ALL_GROUPS = {"cli", "noop", "build", "sleep", "hash", "backfill", "scale", "transfer"}
PERFORMANCE_DOC = REPO_ROOT / "docs" / "explanation" / "performance.md"
LATEST_BEGIN = "<!-- latest `make bench` run: written by benchmarks/bench_peers.py -->"
LATEST_END = "<!-- end of the latest run -->"


def with_latest_run(doc: str, report: str) -> str:
    """`doc` with the text between the LATEST markers replaced by `report` (its
    headings moved two levels down, under the doc's own); unchanged without them."""
    begin, end = doc.find(LATEST_BEGIN), doc.find(LATEST_END)
    if begin < 0 or end < begin:
        return doc
    body = "\n".join("##" + line if line.startswith("#") else line
                     for line in report.strip().splitlines())
    return f"{doc[:begin + len(LATEST_BEGIN)]}\n\n{body}\n\n{doc[end:]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="~2 minutes: S=10 and S=50, fewer runs, no S=1000, no 1 GiB file")
    mode.add_argument("--smoke", action="store_true",
                      help="CI: gitpipe and make only, tiny sizes, one run; no peers venv; "
                      "results under benchmarks/.work/smoke; exit 1 if a check fails")
    parser.add_argument("--full", action="store_true",
                        help="also DVC at S=1000/F=20000 (many minutes)")
    parser.add_argument("--tools", default="dvc,snakemake,make",
                        help="peers to run (default: dvc,snakemake,make)")
    parser.add_argument("--only", default=",".join(sorted(ALL_GROUPS)),
                        help="scenario groups to run (default: all of "
                        "cli,noop,build,sleep,hash,backfill,scale,transfer)")
    parser.add_argument("--repeat", "-n", type=int, help="override the repetitions")
    parser.add_argument("--jobs", "-j", type=int, default=2,
                        help="-j of the full builds (default 2)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep already built no-op repositories of the same shape")
    parser.add_argument("--gitpipe", help="the gitpipe executable to benchmark")
    parser.add_argument("--peers-venv", help="use this venv for dvc and snakemake as is")
    parser.add_argument("--inherit-env", action="store_true",
                        help="pass the environment through (by default bytecode is cached "
                        "under benchmarks/.work/pycache for every Python tool alike)")
    parser.add_argument("--out", help="directory for the JSON and markdown results")
    parser.add_argument("--render", metavar="JSON",
                        help="only print the markdown of a results JSON written earlier")
    parser.add_argument("--no-snapshot", action="store_true",
                        help="run gitpipe/ as installed; by default a frozen copy of "
                        "gitpipe/ (PYTHONPATH) is benchmarked, so edits made during the "
                        "run cannot mix versions")
    args = parser.parse_args(argv)

    if args.render:
        saved = json.loads(Path(args.render).read_text())
        for res in saved["results"]:
            if res["id"] == "backfill":  # recomputed, so older results get today's formula
                fig = res["gitpipe"]["gitpipe backfill"]
                overhead = [backfill_overhead_ms(wall, extra["sum_command_s"], res["days"])
                            for wall, extra in zip(fig["samples_s"], fig["extras"], strict=True)]
                res["overhead_ms_per_partition"] = {"median": statistics.median(overhead),
                                                    "min": min(overhead), "max": max(overhead)}
        print(markdown(saved["meta"], saved["results"]))
        return 0
    plan = PLANS["smoke" if args.smoke else "quick" if args.quick else "default"]
    if args.repeat:
        plan = Plan(**{**asdict(plan), "repeat": args.repeat})
    wanted = {t.strip() for t in args.tools.split(",") if t.strip()}
    if args.smoke:
        wanted = {"make"}
    unknown = wanted - set(PEERS)
    if unknown:
        parser.error(f"unknown tools: {', '.join(sorted(unknown))}")
    groups = {g.strip() for g in args.only.split(",") if g.strip()}
    for tool in ("git",):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not on PATH")
    global PEERS_WORK
    if args.smoke:  # never regenerate (or reuse) the repositories of a real run
        PEERS_WORK = WORK / "peers-smoke"
    WORK.mkdir(parents=True, exist_ok=True)
    PEERS_WORK.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load_start = os.getloadavg()
    tools = find_tools(args, wanted)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    source = bs.source_digest()
    if not args.no_snapshot:
        tools.env["PYTHONPATH"] = str(bs.snapshot_source(source))
    imported = bs.output_of([tools.python, "-c",
                             "import gitpipe.cli.main; print(gitpipe.__file__)"],
                            WORK, tools.env).strip()
    log(f"gitpipe {tools.gitpipe} ({tools.versions['gitpipe']}); peers: "
        + ", ".join(f"{k} {short_version(tools.versions, k)}" for k in PEERS if tools.has(k))
        + f"; mode {plan.name}; load average {load_start[0]:.2f}")

    results: list[dict[str, Any]] = []
    if "cli" in groups:
        results += bench_cli(tools, plan)
    if "noop" in groups:
        for stages, files in plan.noop_sizes:
            results += bench_size(tools, plan, stages, files, args, big=False)
        if plan.big_size:
            results += bench_size(tools, plan, *plan.big_size, args, big=True)
    if "build" in groups:
        results += bench_make_builds(tools, plan, args.jobs)
    if "sleep" in groups:
        results += bench_sleep(tools, plan)
    if "hash" in groups:
        results += bench_hashing(tools, plan)
    if "backfill" in groups:
        results += bench_backfill(tools, plan)
    if "scale" in groups and plan.scale_sizes:
        results += bench_scale(tools, plan, args)
    if "transfer" in groups:
        results += bench_transfer(tools, plan)

    noop_failures = []
    for res in results:
        checks = (res.get("build_in_noop_repo") or {}).get("noop_check", {})
        extra = (res.get("build_in_noop_repo") or {}).get("dvc_noparams", {}).get("noop_check", {})
        for key, check in list(checks.items()) + [("dvc (no params)", c) for c in extra.values()]:
            if not check["ok"]:
                noop_failures.append(f"{key} in {res['id']}")
        for point in res.get("points", []):
            if point["noop_check"]["gitpipe_stale_stages"]:
                noop_failures.append(f"gitpipe in scale S={point['shape']['stages']}")
    meta = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "timestamp": stamp, "mode": plan.name + (" + --full" if args.full else ""),
        "argv": sys.argv[1:] if argv is None else argv,
        "machine": machine(), "tools": tools.versions, "plan": asdict(plan),
        "jobs": args.jobs, "niceness": os.nice(0),
        "load_avg_start": load_start, "load_avg_end": os.getloadavg(),
        "elapsed_s": time.perf_counter() - started,
        "gitpipe_path": tools.gitpipe, "gitpipe_source_sha256": source,
        "gitpipe_imported_from": imported, "snapshot": not args.no_snapshot,
        "gitpipe_source_sha256_end": bs.source_digest(),
        "peers_venv": str(Path(tools.dvc or tools.snakemake or "").parent.parent)
        if (tools.dvc or tools.snakemake) else None,
        "requirements": REQUIREMENTS.read_text(),
        "noop_failures": noop_failures,
        "child_env": {k: tools.env.get(k) for k in ("PYTHONPYCACHEPREFIX", "LC_ALL",
                                                    "DVC_NO_ANALYTICS")},
    }
    if meta["gitpipe_source_sha256_end"] != source and args.no_snapshot:
        log("WARNING: gitpipe/ changed while the benchmark ran; figures may mix versions")
    text = markdown(meta, results)
    print(text)
    out_dir = Path(args.out) if args.out else (WORK / "smoke" if args.smoke else RESULTS)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"peers-{stamp}.json"
    json_path.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    (out_dir / "peers-latest.md").write_text(text)
    log(f"\nresults: {json_path} and {out_dir / 'peers-latest.md'} "
        f"({meta['elapsed_s']:.0f} s)")
    complete = (plan.name == "default" and groups == ALL_GROUPS and not noop_failures
                and all(tools.has(peer) for peer in PEERS) and not args.repeat
                and not (args.out or args.gitpipe or args.no_snapshot))
    if complete:
        # Only a complete run of this checkout's gitpipe, every peer and the
        # default repetitions replaces the table docs/explanation/performance.md shows.
        PERFORMANCE_DOC.write_text(with_latest_run(PERFORMANCE_DOC.read_text(), text))
        log(f"updated the latest run in {PERFORMANCE_DOC.relative_to(REPO_ROOT)}")
    if args.smoke and noop_failures:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
