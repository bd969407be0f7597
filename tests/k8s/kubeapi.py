"""Raw JSON access to the API server through the official client's ApiClient (auth, TLS).

The node agent deals in plain dicts so that it never trips over the typed models' strict
validation (client 37) or their response-type quirks (e.g. create_namespaced_binding).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
from kubernetes.client.exceptions import ApiException

JSON = dict[str, Any]
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"


class KubeApi:
    """GET/POST/PATCH/DELETE returning parsed JSON; raises ApiException on non-2xx."""

    def __init__(self, kubeconfig: Path) -> None:
        cfg = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
        self.client = kubernetes.client.ApiClient(cfg)

    def _call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None,
              content_type: str = "application/json", timeout: Any = 30.0) -> Any:
        _, url, headers, body, _ = self.client.param_serialize(
            method=method, resource_path=path, query_params=list((query or {}).items()),
            header_params={"Content-Type": content_type, "Accept": "application/json"},
            body=body, auth_settings=["BearerToken"])
        return self.client.call_api(method, url, header_params=headers, body=body,
                                    _request_timeout=timeout)

    def request(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None,
                content_type: str = "application/json", timeout: float = 30.0) -> JSON:
        resp = self._call(method, path, body, query, content_type, timeout)
        data = resp.read()
        if not 200 <= resp.status <= 299:
            raise ApiException(status=resp.status, reason=resp.reason,
                               body=data.decode(errors="replace") if data else None)
        return json.loads(data) if data else {}

    def get(self, path: str, **query: Any) -> JSON:
        return self.request("GET", path, query=query)

    def patch(self, path: str, body: JSON, content_type: str = STRATEGIC) -> JSON:
        return self.request("PATCH", path, body, content_type=content_type)

    def watch(self, path: str, resource_version: str, timeout_seconds: int = 10) -> Iterator[JSON]:
        """Watch events as dicts ({"type", "object"}) until the server ends the watch."""
        query = {"watch": "true", "resourceVersion": resource_version,
                 "timeoutSeconds": timeout_seconds, "allowWatchBookmarks": "true"}
        resp = self._call("GET", path, query=query, timeout=(5.0, timeout_seconds + 10.0))
        try:
            if not 200 <= resp.status <= 299:
                raise ApiException(status=resp.status, reason=resp.reason,
                                   body=resp.read().decode(errors="replace"))
            for line in kubernetes.watch.watch.iter_resp_lines(resp.response):
                if line.strip():
                    yield json.loads(line)
        finally:
            resp.response.release_conn()

    def close(self) -> None:
        self.client.close()


def gone(exc: Exception) -> bool:
    """True for 404 (and 409 on create) style 'nothing to do' errors."""
    return isinstance(exc, ApiException) and exc.status in (404, 409)
