"""Which result record a pod vouched for: the sha256 `gitpipe exec` writes to its
container's termination log, which the kubelet copies into the terminated
container's status. Only the node and the control plane write a pod's status;
the remote's other writers (CI on a pull request sharing the bucket) cannot."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gitpipe.executors.kubernetes.manifest import CONTAINER


def vouched_digests(pods: Iterable[Any]) -> set[str]:
    """The digests in the termination messages of the pods' ended stage containers."""
    digests = set()
    for pod in pods:
        for status in (pod.status.container_statuses if pod.status else None) or []:
            terminated = status.state.terminated if status.state else None
            if status.name == CONTAINER and terminated is not None and terminated.message:
                digests.add(terminated.message.strip())
    return digests


def pods_named(pods: list[Any], job: str) -> str:
    """The pods for a message: their names, or the Job's when none is left."""
    names = sorted({str(pod.metadata.name) for pod in pods})
    if not names:
        return f"no pod of Job {job}"
    return ("pod " if len(names) == 1 else "pods ") + ", ".join(names)


def job_pods(core: Any, namespace: str, selector: str, seen: Any = None) -> list[Any]:
    """`seen`, the pod whose end the watch reported; else the Job's pods as the API
    shows them now, none when it cannot say (the record is then refused as
    vouched for by nobody, never believed)."""
    if seen is not None:
        return [seen]
    try:
        return list(core.list_namespaced_pod(namespace, label_selector=selector).items)
    except Exception:  # connection and API errors alike
        return []
