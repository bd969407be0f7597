#!/usr/bin/env python3
"""How fast do `gitpipe push` and `gitpipe pull` move data, next to `cp -r` on the same data?

Builds synthetic git repositories under benchmarks/.work/transfer/ (git-ignored),
each with one stage whose out is a directory of random files, produced by
`gitpipe repro`, then times whole processes (median of --repeat runs, round-robin):

    big out (default 1 GiB in 1,000 files), local-folder remote:
      gitpipe push          to a fresh (empty) remote
      gitpipe push          no-op: everything is already there
      gitpipe pull          into a fresh `git clone` (fetch + verify + checkout)
      cp -r OUT DEST        baseline, same run, same (warm) data
      cat OUT/* >/dev/null  baseline: reading the bytes once
      gitpipe --version     baseline: interpreter + click + import gitpipe
    20,000 x 1 KiB objects, local-folder remote:
      gitpipe push          no-op (the remote listing and the cache checks)
    10,000 x 1 KiB objects, S3 (moto's server, started here on 127.0.0.1):
      gitpipe push -j 8 / -j 32 to an emptied bucket, and a no-op push

Results: a markdown table on stdout, progress on stderr, JSON in
benchmarks/results/transfer-<timestamp>.json.

    .venv/bin/python benchmarks/bench_transfer.py --files 100 --total-mib 32 \\
        --small-files 2000 --s3-files 1000 --repeat 3            # a quick run
    .venv/bin/python benchmarks/bench_transfer.py                # 1 GiB, 20k, 10k
    .venv/bin/python benchmarks/bench_transfer.py --reuse --profile --only big

The S3 part needs moto[server] and boto3 (run it with the venv's Python). The
server listens on 127.0.0.1 only; gitpipe reaches it through the standard AWS_*
variables (dummy credentials, AWS_EC2_METADATA_DISABLED=true, no profile, no
config files, no proxy), so nothing but 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_status as bs  # the tool helpers every benchmark script shares

HERE = bs.HERE
REPO_ROOT = bs.REPO_ROOT
WORK = HERE / ".work" / "transfer"
RESULTS = HERE / "results"
MIB = 1024 * 1024
GIT_ID = ["-c", "user.name=gitpipe-bench", "-c", "user.email=bench@gitpipe.invalid",
          "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]
MARKER = ".bench-transfer.json"
OUT = "data/out"
STAGE = "make_data"
TIMEOUT_S = 3 * 3600
S3_BUCKET = "gitpipe-bench"

GEN_SCRIPT = '''"""Write N files of random bytes totalling B bytes into a directory."""
import os
import sys

out, count, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out, exist_ok=True)
base, extra = divmod(total, count)
width = max(5, len(str(count - 1)))
for i in range(count):
    left = base + (1 if i < extra else 0)
    with open(os.path.join(out, f"f{i:0{width}d}.bin"), "wb") as handle:
        while left:
            chunk = min(left, 1 << 20)
            handle.write(os.urandom(chunk))
            left -= chunk
'''

# cProfile of one CLI run, every thread included: cProfile hooks only the thread
# that enables it, so each thread started later gets its own profiler (through
# threading.setprofile), and all of them are merged into one .prof file.
PROFILE_DRIVER = '''"""python profile_driver.py OUT.prof ARGS...: cProfile, all threads."""
import cProfile
import pstats
import sys
import threading

out, args = sys.argv[1], sys.argv[2:]
threads = []
guard = threading.Lock()


def _start(frame, event, arg):
    sys.setprofile(None)
    prof = cProfile.Profile()
    with guard:
        threads.append((threading.current_thread().name, prof))
    prof.enable()


threading.setprofile(_start)
main = cProfile.Profile()
code = 0
main.enable()
try:
    from gitpipe.cli.main import cli

    cli.main(args=args, prog_name="gitpipe")
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
finally:
    main.disable()
threading.setprofile(None)
stats = pstats.Stats(main)
with guard:
    for _, prof in threads:
        stats.add(prof)
stats.dump_stats(out)
print(f"profiled threads: main + {len(threads)}", file=sys.stderr)
sys.exit(code)
'''

# The S3 baseline: the same objects, one boto3 put_object each, in a thread pool,
# as its own process: how fast the server takes small objects, without gitpipe.
S3_BASELINE = '''"""python s3_baseline.py BUCKET PREFIX JOBS DIR: put every file below DIR."""
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
import botocore.config

bucket, prefix, jobs, root = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
paths = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
client = boto3.client("s3", config=botocore.config.Config(max_pool_connections=jobs))


def put(path):
    with open(path, "rb") as handle:
        client.put_object(Bucket=bucket, Key=prefix + os.path.relpath(path, root),
                          Body=handle.read())


with ThreadPoolExecutor(jobs) as pool:
    list(pool.map(put, paths))
print(f"put {len(paths)} object(s)")
'''

# Functions where a thread only waits for another: their tottime is not work.
WAITS = ("acquire' of '_thread.lock", "acquire' of '_thread.RLock", "method 'poll' of",
         "method 'select' of", "built-in method time.sleep", "method 'control' of",
         "method 'get' of '_queue.SimpleQueue'")


# --------------------------------------------------------------------------------------
# Running and measuring child processes


@dataclass
class Sample:
    seconds: float
    maxrss_kib: int
    returncode: int
    output: str


GNU_TIME = bs.GNU_TIME
USE_GNU_TIME = False  # set by main() when GNU time works


def run_measured(cmd: list[str], cwd: Path, env: dict[str, str], check: bool = True,
                 rss: bool = False) -> Sample:
    """Wall time of one child process, and the peak RSS of that child.

    With rss=True and GNU time installed, the command runs under `/usr/bin/time -f %M`
    (about 1.5 ms more per run, alike for every command): a child forked straight
    from this process inherits this process's RSS high-water mark across exec (and
    with moto loaded that is ~100 MiB), so os.wait4's ru_maxrss is only a floor.
    """
    rss_file = None
    if rss and USE_GNU_TIME:
        rss_file = tempfile.NamedTemporaryFile("r", suffix=".rss")  # noqa: SIM115
        cmd = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *cmd]
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        killer = threading.Timer(TIMEOUT_S, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    maxrss = usage.ru_maxrss
    if rss_file is not None:
        with rss_file:
            lines = rss_file.read().strip().splitlines()
        if lines and lines[-1].isdigit():
            maxrss = int(lines[-1])
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} (in {cwd}) exited {proc.returncode}:\n{text}")
    return Sample(seconds, maxrss, proc.returncode, text)


def measure(cmd: list[str], cwd: Path, env: dict[str, str]) -> Sample:
    """A timed run: wall time, and peak RSS through GNU time when installed."""
    return run_measured(cmd, cwd, env, rss=True)


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    return run_measured(cmd, cwd, env).output


def sync() -> None:
    """Flush dirty pages (untimed) so one run's writeback is not billed to the next."""
    os.sync()


