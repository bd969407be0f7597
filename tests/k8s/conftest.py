"""Fixtures for tests against the loopback Kubernetes control plane (mark them `k8s`).

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

    from tests.k8s.node_agent import NodeAgent


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
