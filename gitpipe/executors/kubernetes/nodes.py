"""Whether a node still shows signs of life, for pods that report nothing themselves.

A pod that runs `gitpipe exec` writes heartbeats to the remote; a pod that runs
its command directly does not, so its node's own heartbeat stands in: the
node's Lease in `kube-node-lease` (what a kubelet renews every few seconds)
and the `lastHeartbeatTime` of its Ready condition. Only whether they move is
used, timed by this process's clock: the node's clock may differ from ours.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

LEASES = "kube-node-lease"
REFRESH = 1.0   # seconds a node's answer serves every pod on it
_FAILED = object()


class NodeBeats:
    """When each node's heartbeat last moved, read at most once a REFRESH per node."""

    def __init__(self, core: Any) -> None:
        from kubernetes import client

        self.core = core
        self.leases = client.CoordinationV1Api(core.api_client)
        self.readable = True   # False once the API refuses us nodes (RBAC)
        self._moved: dict[str, tuple[object, float]] = {}
        self._checked: dict[str, float] = {}
        self._mutex = threading.Lock()

    def silent_for(self, node: str) -> float | None:
        """Seconds since the node's heartbeat last moved (since this process first
        asked, at most); None when nodes cannot be read, and then the cluster's
        own eviction of a lost node's pods is what ends them."""
        with self._mutex:
            now = time.monotonic()
            if self.readable and now - self._checked.get(node, -REFRESH) >= REFRESH:
                self._checked[node] = now
                beat = self._beat(node)
                if beat is not None and self._moved.get(node, (None,))[0] != beat:
                    self._moved[node] = (beat, now)
            if not self.readable or node not in self._moved:
                return None
            return now - self._moved[node][1]

    def _beat(self, node: str) -> object | None:
        """The node's heartbeat as last written (its lease's renewal, its Ready
        condition's time), or None when it cannot be read now."""
        lease = self._read(lambda: self.leases.read_namespaced_lease(node, LEASES))
        status = self._read(lambda: self.core.read_node_status(node))
        if lease is _FAILED or status is _FAILED or (lease is None and status is None):
            return None
        renewed = lease.spec.renew_time if lease is not None else None
        conditions = (status.status.conditions or []) if status is not None else []
        ready = next((c.last_heartbeat_time for c in conditions if c.type == "Ready"), None)
        return (renewed, ready)

    def _read(self, call: Callable[[], Any]) -> Any:
        """The object, None where it does not exist (a cluster without node
        leases), _FAILED on any other error (refused: nodes are not ours to see)."""
        try:
            return call()
        except Exception as exc:  # API refusals and connection errors alike
            code = getattr(exc, "status", None)
            if code == 404:
                return None
            if code in (401, 403):
                self.readable = False
            return _FAILED