@dataclass
class Figure:
    label: str
    group: str
    cmd: str
    objects: int = 0
    bytes: int = 0
    jobs: int | None = None
    baseline: bool = False
    samples: list[Sample] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    def to_json(self) -> dict[str, Any]:
        med = self.median
        return {
            "group": self.group, "cmd": self.cmd, "objects": self.objects,
            "bytes": self.bytes, "jobs": self.jobs, "baseline": self.baseline,
            "median_s": med, "min_s": min(s.seconds for s in self.samples),
            "max_s": max(s.seconds for s in self.samples),
            "samples_s": [s.seconds for s in self.samples],
            "maxrss_kib": [s.maxrss_kib for s in self.samples],
            "objects_per_s": self.objects / med if self.objects and med else None,
            "mib_per_s": self.bytes / MIB / med if self.bytes and med else None,
            "ratios": self.ratios, "note": self.note,
        }


def record(fig: Figure, sample: Sample) -> None:
    fig.samples.append(sample)
    print(f"    {fig.label:<34} {sample.seconds:9.3f}s  RSS {sample.maxrss_kib / 1024:7.1f} MiB",
          file=sys.stderr, flush=True)


PUSHED = re.compile(r"pushed (\d+) object\(s\) and (\d+) run-cache entr(?:y|ies)")
FETCHED = re.compile(r"fetched (\d+) object\(s\).*checked out (\d+) out\(s\)")


PROBLEMS: list[str] = []  # checks that failed: in the JSON and under the table


def problem(message: str) -> None:
    PROBLEMS.append(message)
    print(f"WARNING: {message}", file=sys.stderr, flush=True)


def expect(pattern: re.Pattern[str], text: str, wanted: tuple[int, ...], what: str) -> None:
    """A figure for a run that did not do the work would mean nothing: check the summary
    line, and record (without stopping a long run) when it is not what was expected."""
    match = pattern.search(text)
    got = tuple(int(g) for g in match.groups()) if match else None
    if got != wanted:
        problem(f"{what}: expected {wanted} from {pattern.pattern!r}, got {got}; "
                f"output: {text.strip()[-500:]}")


# --------------------------------------------------------------------------------------
# Synthetic repositories


