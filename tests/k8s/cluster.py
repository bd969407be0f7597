"""Fixtures for tests against the loopback Kubernetes control plane (mark them `k8s`),
registered for every test folder by tests/conftest.py (one control plane a session).

- ``k8s_cluster`` (session): ControlPlane + NodeAgent; ``.kubeconfig``, ``.server``, ``.agent``,
  ``.controlplane``, ``.env`` ({"KUBECONFIG": ...}), ``.core()`` / ``.batch()`` API objects.
  Skips only when the binaries are not built (``bash scripts/k8s-testbed.sh build``); with
  ``GITPIPE_K8S_REQUIRE=1`` it fails instead.
- ``k8s`` (function): the same cluster, with the agent reset after the test (injections cleared,
  a dead node revived).
- ``k8s_namespace`` (function): a fresh namespace; its Jobs and pods are deleted afterwards
  (namespaces themselves stay: no namespace controller runs).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.k8s.controlplane import BinariesMissing, ControlPlane, find_binaries

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, BatchV1Api, CoreV1Api

    from tests.conftest import Repo
    from tests.k8s.node_agent import NodeAgent

# What a stage's pod needs to reach the S3 remote: credentials come through a
# Secret (`use_cluster` makes it), as on a real cluster.
STAGE_SECRETS = {"env_from_secret": {"AWS_ACCESS_KEY_ID": ["s3-creds", "id"],
                                     "AWS_SECRET_ACCESS_KEY": ["s3-creds", "secret"]}}


@dataclass
class K8sCluster:
    controlplane: ControlPlane
    agent: NodeAgent
    kubeconfig: Path
    server: str
    env: dict[str, str] = field(default_factory=dict)

    def api_client(self) -> ApiClient:
        """A fresh client configured from the kubeconfig, as a user's code would get it."""
        import kubernetes

        return kubernetes.config.new_client_from_config(config_file=str(self.kubeconfig))

    def core(self) -> CoreV1Api:
        import kubernetes

        return kubernetes.client.CoreV1Api(self.api_client())

    def batch(self) -> BatchV1Api:
        import kubernetes

        return kubernetes.client.BatchV1Api(self.api_client())


@pytest.fixture(scope="session")
def k8s_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[K8sCluster]:
    try:
        find_binaries()
    except BinariesMissing as exc:
        if os.environ.get("GITPIPE_K8S_REQUIRE") == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    from tests.k8s.node_agent import NodeAgent

    work = tmp_path_factory.mktemp("k8s")
    with ControlPlane(workdir=work / "controlplane") as cp:
        agent = NodeAgent(cp.kubeconfig, work / "node", tls=(cp.kubelet_cert, cp.kubelet_key))
        with agent:
            env = {"KUBECONFIG": str(cp.kubeconfig)}
            yield K8sCluster(cp, agent, cp.kubeconfig, cp.server, env)


@pytest.fixture
def k8s(k8s_cluster: K8sCluster) -> Iterator[K8sCluster]:
    yield k8s_cluster
    k8s_cluster.agent.reset()


@pytest.fixture
def k8s_namespace(k8s: K8sCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    from kubernetes import client

    core = client.CoreV1Api(k8s.api_client())
    batch = client.BatchV1Api(core.api_client)
    stem = "".join(ch if ch.isalnum() else "-" for ch in request.node.name.lower())[:40].strip("-")
    name = f"{stem}-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    for job in batch.list_namespaced_job(name).items:
        assert job.metadata is not None and job.metadata.name is not None
        batch.delete_namespaced_job(job.metadata.name, name, propagation_policy="Background")
    core.delete_collection_namespaced_pod(name, grace_period_seconds=0)


def use_cluster(repo: Repo, k8s: K8sCluster, namespace: str, bucket: str,
                s3_env: dict[str, str]) -> None:
    """`gitpipe init` in `repo`, the S3 bucket as its default remote, the cluster's
    settings in .gitpipe/config.yaml and the Secret STAGE_SECRETS names."""
    from kubernetes import client

    repo.run("init", check=True)
    repo.run("remote", "add", "-d", "s3", bucket, check=True)
    repo.gen({".gitpipe/config.yaml": {
        "remotes": {"s3": {"url": bucket}}, "core": {"remote": "s3"},
        "kubernetes": {"namespace": namespace, "image": "gitpipe:test", "ttl": 300,
                       "heartbeat_timeout": 8, "watch_timeout": 2, "pending_timeout": 45,
                       "env": {"AWS_ENDPOINT_URL": s3_env["AWS_ENDPOINT_URL"],
                               "AWS_DEFAULT_REGION": "us-east-1",
                               "AWS_EC2_METADATA_DISABLED": "true",
                               "GITPIPE_HEARTBEAT": "1"}}}})
    k8s.core().create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="s3-creds"),
        string_data={"id": s3_env["AWS_ACCESS_KEY_ID"],
                     "secret": s3_env["AWS_SECRET_ACCESS_KEY"]}))
