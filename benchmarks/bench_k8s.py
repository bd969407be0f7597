#!/usr/bin/env python3
"""How much does gitpipe add to each Kubernetes Job, next to a bare client loop?

On the loopback control plane of the test suite (`bash scripts/k8s-testbed.sh
build`; kube-apiserver, controller-manager and the node agent, see
tests/k8s/README.md) and moto's S3 server on 127.0.0.1, in the same run:

    bare loop   the kubernetes client creates N Jobs whose pod runs `true`,
                at most C at once, and waits for each to succeed (a watch)
    gitpipe     `gitpipe repro -j C` of a foreach stage with N items, each a
                Job on the kubernetes executor whose command is `true`

Both start from a fresh namespace; rounds alternate (bare, gitpipe, bare, ...)
so background load hits both alike. The figure is the wall time per Job of
each and their ratio. A stage of `true` has no deps, params or outs, so its
pod runs `/bin/sh -c true` itself, like the bare loop's (a stage with deps
or outs runs `gitpipe exec` in the pod: `tests/k8s` covers that path).

    .venv/bin/python benchmarks/bench_k8s.py                  # N=100, C=20, 3 rounds
    .venv/bin/python benchmarks/bench_k8s.py --jobs 20 --concurrency 5 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.k8s.controlplane import ControlPlane  # noqa: E402  (the test bed is the cluster)
from tests.k8s.node_agent import NodeAgent  # noqa: E402

sys.path.insert(0, str(HERE))
from bench_transfer import moto_endpoint  # noqa: E402  (one home: 127.0.0.1, checked)

GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
          "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


def new_namespace(api: Any) -> str:
    from kubernetes import client

    name = f"bench-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(api).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def bare_loop(api: Any, jobs: int, concurrency: int) -> float:
    """Create `jobs` Jobs of `true`, at most `concurrency` unfinished at once; the
    wall time until the last one has succeeded."""
    from kubernetes import client, watch

    batch = client.BatchV1Api(api)
    namespace = new_namespace(api)
    done: set[str] = set()
    slots = threading.Semaphore(concurrency)
    finished = threading.Event()

    def watcher() -> None:
        stream = watch.Watch()
        for event in stream.stream(batch.list_namespaced_job, namespace, timeout_seconds=600):
            job = event["object"]
            if job.status.succeeded and job.metadata.name not in done:
                done.add(job.metadata.name)
                slots.release()
                if len(done) == jobs:
                    stream.stop()
        finished.set()

    started = time.monotonic()
    thread = threading.Thread(target=watcher, daemon=True)
    thread.start()
    for index in range(jobs):
        slots.acquire()
        batch.create_namespaced_job(namespace, client.V1Job(
            metadata=client.V1ObjectMeta(name=f"bare-{index}"),
            spec=client.V1JobSpec(backoff_limit=0, ttl_seconds_after_finished=300,
                                  template=client.V1PodTemplateSpec(spec=client.V1PodSpec(
                                      restart_policy="Never",
                                      containers=[client.V1Container(
                                          name="main", image="busybox",
                                          command=["true"])])))))
    finished.wait(600)
    return time.monotonic() - started


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})


def gitpipe_project(work: Path, jobs: int, namespace: str, bucket: str, endpoint: str,
                    kubeconfig: Path) -> Path:
    """A repository whose one foreach stage has `jobs` items, each a Job of `true`."""
    import yaml

    root = work / f"project-{namespace}"
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    items = [f"i{n:04d}" for n in range(jobs)]
    (root / "gitpipe.yaml").write_text(yaml.safe_dump({"stages": {"noop": {
        "foreach": items, "do": {"cmd": "true", "executor": "kubernetes",
                                 "always_changed": True,
                                 "env_from_secret": {
                                     "AWS_ACCESS_KEY_ID": ["s3-creds", "id"],
                                     "AWS_SECRET_ACCESS_KEY": ["s3-creds", "secret"]}}}}}))
    env = {**os.environ, **GIT_ENV, **S3_ENV, "AWS_ENDPOINT_URL": endpoint,
           "KUBECONFIG": str(kubeconfig)}
    gp = [sys.executable, "-m", "gitpipe"]
    subprocess.run([*gp, "init"], cwd=root, env=env, check=True, capture_output=True)
    (root / ".gitpipe" / "config.yaml").write_text(yaml.safe_dump({
        "remotes": {"s3": {"url": bucket}}, "core": {"remote": "s3"},
        "kubernetes": {"namespace": namespace, "image": "gitpipe:bench", "ttl": 300,
                       "env": {"AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1",
                               "AWS_EC2_METADATA_DISABLED": "true"}}}))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "bench")
    return root


def children_cpu() -> float:
    """CPU seconds of this process's finished children: the repro and, since the
    node agent runs in this process, every pod's command."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def gitpipe_run(root: Path, concurrency: int, endpoint: str, kubeconfig: Path
                ) -> tuple[float, float, float]:
    """Wall seconds of `gitpipe repro -j C`, the CPU seconds of the repro process
    itself, and of its pods' commands (run by the node agent, in this process)."""
    env = {**os.environ, **GIT_ENV, **S3_ENV, "AWS_ENDPOINT_URL": endpoint,
           "KUBECONFIG": str(kubeconfig)}
    started, cpu = time.monotonic(), children_cpu()
    with tempfile.TemporaryFile() as out:
        repro = subprocess.Popen([sys.executable, "-m", "gitpipe", "repro", "-j",
                                  str(concurrency)], cwd=root, env=env, stdout=out,
                                 stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(repro.pid, 0)
        wall = time.monotonic() - started
        if os.waitstatus_to_exitcode(status) != 0:
            out.seek(0)
            raise SystemExit(f"gitpipe repro failed:\n{out.read()[-3000:].decode()}")
    ours = usage.ru_utime + usage.ru_stime
    return wall, ours, children_cpu() - cpu - ours


def make_secret(api: Any, namespace: str) -> None:
    from kubernetes import client

    client.CoreV1Api(api).create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="s3-creds"),
        string_data={"id": S3_ENV["AWS_ACCESS_KEY_ID"],
                     "secret": S3_ENV["AWS_SECRET_ACCESS_KEY"]}))