def build_repo(name: str, files: int, total: int, remote_url: str, gitpipe: str,
               env: dict[str, str], reuse: bool) -> tuple[Path, dict[str, Any]]:
    """A git repository whose one stage writes OUT (files, total bytes), built and
    committed with its lock; the default remote `store` is `remote_url`."""
    repo = WORK / name
    identity = {"files": files, "total": total, "remote": remote_url,
                "gen": hashlib.sha256(GEN_SCRIPT.encode()).hexdigest()}
    marker = repo / MARKER
    if reuse and marker.is_file():
        recorded = json.loads(marker.read_text())
        if recorded.get("identity") == identity:
            status = run([gitpipe, "status"], repo, env)
            if "up to date" in status:
                print(f"  reusing {repo}", file=sys.stderr)
                return repo, dict(recorded["build"], reused=True)
            print(f"  {repo.name}: stale for this gitpipe; rebuilding", file=sys.stderr)
    if repo.exists():
        remove_tree(repo)
    repo.mkdir(parents=True)
    (repo / "gen.py").write_text(GEN_SCRIPT)
    (repo / "gitpipe.yaml").write_text(
        "stages:\n"
        f"  {STAGE}:\n"
        f"    cmd: python3 gen.py {OUT} {files} {total}\n"
        "    deps: [gen.py]\n"
        f"    outs: [{OUT}/]\n")
    (repo / ".gitignore").write_text(f"/{MARKER}\n")
    git = ["git", *GIT_ID]
    run([*git, "init", "-q"], repo, env)
    run([gitpipe, "init"], repo, env)  # after gitpipe.yaml: it git-ignores the out
    run([gitpipe, "remote", "add", "--default", "store", remote_url], repo, env)
    run([*git, "add", "-A"], repo, env)
    run([*git, "commit", "-q", "-m", "synthetic pipeline"], repo, env)
    print(f"  building {repo.name}: {files} files, {total / MIB:.1f} MiB (gitpipe repro)",
          file=sys.stderr, flush=True)
    built = measure([gitpipe, "repro"], repo, env)
    print(f"    gitpipe repro (build)              {built.seconds:9.3f}s", file=sys.stderr)
    run([*git, "add", "-A"], repo, env)
    run([*git, "commit", "-q", "-m", "gitpipe.lock"], repo, env)
    dirty = run(["git", "status", "--porcelain"], repo, env).strip()
    if dirty:
        raise RuntimeError(f"{repo}: not clean after the build:\n{dirty}")
    build = {"repro_s": built.seconds, "repro_maxrss_kib": built.maxrss_kib, "reused": False}
    marker.write_text(json.dumps({"identity": identity, "build": build}))
    return repo, build


def set_remote(repo: Path, url: str | None) -> None:
    """Point remote `store` at `url` in the git-ignored config.local.yaml (None: back
    to the committed URL), so the repository stays clean."""
    local = repo / ".gitpipe" / "config.local.yaml"
    if url is None:
        local.unlink(missing_ok=True)
    else:
        local.write_text(json.dumps({"remotes": {"store": {"url": url}}}))


