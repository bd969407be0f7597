"""A stage with nothing to bring in or send back (no deps, no params, no outs) runs
its command as the pod's own: no gitpipe, no S3 client, no records on the remote;
the Job's status is its result. On the real control plane and moto's S3 server."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import Repo
from tests.k8s.cluster import STAGE_SECRETS, K8sCluster, use_cluster
from tests.k8s.test_executor import killed_while_running, run, running_pod

pytestmark = [pytest.mark.k8s, pytest.mark.s3, pytest.mark.slow]

# `$(GITPIPE_STAGE)` would be the stage's name if the kubelet expanded it.
SHOW = ("printf '%s\\n' '$(GITPIPE_STAGE)'; "
        'echo "stage=$GITPIPE_STAGE item=$GITPIPE_PARTITION mode=$MODE"; '
        'echo "root=$GITPIPE_ROOT"; echo "root=$(pwd -P)"')


def direct_project(repo: Repo, k8s: K8sCluster, namespace: str, bucket: str, s3_env: dict,
                   cmd: str, **stage: object) -> Repo:
    repo.spec({"show": {"foreach": ["a"], "do": {
        "cmd": cmd, "executor": "kubernetes", "env": {"MODE": "$(HOME)"}, **STAGE_SECRETS,
        **stage}}})
    use_cluster(repo, k8s, namespace, bucket, s3_env)
    repo.commit("pipeline")
    return repo


def remote_keys(bucket: str, s3_env: dict) -> list[str]:
    import boto3

    name, _, prefix = bucket.removeprefix("s3://").partition("/")
    client = boto3.client("s3", endpoint_url=s3_env["AWS_ENDPOINT_URL"])
    listed = client.list_objects_v2(Bucket=name, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


def test_the_pod_runs_the_command_itself(repo: Repo, k8s: K8sCluster, k8s_namespace: str,
                                         s3_bucket: str, s3_env: dict) -> None:
    direct_project(repo, k8s, k8s_namespace, s3_bucket, s3_env, SHOW)
    done = run(repo, k8s, "repro")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "$(GITPIPE_STAGE)" in done.stdout   # the kubelet expanded nothing
    assert "stage=show item=a mode=$(HOME)" in done.stdout
    roots = {line.split("root=", 1)[1] for line in done.stdout.splitlines() if "root=" in line}
    assert len(roots) == 1 and roots != {""}   # GITPIPE_ROOT is the folder it runs in
    (job,) = k8s.batch().list_namespaced_job(k8s_namespace).items
    command = job.spec.template.spec.containers[0].command
    assert command[:2] == ["/bin/sh", "-c"] and "exec" not in command[-1].split()
    assert remote_keys(s3_bucket, s3_env) == []   # no job record, no result, no heartbeat
    assert "show@a" in repo.project().lock_entries
    assert run(repo, k8s, "status", "--check").returncode == 0


def test_a_failing_command_is_reported_with_its_stage_and_log(
        repo: Repo, k8s: K8sCluster, k8s_namespace: str, s3_bucket: str,
        s3_env: dict) -> None:
    direct_project(repo, k8s, k8s_namespace, s3_bucket, s3_env, "echo about to fail; exit 3")
    done = run(repo, k8s, "repro")
    assert done.returncode == 1
    assert "stage 'show@a': command exited with code 3" in done.stderr
    log = sorted((repo.path / ".gitpipe/logs").glob("show@a-*.log"))[-1].read_text()
    assert "about to fail" in log
    assert "show@a" not in repo.project().lock_entries


def test_a_lost_node_is_detected_by_its_own_heartbeat(
        repo: Repo, k8s: K8sCluster, k8s_namespace: str, s3_bucket: str,
        s3_env: dict) -> None:
    direct_project(repo, k8s, k8s_namespace, s3_bucket, s3_env, "sleep 120")

    def lose_node() -> None:
        running_pod(k8s, k8s_namespace, stage="show")
        time.sleep(1.5)
        k8s.agent.stop_reporting(kill_processes=True)

    thread = threading.Thread(target=lose_node)
    thread.start()
    started = time.monotonic()
    done = run(repo, k8s, "repro")
    thread.join()
    assert done.returncode == 1
    assert "no heartbeat from node gitpipe-node" in done.stderr
    assert time.monotonic() - started < 60


def test_a_restarted_run_adopts_the_running_job(repo: Repo, k8s: K8sCluster,
                                               k8s_namespace: str, s3_bucket: str,
                                               s3_env: dict) -> None:
    direct_project(repo, k8s, k8s_namespace, s3_bucket, s3_env, "sleep 5; echo finished")
    killed_while_running(repo, k8s, k8s_namespace, stage="show")
    done = run(repo, k8s, "repro")
    assert done.returncode == 0, done.stderr
    names = {j.metadata.name for j in k8s.batch().list_namespaced_job(k8s_namespace).items}
    assert len(names) == 1   # adopted, not duplicated
    assert "show@a" in repo.project().lock_entries
