"""gitpipe's Kubernetes executor against the real control plane on loopback (see
tests/k8s/cluster.py) and moto's S3 server as the remote the pods use."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import GIT_ENV, Repo
from tests.k8s.cluster import STAGE_SECRETS, K8sCluster, use_cluster

pytestmark = [pytest.mark.k8s, pytest.mark.s3, pytest.mark.slow]

TRAIN = "echo training on $(hostname); mkdir -p model && tr a-z A-Z < clean.txt > model/m.txt"


def project(repo: Repo, k8s: K8sCluster, namespace: str, bucket: str, s3_env: dict,
            train_cmd: str = TRAIN, **train: object) -> Repo:
    repo.gen({"raw.txt": "b\na\n"})
    stage = {"cmd": train_cmd, "deps": ["clean.txt"], "outs": ["model/"],
             "executor": "kubernetes", **STAGE_SECRETS}
    stage.update(train)
    repo.spec({
        "prep": {"cmd": "sort raw.txt > clean.txt", "deps": ["raw.txt"], "outs": ["clean.txt"]},
        "train": stage,
    })
    use_cluster(repo, k8s, namespace, bucket, s3_env)
    repo.commit("pipeline")
    return repo


def running_pod(k8s: K8sCluster, namespace: str, stage: str = "train",
                timeout: float = 60) -> str:
    """The name of the stage's pod once the API says it runs (pods of other tests'
    namespaces share names: the fingerprint is the same)."""
    core = k8s.core()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pod in core.list_namespaced_pod(
                namespace, label_selector=f"gitpipe.dev/stage={stage}").items:
            if pod.status.phase == "Running":
                return str(pod.metadata.name)
        time.sleep(0.2)
    raise AssertionError(f"no running {stage} pod in {namespace}")


def killed_while_running(repo: Repo, k8s: K8sCluster, namespace: str,
                         stage: str = "train") -> None:
    """A `gitpipe repro` SIGKILLed once the stage's pod runs: what it started is
    left behind for the next repro, with nothing of gitpipe's to stop it."""
    env = {**os.environ, **GIT_ENV, **k8s.env}
    first = subprocess.Popen([sys.executable, "-m", "gitpipe", "repro"], cwd=repo.path, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    running_pod(k8s, namespace, stage=stage)
    first.send_signal(signal.SIGKILL)
    first.wait()


def run(repo: Repo, k8s: K8sCluster, *args: str, **kwargs: object) -> subprocess.CompletedProcess:
    return repo.run(*args, env=k8s.env, timeout=240, **kwargs)


def test_end_to_end_through_the_remote(repo: Repo, k8s: K8sCluster, k8s_namespace: str,
                                       s3_bucket: str, s3_env: dict) -> None:
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env)
    done = run(repo, k8s, "repro")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[train] training on" in done.stdout  # pod logs streamed with the prefix
    assert repo.read("model/m.txt") == "A\nB\n"
    assert run(repo, k8s, "status", "--check").returncode == 0
    jobs = k8s.batch().list_namespaced_job(k8s_namespace).items
    assert len(jobs) == 1
    labels = jobs[0].metadata.labels
    assert labels["gitpipe.dev/stage"] == "train"
    assert jobs[0].spec.backoff_limit == 0
    log = sorted((repo.path / ".gitpipe/logs").glob("train-*.log"))[-1].read_text()
    assert "training on" in log


def test_an_executable_out_comes_back_executable(repo: Repo, k8s: K8sCluster,
                                                 k8s_namespace: str, s3_bucket: str,
                                                 s3_env: dict) -> None:
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env, outs=["run.sh"],
            train_cmd="printf 'cat clean.txt\\n' > run.sh && chmod +x run.sh")
    done = run(repo, k8s, "repro")
    assert done.returncode == 0, done.stdout + done.stderr
    assert os.access(repo.path / "run.sh", os.X_OK)
    assert repo.project().lock_entries["train"].out("run.sh").executable
    assert run(repo, k8s, "status", "--check").returncode == 0