def remove_tree(path: Path) -> None:
    """rm -rf, read-only cache objects and all."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        subprocess.run(["chmod", "-R", "u+w", str(path)], check=False)
        shutil.rmtree(path)


# --------------------------------------------------------------------------------------
# Scenarios


def bench_big(args: argparse.Namespace, gitpipe: str, env: dict[str, str]) -> dict[str, Any]:
    total = args.total_mib * MIB
    n = args.files
    name = f"big-f{n}-m{args.total_mib}"
    remote = WORK / "remotes" / name
    clone = WORK / "clones" / name
    copy = WORK / "copies" / name
    print(f"\n== big out: {n} files, {args.total_mib} MiB, local remote", file=sys.stderr)
    repo, build = build_repo(name, n, total, str(remote), gitpipe, env, args.reuse)
    out = repo / OUT
    files = sorted(str(p) for p in out.iterdir())
    objects = n + 1  # the files and the directory's manifest
    j = str(args.jobs)
    figs = {
        "push": Figure("push (fresh local remote)", "big", f"gitpipe push -j {j}",
                       objects, total, args.jobs),
        "noop": Figure("push (no-op)", "big", f"gitpipe push -j {j}", objects, total, args.jobs),
        "pull": Figure("pull (fresh clone)", "big", f"gitpipe pull -j {j}",
                       objects, total, args.jobs),
        "cp": Figure("cp -r (baseline)", "big", f"cp -r {OUT} DEST", n, total, baseline=True),
        "cat": Figure("cat > /dev/null (baseline)", "big", f"cat {OUT}/* > /dev/null", n, total,
                      baseline=True),
        "version": Figure("gitpipe --version (startup)", "big", "gitpipe --version",
                          baseline=True),
    }
    verified = False
    # NOTE: every round writes to fresh directories, and a round's trees are
    # deleted only after the next round's timings. On ext4 without a journal
    # (this machine), creating files within 30 s of deleting many others in the
    # same block group makes each create scan past the freed inodes
    # (`recently_deleted` in ext4_new_inode: a quarter of pull's time in one
    # profile); deleting a 2,000-file clone right before a timed pull billed that
    # scan to whichever tool ran next. New directories land in other groups.
    rounds = []
    for round_ in range(args.warmup + args.repeat):
        warm = round_ < args.warmup
        print(f"  round {round_ + 1}{' (warm-up, untimed)' if warm else ''}", file=sys.stderr)
        keep = (lambda fig, s: None) if warm else record
        paths = {k: p.with_name(f"{p.name}-r{round_}") for k, p in
                 (("remote", remote), ("clone", clone), ("copy", copy))}
        rounds.append(paths)
        set_remote(repo, str(paths["remote"]))

        sync()
        sample = measure([gitpipe, "push", "-j", j], repo, env)
        expect(PUSHED, sample.output, (objects, 1), "push to a fresh remote")
        keep(figs["push"], sample)

        sync()
        sample = measure([gitpipe, "push", "-j", j], repo, env)
        expect(PUSHED, sample.output, (0, 0), "no-op push")
        keep(figs["noop"], sample)

        paths["clone"].parent.mkdir(parents=True, exist_ok=True)
        run(["git", "clone", "-q", str(repo), str(paths["clone"])], WORK, env)
        set_remote(paths["clone"], str(paths["remote"]))
        sync()
        sample = measure([gitpipe, "pull", "-j", j], paths["clone"], env)
        expect(FETCHED, sample.output, (objects, 1), "pull into a fresh clone")
        keep(figs["pull"], sample)
        if not verified:
            diff = subprocess.run(["diff", "-rq", str(out), str(paths["clone"] / OUT)], env=env,
                                  capture_output=True, text=True, check=False)
            if diff.returncode != 0:
                raise RuntimeError(f"the pulled out differs from the original:\n{diff.stdout}")
            verified = True

        paths["copy"].parent.mkdir(parents=True, exist_ok=True)
        sync()
        keep(figs["cp"], measure(["cp", "-r", str(out), str(paths["copy"])], repo, env))

        keep(figs["cat"], measure(["sh", "-c", 'exec cat "$@" > /dev/null', "cat", *files],
                                       repo, env))
        keep(figs["version"], measure([gitpipe, "--version"], repo, env))
        if len(rounds) > 1:
            for path in rounds[-2].values():
                remove_tree(path)
    set_remote(repo, None)
    for path in rounds[-1].values():
        remove_tree(path)

    base = {"cp -r": figs["cp"].median, "cat": figs["cat"].median}
    for fig in figs.values():
        fig.ratios = {k: fig.median / v for k, v in base.items() if v > 0}
    result: dict[str, Any] = {"repo": str(repo), "files": n, "bytes": total, "build": build,
                              "figures": {f.label: f.to_json() for f in figs.values()}}
    if args.profile:
        remove_tree(remote)
        result["profiles"] = {
            "push (fresh local remote)": profile(args, ["push", "-j", j], repo, env,
                                                 f"{name}-push"),
            "push (no-op)": profile(args, ["push", "-j", j], repo, env, f"{name}-noop"),
        }
        remove_tree(clone)
        run(["git", "clone", "-q", str(repo), str(clone)], WORK, env)
        result["profiles"]["pull (fresh clone)"] = profile(args, ["pull", "-j", j], clone, env,
                                                           f"{name}-pull")
        remove_tree(clone)
    if not args.keep:
        remove_tree(remote)
        for path in (clone, copy):
            remove_tree(path)
    return result


def bench_small_noop(args: argparse.Namespace, gitpipe: str,
                     env: dict[str, str]) -> dict[str, Any]:
    n, size = args.small_files, args.small_bytes
    name = f"small-f{n}-b{size}"
    remote = WORK / "remotes" / name
    print(f"\n== no-op push: {n} x {size} B objects, local remote", file=sys.stderr)
    repo, build = build_repo(name, n, n * size, str(remote), gitpipe, env, args.reuse)
    objects = n + 1
    j = str(args.jobs)
    remove_tree(remote)
    sync()
    first = measure([gitpipe, "push", "-j", j], repo, env)
    expect(PUSHED, first.output, (objects, 1), "first push")
    print(f"    push (fresh, once)                 {first.seconds:9.3f}s", file=sys.stderr)
    fig = Figure(f"push (no-op), {n} objects", "small", f"gitpipe push -j {j}", objects,
                 n * size, args.jobs)
    fresh = Figure(f"push (fresh local remote), {n} objects", "small", f"gitpipe push -j {j}",
                   objects, n * size, args.jobs, note="one run (the one that fills the remote)")
    fresh.samples.append(first)
    for round_ in range(args.warmup + args.repeat):
        sample = measure([gitpipe, "push", "-j", j], repo, env)
        expect(PUSHED, sample.output, (0, 0), "no-op push")
        if round_ >= args.warmup:
            record(fig, sample)
    result: dict[str, Any] = {"repo": str(repo), "files": n, "bytes": n * size, "build": build,
                              "figures": {fresh.label: fresh.to_json(), fig.label: fig.to_json()}}
    if args.profile:
        result["profiles"] = {fig.label: profile(args, ["push", "-j", j], repo, env,
                                                 f"{name}-noop")}
    if not args.keep:
        remove_tree(remote)
    return result


def s3_env(base: dict[str, str], endpoint: str) -> dict[str, str]:
    """The standard AWS variables only, pointing at 127.0.0.1; nothing that could make
    botocore look elsewhere (profiles, config files, metadata service, proxies)."""
    env = dict(base)
    for key in list(env):
        if key.startswith("AWS_") or key.lower() in ("http_proxy", "https_proxy", "all_proxy"):
            del env[key]
    missing = str(WORK / "no-aws-config")  # never created: no shared config or credentials
    env.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": endpoint,
        "AWS_CONFIG_FILE": missing, "AWS_SHARED_CREDENTIALS_FILE": missing,
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    })
    return env


@contextlib.contextmanager
def moto_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 (never another address) for the block: its URL."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        if host != "127.0.0.1":
            raise RuntimeError(f"moto listens on {host}, not 127.0.0.1")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def bench_s3(args: argparse.Namespace, gitpipe: str, env: dict[str, str]) -> dict[str, Any]:
    import boto3

    n, size = args.s3_files, args.small_bytes
    name = f"s3-f{n}-b{size}"
    url = f"s3://{S3_BUCKET}/cache"
    print(f"\n== S3 push: {n} x {size} B objects, moto on 127.0.0.1", file=sys.stderr)
    repo, build = build_repo(name, n, n * size, url, gitpipe, env, args.reuse)
    objects = n + 1
    with moto_endpoint() as endpoint:
        child = s3_env(env, endpoint)
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(child)  # the same isolation for boto3 in this process
        try:
            return _bench_s3_with(args, gitpipe, child, repo, build, endpoint, objects, n, size,
                                  name, boto3)
        finally:
            os.environ.clear()
            os.environ.update(saved)


def _bench_s3_with(args: argparse.Namespace, gitpipe: str, env: dict[str, str], repo: Path,
                   build: dict[str, Any], endpoint: str, objects: int, n: int, size: int,
                   name: str, boto3: Any) -> dict[str, Any]:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing",
                          aws_session_token="testing")
    client.create_bucket(Bucket=S3_BUCKET)

    def empty() -> None:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=S3_BUCKET):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            for i in range(0, len(keys), 1000):
                client.delete_objects(Bucket=S3_BUCKET, Delete={"Objects": keys[i:i + 1000]})

    def count() -> int:
        return sum(page.get("KeyCount", 0) for page in
                   client.get_paginator("list_objects_v2").paginate(Bucket=S3_BUCKET))

    jobs = args.s3_jobs
    figs = {j: Figure(f"push to S3 -j {j}, {n} objects", "s3", f"gitpipe push -j {j}", objects,
                      n * size, j) for j in jobs}
    baseline_script = WORK / "s3_baseline.py"
    baseline_script.write_text(S3_BASELINE)
    files_dir = repo / ".gitpipe" / "cache" / "files"
    bases = {j: Figure(f"boto3 put_object loop -j {j} (baseline)", "s3",
                       f"python s3_baseline.py (boto3, {j} threads)", objects, n * size, j,
                       baseline=True) for j in jobs}
    noop = Figure(f"push to S3 (no-op), {n} objects", "s3", f"gitpipe push -j {jobs[0]}",
                  objects, n * size, jobs[0])
    for round_ in range(args.warmup + args.repeat):
        warm = round_ < args.warmup
        print(f"  round {round_ + 1}{' (warm-up, untimed)' if warm else ''}", file=sys.stderr)
        for j in jobs:
            empty()
            sample = measure([gitpipe, "push", "-j", str(j)], repo, env)
            expect(PUSHED, sample.output, (objects, 1), f"S3 push -j {j}")
            landed = count()  # small files travel in packs: a few keys, never none
            if landed == 0:
                problem(f"S3 push -j {j}: no key in the bucket")
            if not warm:
                record(figs[j], sample)
        sample = measure([gitpipe, "push", "-j", str(jobs[0])], repo, env)
        expect(PUSHED, sample.output, (0, 0), "S3 no-op push")
        if not warm:
            record(noop, sample)
        for j in jobs:
            empty()
            sample = measure([args.python, str(baseline_script), S3_BUCKET, "baseline/",
                                   str(j), str(files_dir)], repo, env)
            if sample.output.strip() != f"put {objects} object(s)":
                problem(f"S3 baseline -j {j}: {sample.output.strip()[-500:]}")
            if not warm:
                record(bases[j], sample)
    for j in jobs:
        figs[j].ratios = {"boto3 loop": figs[j].median / bases[j].median}
    all_figs = [*figs.values(), noop, *bases.values()]
    result: dict[str, Any] = {"repo": str(repo), "files": n, "bytes": n * size, "build": build,
                              "endpoint": endpoint,
                              "figures": {f.label: f.to_json() for f in all_figs}}
    if args.profile:
        empty()
        j = str(jobs[0])
        result["profiles"] = {f"push to S3 -j {j}": profile(args, ["push", "-j", j], repo, env,
                                                            f"{name}-push-j{j}"),
                              "push to S3 (no-op)": profile(args, ["push", "-j", j], repo, env,
                                                            f"{name}-noop")}
    return result


# --------------------------------------------------------------------------------------
# Profiling (--profile)


def profile(args: argparse.Namespace, gitpipe_args: list[str], cwd: Path, env: dict[str, str],
            slug: str) -> dict[str, Any]:
    """cProfile (every thread, merged) of one `gitpipe ARGS` run in `cwd`."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    driver = WORK / "profile_driver.py"
    driver.write_text(PROFILE_DRIVER)
    prof = RESULTS / f"transfer-{args.stamp}-{slug}.prof"
    sample = run_measured([args.python, str(driver), str(prof), *gitpipe_args], cwd, env)
    script = (
        "import pstats, sys\n"
        "s = pstats.Stats(sys.argv[1])\n"
        "for (f, line, fn), (cc, nc, tt, ct, _) in s.stats.items():\n"
        "    print(f'{tt:.6f}\\t{ct:.6f}\\t{nc}\\t{f}:{line}({fn})')\n"
    )
    rows: list[dict[str, Any]] = []
    for line in run([args.python, "-c", script, str(prof)], WORK, env).splitlines():
        tt, ct, nc, name = line.split("\t", 3)
        name = name.replace(str(Path(args.python).parent.parent) + "/", "")
        if "site-packages" not in name:  # the package, or its --snapshot copy
            name = re.sub(r"^/.*?/(gitpipe/[\w/]+\.py:)", r"\1", name)
        rows.append({"tottime_s": float(tt), "cumtime_s": float(ct), "calls": int(nc),
                     "function": name})
    work = [r for r in rows if not any(w in r["function"] for w in WAITS)]
    by_tot = sorted(work, key=lambda r: -r["tottime_s"])[:20]
    gitpipe_rows = [r for r in rows if r["function"].startswith("gitpipe/")]
    by_cum = sorted(gitpipe_rows, key=lambda r: -r["cumtime_s"])[:20]
    print(f"  profile {slug}: {sample.seconds:.2f}s wall -> {prof.relative_to(REPO_ROOT)}",
          file=sys.stderr)
    return {"prof_file": str(prof.relative_to(REPO_ROOT)), "wall_s": sample.seconds,
            "cmd": "gitpipe " + " ".join(gitpipe_args),
            "cpu_s_all_threads": sum(r["tottime_s"] for r in work),
            "by_tottime": by_tot, "gitpipe_by_cumtime": by_cum}


