"""The test ground itself: a real 1.20 control plane + the node agent, driven by the real client."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client, watch

from tests.k8s.cluster import K8sCluster

# One worker runs all the k8s tests under `-n 2 --dist loadgroup`: one cluster, not two.
pytestmark = [pytest.mark.k8s, pytest.mark.xdist_group("k8s")]


def make_job(name: str, argv: list[str], memory: str | None = None, **spec: Any) -> client.V1Job:
    resources = client.V1ResourceRequirements(limits={"memory": memory}) if memory else None
    container = client.V1Container(name="main", image="gitpipe-test:latest", command=argv,
                                   resources=resources)
    template = client.V1PodTemplateSpec(spec=client.V1PodSpec(containers=[container],
                                                              restart_policy="Never"))
    return client.V1Job(api_version="batch/v1", kind="Job", metadata=client.V1ObjectMeta(name=name),
                        spec=client.V1JobSpec(template=template, backoff_limit=0, **spec))


def wait_job(k8s: K8sCluster, ns: str, name: str, done: Callable[[client.V1Job], bool],
             timeout: int = 60) -> client.V1Job:
    """Watch the Job (not a polling loop) until `done(job)`."""
    batch = k8s.batch()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in watch.Watch().stream(batch.list_namespaced_job, ns,
                                          field_selector=f"metadata.name={name}",
                                          timeout_seconds=max(1, int(deadline - time.monotonic()))):
            job = event["object"]
            if done(job):
                return job
    raise TimeoutError(f"job {ns}/{name} not done in {timeout} s")


def finished(job: client.V1Job) -> bool:
    return any(c.type in ("Complete", "Failed") and c.status == "True"
               for c in job.status.conditions or [])


def job_pods(k8s: K8sCluster, ns: str, name: str) -> list[client.V1Pod]:
    return k8s.core().list_namespaced_pod(ns, label_selector=f"job-name={name}").items


def wait_until(check: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"{what} not met within {timeout} s")


def test_job_succeeds_and_log_reads_through_apiserver(k8s: K8sCluster, k8s_namespace: str) -> None:
    job = make_job("hello", ["sh", "-c", "echo hello; exit 0"])
    k8s.batch().create_namespaced_job(k8s_namespace, job)
    job = wait_job(k8s, k8s_namespace, "hello", finished)
    assert job.status.succeeded == 1 and job.status.failed is None  # zero counters are omitted
    [pod] = job_pods(k8s, k8s_namespace, "hello")
    assert pod.status.phase == "Succeeded"
    term = pod.status.container_statuses[0].state.terminated
    assert (term.exit_code, term.reason) == (0, "Completed")
    assert k8s.core().read_namespaced_pod_log(pod.metadata.name, k8s_namespace) == "hello\n"


def test_memory_limit_ends_oomkilled(k8s: K8sCluster, k8s_namespace: str) -> None:
    argv = ["python3", "-c", "x = bytearray(500 * 1024 * 1024)"]
    k8s.batch().create_namespaced_job(k8s_namespace, make_job("hog", argv, memory="50Mi"))
    job = wait_job(k8s, k8s_namespace, "hog", finished)
    assert job.status.failed == 1 and job.status.succeeded is None
    [pod] = job_pods(k8s, k8s_namespace, "hog")
    term = pod.status.container_statuses[0].state.terminated
    assert (pod.status.phase, term.reason, term.exit_code) == ("Failed", "OOMKilled", 137)


def test_follow_streams_log_lines_as_they_come(k8s: K8sCluster, k8s_namespace: str) -> None:
    script = "for i in 1 2 3; do echo line $i; sleep 0.3; done"
    k8s.batch().create_namespaced_job(k8s_namespace, make_job("chatty", ["sh", "-c", script]))
    run = k8s.agent.wait_running("chatty")
    core = k8s.core()
    wait_until(lambda: core.read_namespaced_pod(run.name, k8s_namespace).status.phase == "Running")
    lines = list(watch.Watch().stream(core.read_namespaced_pod_log, run.name, k8s_namespace,
                                      follow=True, _request_timeout=30))
    assert lines == ["line 1", "line 2", "line 3"]
    tail = core.read_namespaced_pod_log(run.name, k8s_namespace, tail_lines=1)
    assert tail == "line 3\n"


def test_delete_job_background_removes_its_pod(k8s: K8sCluster, k8s_namespace: str) -> None:
    batch, core = k8s.batch(), k8s.core()
    batch.create_namespaced_job(k8s_namespace, make_job("sleeper", ["sleep", "300"]))
    run = k8s.agent.wait_running("sleeper")
    batch.delete_namespaced_job("sleeper", k8s_namespace, propagation_policy="Background")
    wait_until(lambda: not core.list_namespaced_pod(k8s_namespace).items, what="pod gone")
    assert run.wait(5) and not run.alive()


def test_pod_deleted_mid_run_disappears_and_is_killed(k8s: K8sCluster, k8s_namespace: str) -> None:
    core = k8s.core()
    k8s.batch().create_namespaced_job(k8s_namespace, make_job("victim", ["sleep", "300"]))
    run = k8s.agent.wait_running("victim")
    core.delete_namespaced_pod(run.name, k8s_namespace)  # default grace: it shows Terminating first
    names = lambda: {p.metadata.name for p in job_pods(k8s, k8s_namespace, "victim")}  # noqa: E731
    wait_until(lambda: run.name not in names(), what="pod gone")
    assert run.wait(5) and not run.alive()


def test_injected_oom_and_secret_env(k8s: K8sCluster, k8s_namespace: str) -> None:
    core = k8s.core()
    core.create_namespaced_secret(k8s_namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="creds"), string_data={"token": "s3cr3t"}))
    secret_env = client.V1EnvVar(name="TOKEN", value_from=client.V1EnvVarSource(
        secret_key_ref=client.V1SecretKeySelector(name="creds", key="token")))
    job = make_job("envy", ["sh", "-c", 'echo "$TOKEN $(GREETING) $PWD"; ls -A'])
    greeting_env = client.V1EnvVar(name="GREETING", value="hi")
    job.spec.template.spec.containers[0].env = [greeting_env, secret_env]
    k8s.batch().create_namespaced_job(k8s_namespace, job)
    wait_job(k8s, k8s_namespace, "envy", finished)
    [pod] = job_pods(k8s, k8s_namespace, "envy")
    out = core.read_namespaced_pod_log(pod.metadata.name, k8s_namespace)
    token, greeting, cwd = out.split()
    assert (token, greeting) == ("s3cr3t", "hi") and cwd.endswith("/rootfs")  # and it is empty

    k8s.agent.inject_oom("doomed")
    k8s.batch().create_namespaced_job(k8s_namespace, make_job("doomed", ["sleep", "300"]))
    wait_job(k8s, k8s_namespace, "doomed", finished)
    [pod] = job_pods(k8s, k8s_namespace, "doomed")
    assert pod.status.container_statuses[0].state.terminated.reason == "OOMKilled"


def test_active_deadline_and_ttl(k8s: K8sCluster, k8s_namespace: str) -> None:
    batch = k8s.batch()
    batch.create_namespaced_job(k8s_namespace, make_job("slow", ["sleep", "300"],
                                                        active_deadline_seconds=2))
    job = wait_job(k8s, k8s_namespace, "slow", finished)
    assert [c.reason for c in job.status.conditions if c.type == "Failed"] == ["DeadlineExceeded"]
    wait_until(lambda: not job_pods(k8s, k8s_namespace, "slow"), what="pod deleted by the job")

    batch.create_namespaced_job(k8s_namespace, make_job("brief", ["true"],
                                                        ttl_seconds_after_finished=1))
    wait_until(lambda: not batch.list_namespaced_job(k8s_namespace,
                                                    field_selector="metadata.name=brief").items,
               what="job removed by ttl-after-finished")


def test_dead_node_leaves_pod_running(k8s: K8sCluster, k8s_namespace: str) -> None:
    core = k8s.core()
    name = f"ghost-{uuid.uuid4().hex[:4]}"
    k8s.batch().create_namespaced_job(k8s_namespace, make_job(name, ["sleep", "300"]))
    run = k8s.agent.wait_running(name)
    wait_until(lambda: core.read_namespaced_pod(run.name, k8s_namespace).status.phase == "Running")
    k8s.agent.stop_reporting()
    assert run.wait(5) and not run.alive()
    time.sleep(2)
    assert core.read_namespaced_pod(run.name, k8s_namespace).status.phase == "Running"
    k8s.agent.reset()  # the node comes back and reports what happened
    pod = wait_until(lambda: (p := core.read_namespaced_pod(run.name, k8s_namespace)).status.phase
                     == "Failed" and p)
    assert pod.status.container_statuses[0].state.terminated.exit_code == 137


def test_injected_eviction_and_image_pull_error(k8s: K8sCluster, k8s_namespace: str) -> None:
    core = k8s.core()
    k8s.agent.inject_eviction("evictee")
    k8s.batch().create_namespaced_job(k8s_namespace, make_job("evictee", ["sleep", "300"]))
    wait_job(k8s, k8s_namespace, "evictee", finished)
    [pod] = job_pods(k8s, k8s_namespace, "evictee")
    assert (pod.status.phase, pod.status.reason) == ("Failed", "Evicted")

    k8s.agent.inject_image_pull_error("no-such-image")
    job = make_job("pull", ["true"])
    job.spec.template.spec.containers[0].image = "registry.invalid/no-such-image:1"
    k8s.batch().create_namespaced_job(k8s_namespace, job)

    def waiting_reason() -> str | None:
        pods = job_pods(k8s, k8s_namespace, "pull")
        statuses = pods[0].status.container_statuses if pods else None
        return statuses[0].state.waiting.reason if statuses and statuses[0].state.waiting else None
    assert wait_until(waiting_reason, what="ErrImagePull") == "ErrImagePull"
    assert core.read_namespaced_pod(job_pods(k8s, k8s_namespace, "pull")[0].metadata.name,
                                    k8s_namespace).status.phase == "Pending"


def test_the_termination_message_is_the_tail_of_the_file_at_its_path(
        k8s: K8sCluster, k8s_namespace: str) -> None:
    """As a kubelet: after the container exits, the last 4096 bytes of the file at
    its terminationMessagePath (the apiserver's default /dev/termination-log, or
    the one set) are its terminated state's message, whatever the exit code."""
    # The agent stands in for the kubelet's mount where a command word names the path.
    write = "printf 'x%.0s' $(seq 5000) > \"$1\"; printf END >> \"$1\""
    k8s.batch().create_namespaced_job(k8s_namespace, make_job(
        "msg", ["sh", "-c", write, "sh", "/dev/termination-log"]))
    chosen = make_job("msgset", ["sh", "-c", 'echo "failed here" > "$1"; exit 3', "sh",
                                 "/tmp/gitpipe-msg"])
    chosen.spec.template.spec.containers[0].termination_message_path = "/tmp/gitpipe-msg"
    k8s.batch().create_namespaced_job(k8s_namespace, chosen)
    silent = make_job("msgnone", ["sh", "-c", "exit 0"])
    k8s.batch().create_namespaced_job(k8s_namespace, silent)
    messages = {}
    for name in ("msg", "msgset", "msgnone"):
        wait_job(k8s, k8s_namespace, name, finished)
        [pod] = job_pods(k8s, k8s_namespace, name)
        messages[name] = pod.status.container_statuses[0].state.terminated.message
    assert messages["msg"] == "x" * 4093 + "END"
    assert messages["msgset"] == "failed here\n"
    assert messages["msgnone"] is None
    assert not os.path.exists("/tmp/gitpipe-msg")   # the pod's own file took its place