def test_python_modules_go_to_the_pod(repo: Repo, k8s: K8sCluster, k8s_namespace: str,
                                      s3_bucket: str, s3_env: dict) -> None:
    """The module files a `python:` dep stands for are in the fingerprint, so the
    pod runs exactly those: an edit to an imported module reaches the next Job."""
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env,
            deps=["clean.txt", {"python": "train.py"}],
            train_cmd="mkdir -p model && python3 train.py")
    repo.gen({"train.py": "import shout\ntext = shout.loud(open('clean.txt').read())\n"
                          "open('model/m.txt', 'w').write(text)\n",
              "shout.py": "def loud(text):\n    return text.upper()\n"})
    repo.commit("code")
    done = run(repo, k8s, "repro")
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.read("model/m.txt") == "A\nB\n"
    repo.gen({"shout.py": "def loud(text):\n    return text.upper() + '!'\n"})
    assert "shout.py modified" in run(repo, k8s, "status").stdout
    again = run(repo, k8s, "repro")
    assert again.returncode == 0, again.stdout + again.stderr
    assert repo.read("model/m.txt") == "A\nB\n!"
    assert run(repo, k8s, "status", "--check").returncode == 0


def test_oom_killed_is_reported_and_retried(repo: Repo, k8s: K8sCluster, k8s_namespace: str,
                                           s3_bucket: str, s3_env: dict) -> None:
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env, retries=1,
            train_cmd="sleep 2; " + TRAIN)
    k8s.agent.inject_oom("gp-train", times=1, after=0.5)
    done = run(repo, k8s, "repro")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OOMKilled" in done.stdout + done.stderr
    assert repo.read("model/m.txt") == "A\nB\n"


def test_pod_deleted_mid_run_fails_within_bounded_time(repo: Repo, k8s: K8sCluster,
                                                       k8s_namespace: str, s3_bucket: str,
                                                       s3_env: dict) -> None:
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env, train_cmd="sleep 120")

    def delete_when_running() -> None:
        k8s.core().delete_namespaced_pod(running_pod(k8s, k8s_namespace), k8s_namespace)

    killer = threading.Thread(target=delete_when_running)
    killer.start()
    started = time.monotonic()
    done = run(repo, k8s, "repro")
    killer.join()
    assert done.returncode == 1
    assert "was deleted" in done.stderr
    assert time.monotonic() - started < 60
    assert "train" not in repo.project().lock_entries


def test_dead_node_is_detected_by_heartbeat(repo: Repo, k8s: K8sCluster, k8s_namespace: str,
                                           s3_bucket: str, s3_env: dict) -> None:
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env, train_cmd="sleep 120")

    def lose_node() -> None:
        running_pod(k8s, k8s_namespace)
        time.sleep(1.5)
        k8s.agent.stop_reporting(kill_processes=True)

    thread = threading.Thread(target=lose_node)
    thread.start()
    done = run(repo, k8s, "repro")
    thread.join()
    assert done.returncode == 1
    assert "no heartbeat" in done.stderr


def test_timeout_becomes_the_deadline(repo: Repo, k8s: K8sCluster, k8s_namespace: str,
                                      s3_bucket: str, s3_env: dict) -> None:
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env, train_cmd="sleep 120", timeout="3s")
    done = run(repo, k8s, "repro")
    assert done.returncode == 1
    assert "DeadlineExceeded" in done.stderr
    job = k8s.batch().list_namespaced_job(k8s_namespace).items
    assert all(j.spec.active_deadline_seconds == 3 for j in job)


def test_restarted_gitpipe_adopts_the_running_job(repo: Repo, k8s: K8sCluster,
                                                 k8s_namespace: str, s3_bucket: str,
                                                 s3_env: dict) -> None:
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env, train_cmd="sleep 6; " + TRAIN)
    killed_while_running(repo, k8s, k8s_namespace)
    done = run(repo, k8s, "repro")
    assert done.returncode == 0, done.stderr
    names = {j.metadata.name for j in k8s.batch().list_namespaced_job(k8s_namespace).items}
    assert len(names) == 1  # adopted, not duplicated
    assert repo.read("model/m.txt") == "A\nB\n"