# --------------------------------------------------------------------------------------
# Tools and environment


def tool_versions(gitpipe: str, python: str, env: dict[str, str]) -> dict[str, str]:
    def first_line(cmd: list[str]) -> str:
        try:
            return run(cmd, WORK, env).strip().splitlines()[0]
        except (OSError, RuntimeError, IndexError) as exc:
            return f"unavailable: {exc}"

    mods = "import importlib.metadata as m\nfor p in ('fsspec','s3fs','moto','boto3','botocore'," \
           "'aiobotocore','xxhash'):\n    try: print(p, m.version(p))\n" \
           "    except Exception: print(p, '-')"
    return {
        "gitpipe": first_line([gitpipe, "--version"]),
        "python": first_line([python, "-c", "import sys; print(sys.version.split()[0])"]),
        "git": first_line(["git", "--version"]),
        "cp": first_line(["cp", "--version"]),
        "packages": run([python, "-c", mods], WORK, env).strip().replace("\n", "; "),
    }


def filesystem(path: Path) -> str:
    """The file system type (ext4, btrfs, xfs…): it decides whether checkout can reflink."""
    try:
        return run(["df", "--output=fstype", str(path)], WORK,
                   os.environ.copy()).strip().splitlines()[-1].strip()
    except (OSError, RuntimeError, IndexError):
        return "unknown"