def run_rounds(args: argparse.Namespace, endpoint: str) -> dict[str, list[float]]:
    """The bare loop and gitpipe's repro, in turn, `args.rounds` times."""
    import boto3
    import kubernetes

    results: dict[str, list[float]] = {"bare": [], "gitpipe": [], "repro_cpu": [],
                                       "pods_cpu": []}
    with tempfile.TemporaryDirectory(prefix="gitpipe-bench-k8s-") as tmp:
        work = Path(tmp)
        with ControlPlane(workdir=work / "controlplane") as cp:
            agent = NodeAgent(cp.kubeconfig, work / "node", tls=(cp.kubelet_cert, cp.kubelet_key))
            with agent:
                api = kubernetes.config.new_client_from_config(config_file=str(cp.kubeconfig))
                for round_ in range(args.rounds):
                    results["bare"].append(bare_loop(api, args.jobs, args.concurrency))
                    namespace = new_namespace(api)
                    make_secret(api, namespace)
                    bucket = f"bench-{uuid.uuid4().hex[:8]}"
                    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
                    root = gitpipe_project(work, args.jobs, namespace, f"s3://{bucket}/cache",
                                           endpoint, cp.kubeconfig)
                    wall, repro_cpu, pods_cpu = gitpipe_run(root, args.concurrency, endpoint,
                                                            cp.kubeconfig)
                    results["gitpipe"].append(wall)
                    results["repro_cpu"].append(repro_cpu)
                    results["pods_cpu"].append(pods_cpu)
                    print(f"round {round_ + 1}: bare {results['bare'][-1]:.1f} s, "
                          f"gitpipe {results['gitpipe'][-1]:.1f} s", file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.update(S3_ENV)
    with moto_endpoint() as endpoint:
        results = run_rounds(args, endpoint)
    bare = statistics.median(results["bare"])
    ours = statistics.median(results["gitpipe"])
    load = os.getloadavg()[0]
    print(f"| {args.jobs} Jobs of `true`, concurrency {args.concurrency} | per Job |")
    print("| --- | --- |")
    print(f"| bare client loop | {bare / args.jobs * 1000:.0f} ms |")
    print(f"| gitpipe repro | {ours / args.jobs * 1000:.0f} ms |")
    print(f"| ratio | {ours / bare:.2f}x |")
    per_job = {key: statistics.median(results[key]) / args.jobs * 1000
               for key in ("repro_cpu", "pods_cpu")}
    print(f"| gitpipe's CPU per Job: the repro | {per_job['repro_cpu']:.0f} ms |")
    print(f"| gitpipe's CPU per Job: its pod | {per_job['pods_cpu']:.0f} ms |")
    print(f"\nmedian of {args.rounds} rounds; load average {load:.1f}", file=sys.stderr)
    out = HERE / "results" / f"k8s-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"jobs": args.jobs, "concurrency": args.concurrency,
                               "rounds": results, "ratio": ours / bare, "load": load}, indent=1))


if __name__ == "__main__":
    main()