def test_gitpipe_restarted_after_the_job_finished_runs_it_again(
        repo: Repo, k8s: K8sCluster, k8s_namespace: str, s3_bucket: str, s3_env: dict) -> None:
    """The Job an interrupted run left has finished by the next repro: that repro
    makes it again under the same name and must judge the new Job's pod, never
    the finished one's (whose result record it cleared for the new attempt).
    The finished pod outlives its Job until the garbage collector comes, which
    under load is late; here it is orphaned, so it stays."""
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env, train_cmd="sleep 2; " + TRAIN)
    killed_while_running(repo, k8s, k8s_namespace)
    deadline = time.monotonic() + 120
    while not any(c.type == "Complete" and c.status == "True"
                  for job in k8s.batch().list_namespaced_job(k8s_namespace).items
                  for c in job.status.conditions or []):
        assert time.monotonic() < deadline, "the first Job never completed"
        time.sleep(0.2)
    for job in k8s.batch().list_namespaced_job(k8s_namespace).items:
        k8s.batch().delete_namespaced_job(job.metadata.name, k8s_namespace,
                                          propagation_policy="Orphan")
    while k8s.batch().list_namespaced_job(k8s_namespace).items:
        assert time.monotonic() < deadline, "the first Job was never deleted"
        time.sleep(0.2)
    assert k8s.core().list_namespaced_pod(k8s_namespace).items, "the orphaned pod is gone"
    done = run(repo, k8s, "repro")
    assert done.returncode == 0, done.stderr
    assert repo.read("model/m.txt") == "A\nB\n"
    status = repo.run("status", env=k8s.env).stdout
    assert "everything is up to date" in status, status


def test_ctrl_c_leaves_no_job_or_pod(repo: Repo, k8s: K8sCluster, k8s_namespace: str,
                                     s3_bucket: str, s3_env: dict) -> None:
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env, train_cmd="sleep 120")
    env = {**os.environ, **GIT_ENV, **k8s.env}
    proc = subprocess.Popen([sys.executable, "-m", "gitpipe", "repro"], cwd=repo.path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    running_pod(k8s, k8s_namespace)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        jobs = k8s.batch().list_namespaced_job(k8s_namespace).items
        pods = k8s.core().list_namespaced_pod(k8s_namespace).items
        if not jobs and not pods:
            break
        time.sleep(0.5)
    assert not jobs and not pods


def test_backfill_as_jobs_never_exceeds_concurrency(repo: Repo, k8s: K8sCluster,
                                                    k8s_namespace: str, s3_bucket: str,
                                                    s3_env: dict) -> None:
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env)
    spec = repo.read("gitpipe.yaml") + (
        "  part:\n    partition: {by: date, start: 2024-01-01, end: 2024-01-10}\n"
        "    cmd: sleep 1; mkdir -p p && echo ${date} > p/${date}\n"
        "    outs: ['p/${date}']\n    executor: kubernetes\n    retries: 1\n"
        "    env_from_secret: {AWS_ACCESS_KEY_ID: [s3-creds, id],\n"
        "                      AWS_SECRET_ACCESS_KEY: [s3-creds, secret]}\n")
    repo.gen({"gitpipe.yaml": spec}, commit="partitions")
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        batch = k8s.batch()
        while not stop.is_set():
            jobs = batch.list_namespaced_job(k8s_namespace,
                                             label_selector="gitpipe.dev/stage=part").items
            active = sum(1 for j in jobs if not any(
                c.type in ("Complete", "Failed") and c.status == "True"
                for c in (j.status.conditions or [])))
            peak = max(peak, active)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    done = run(repo, k8s, "backfill", "part", "--concurrency", "3", "-j", "8")
    stop.set()
    sampler.join()
    assert done.returncode == 0, done.stderr
    assert peak == 3
    assert sorted(p.name for p in Path(repo.path / "p").iterdir()) == [
        f"2024-01-{d:02d}" for d in range(1, 11)]


def test_preflight_errors_before_anything_is_created(repo: Repo, k8s: K8sCluster,
                                                     k8s_namespace: str, s3_bucket: str,
                                                     s3_env: dict) -> None:
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env)
    config = repo.project().config.raw
    no_image = dict(config["kubernetes"], image=None)
    repo.gen({".gitpipe/config.yaml": {**config, "kubernetes": no_image}})
    done = run(repo, k8s, "repro")
    assert done.returncode == 2 and "needs an image" in done.stderr
    repo.gen({".gitpipe/config.yaml": {"kubernetes": config["kubernetes"]}})
    done = run(repo, k8s, "repro")
    assert done.returncode == 2 and "need a remote" in done.stderr
    bogus = repo.path / "bogus-kubeconfig"
    bogus.write_text(k8s.kubeconfig.read_text().replace(k8s.server, "https://127.0.0.1:9"))
    repo.gen({".gitpipe/config.yaml": config})
    done = repo.run("repro", env={"KUBECONFIG": str(bogus)}, timeout=120)
    assert done.returncode == 2 and "cannot reach the Kubernetes API" in done.stderr
    assert k8s.batch().list_namespaced_job(k8s_namespace).items == []