# --------------------------------------------------------------------------------------
# Report


def markdown(results: dict[str, Any], meta: dict[str, Any]) -> str:
    out = [f"gitpipe transfer benchmark, {meta['timestamp']}: {meta['cpus']} CPUs, "
           f"work dir on {meta['filesystem']}, warm page cache, median of {meta['repeat']} "
           "runs", "",
           "| scenario | figure | objects | MiB | -j | median s | min s | "
           "× cp -r (S3: × boto3) | × cat | throughput | peak RSS MiB |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    titles = {"big": "big out", "small": "small objects, local", "s3": "small objects, S3 (moto)"}
    for key, res in results.items():
        for label, fig in res["figures"].items():
            ratios = fig["ratios"]
            thr = ""
            if "no-op" in label and fig["group"] == "big":
                thr = ""  # nothing moved: a rate would mislead
            elif fig["group"] == "big" and fig["mib_per_s"]:
                thr = f"{fig['mib_per_s']:.0f} MiB/s"
            elif fig["objects_per_s"]:
                thr = f"{fig['objects_per_s']:.0f} obj/s"
            cp_r = f"{ratios['cp -r']:.2f}" if "cp -r" in ratios else ""
            if "boto3 loop" in ratios:
                cp_r = f"{ratios['boto3 loop']:.2f} × boto3"
            cat = f"{ratios['cat']:.2f}" if "cat" in ratios else ""
            out.append(
                f"| {titles[key]} | `{label}` | {fig['objects'] or ''} | "
                f"{fig['bytes'] / MIB:.1f} | {fig['jobs'] or ''} | {fig['median_s']:.3f} | "
                f"{fig['min_s']:.3f} | {cp_r} | {cat} | {thr} | "
                f"{max(fig['maxrss_kib']) / 1024:.1f} |")
    builds = [f"{k}: gitpipe repro {r['build']['repro_s']:.2f}s"
              + (" (reused)" if r["build"].get("reused") else "") for k, r in results.items()]
    out += ["", "Builds: " + "; ".join(builds)]
    for res in results.values():
        for label, prof in (res.get("profiles") or {}).items():
            out += ["", f"cProfile, all threads merged, of `{prof['cmd']}` ({label}): "
                    f"{prof['wall_s']:.2f}s wall, {prof['cpu_s_all_threads']:.2f}s in functions "
                    f"other than waits ({prof['prof_file']})", "",
                    "| tottime s | cumtime s | calls | function |", "|---:|---:|---:|---|"]
            out += [f"| {r['tottime_s']:.3f} | {r['cumtime_s']:.3f} | {r['calls']} | "
                    f"`{r['function']}` |" for r in prof["by_tottime"][:12]]
            out += ["", "| gitpipe function | cumtime s | calls |", "|---|---:|---:|"]
            out += [f"| `{r['function']}` | {r['cumtime_s']:.3f} | {r['calls']} |"
                    for r in prof["gitpipe_by_cumtime"][:10]]
    if meta.get("problems"):
        out += ["", "**Checks that failed:**", *(f"- {p}" for p in meta["problems"])]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000,
                        help="files in the big out (default 1000)")
    parser.add_argument("--total-mib", type=int, default=1024,
                        help="size of the big out in MiB (default 1024)")
    parser.add_argument("--small-files", type=int, default=20000,
                        help="objects for the no-op push to a local remote (default 20000)")
    parser.add_argument("--s3-files", type=int, default=10000,
                        help="objects pushed to S3 (default 10000)")
    parser.add_argument("--small-bytes", type=int, default=1024,
                        help="size of each small object (default 1024)")
    parser.add_argument("--jobs", "-j", type=int, default=8,
                        help="-j for the local push and pull (default 8, gitpipe's default)")
    parser.add_argument("--s3-jobs", default="8,32",
                        help="comma-separated -j values for the S3 push (default 8,32)")
    parser.add_argument("--only", default="big,small,s3",
                        help="scenarios to run, comma-separated: big, small, s3 (default all)")
    parser.add_argument("--repeat", "-n", type=int, default=3,
                        help="timed runs per figure; the median is reported (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep already built repositories of the same shape")
    parser.add_argument("--keep", action="store_true",
                        help="keep the remotes, clones and copies afterwards")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile (all threads) one run of each push and pull")
    parser.add_argument("--gitpipe", help="the gitpipe executable to benchmark")
    parser.add_argument("--inherit-env", action="store_true",
                        help="run children with this environment as is (default: bytecode "
                        "cached under benchmarks/.work/pycache)")
    parser.add_argument("--snapshot", action="store_true",
                        help="run a frozen copy of gitpipe/ (PYTHONPATH) so concurrent edits "
                        "cannot change the code under test mid-run")
    parser.add_argument("--no-save", action="store_true", help="do not write results JSON")
    args = parser.parse_args(argv)
    scenarios = [s.strip() for s in args.only.split(",") if s.strip()]
    if any(s not in ("big", "small", "s3") for s in scenarios):
        parser.error("--only takes big, small, s3")
    try:
        args.s3_jobs = [int(j) for j in args.s3_jobs.split(",")]
    except ValueError:
        parser.error("--s3-jobs: comma-separated integers")
    if min(args.repeat, args.files, args.total_mib, args.small_files, args.s3_files,
           args.small_bytes, args.jobs, *args.s3_jobs) < 1 or args.warmup < 0:
        parser.error("counts and sizes must be >= 1")
    for tool in ("git", "cp", "cat", "diff", "chmod"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not on PATH")
    if "s3" in scenarios:
        try:
            import boto3  # noqa: F401
            import moto.server  # noqa: F401
        except ImportError:
            parser.error("the s3 scenario needs moto[server] and boto3: run with the venv's "
                         "Python, or --only big,small")

    gitpipe = str(bs.find_gitpipe(args.gitpipe, "bench_transfer"))
    args.python = bs.interpreter_of(Path(gitpipe))
    global USE_GNU_TIME
    USE_GNU_TIME = bs.has_gnu_time()
    env = bs.bench_env(args.inherit_env)
    WORK.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(WORK).free
    if "big" in scenarios:
        need = 4 * args.total_mib * MIB + 1024 * MIB  # repo + cache (if new), remote, clone x2
        if free < need:
            sys.exit(f"bench_transfer: {free / 2**30:.1f} GiB free under {WORK}, the big "
                     f"scenario needs about {need / 2**30:.1f} GiB (use --total-mib)")
    args.stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    source = bs.source_digest()
    if args.snapshot:
        env["PYTHONPATH"] = str(bs.snapshot_source(source))
    imported = run([args.python, "-c", "import gitpipe; print(gitpipe.__file__)"], WORK,
                   env).strip()
    meta: dict[str, Any] = {
        "timestamp": args.stamp,
        "argv": sys.argv[1:] if argv is None else argv,
        "platform": platform.platform(), "cpus": os.cpu_count(),
        "filesystem": filesystem(WORK), "disk_free_start_bytes": free,
        "load_avg_start": os.getloadavg(),
        "tools": tool_versions(gitpipe, args.python, env),
        "gitpipe_path": gitpipe, "gitpipe_source_sha256": source,
        "gitpipe_imported_from": imported, "snapshot": bool(args.snapshot),
        "repeat": args.repeat, "warmup": args.warmup, "jobs": args.jobs,
        "s3_jobs": args.s3_jobs,
        "peak_rss_method": "GNU time %M around every timed run (~1.5 ms more per run)"
        if USE_GNU_TIME else "os.wait4 ru_maxrss (floored at the benchmark's own RSS)",
        "page_cache": "warm (data just written or read); "
        "os.sync() before each timed transfer, caches not dropped",
    }
    print(f"gitpipe: {gitpipe} ({meta['tools']['gitpipe']}), package {imported}, "
          f"source sha256 {source[:12]}, "
          f"work dir {WORK} on {meta['filesystem']}", file=sys.stderr)
    results: dict[str, Any] = {}
    if "big" in scenarios:
        results["big"] = bench_big(args, gitpipe, env)
    if "small" in scenarios:
        results["small"] = bench_small_noop(args, gitpipe, env)
    if "s3" in scenarios:
        results["s3"] = bench_s3(args, gitpipe, env)
    meta["load_avg_end"] = os.getloadavg()
    meta["gitpipe_source_sha256_end"] = bs.source_digest()
    if meta["gitpipe_source_sha256_end"] != source and not args.snapshot:
        print("WARNING: gitpipe/ changed while the benchmark ran; figures may mix versions",
              file=sys.stderr)
    meta["problems"] = PROBLEMS
    print(markdown(results, meta))
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"transfer-{args.stamp}.json"
        path.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
        print(f"\nresults: {path.relative_to(REPO_ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
