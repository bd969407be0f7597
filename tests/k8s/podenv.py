"""A container's environment as a kubelet builds it: envFrom, then env (literal values with
$(VAR) expansion, secretKeyRef, configMapKeyRef, fieldRef)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from tests.k8s.podrun import expand

JSON = dict[str, Any]
# fetch(namespace, "secrets" | "configmaps", name) -> the object, or None when it does not exist
Fetch = Callable[[str, str, str], "JSON | None"]


class ConfigError(Exception):
    """The env cannot be resolved yet (missing Secret, ConfigMap or key): the kubelet reports
    CreateContainerConfigError and retries."""


def resolve_env(pod: JSON, container: JSON, base: dict[str, str], fetch: Fetch,
                node_name: str) -> dict[str, str]:
    meta = pod["metadata"]
    env = dict(base)
    for src in container.get("envFrom") or []:
        secret = "secretRef" in src
        ref = src["secretRef"] if secret else src["configMapRef"]
        data = _data(fetch, meta["namespace"], "secrets" if secret else "configmaps",
                     ref["name"], ref.get("optional", False)) or {}
        env.update({src.get("prefix", "") + k: v for k, v in data.items()})
    for var in container.get("env") or []:
        value = _value(pod, var, env, fetch, node_name)
        if value is not None:
            env[var["name"]] = value
    return env


def _value(pod: JSON, var: JSON, env: dict[str, str], fetch: Fetch, node: str) -> str | None:
    if "valueFrom" not in var:
        return expand(var.get("value") or "", env)
    src, meta = var["valueFrom"], pod["metadata"]
    for key, kind in (("secretKeyRef", "secrets"), ("configMapKeyRef", "configmaps")):
        if key in src:
            ref = src[key]
            data = _data(fetch, meta["namespace"], kind, ref["name"], ref.get("optional", False))
            if data is not None and ref["key"] in data:
                return data[ref["key"]]
            if ref.get("optional"):
                return None
            where = f'{kind[:-1]} {meta["namespace"]}/{ref["name"]}'
            raise ConfigError(f"couldn't find key {ref['key']} in {where}")
    if "fieldRef" in src:
        path = src["fieldRef"]["fieldPath"]
        simple = {"metadata.name": meta["name"], "metadata.namespace": meta["namespace"],
                  "metadata.uid": meta["uid"], "spec.nodeName": node,
                  "spec.serviceAccountName": pod["spec"].get("serviceAccountName", ""),
                  "status.hostIP": "127.0.0.1", "status.podIP": "127.0.0.1"}
        if path in simple:
            return str(simple[path])
        for prefix, d in (("metadata.labels", meta.get("labels")),
                          ("metadata.annotations", meta.get("annotations"))):
            if path.startswith(prefix + "['"):
                return str((d or {}).get(path[len(prefix) + 2:-2], ""))
    return ""  # resourceFieldRef and the rest: not modelled


def _data(fetch: Fetch, namespace: str, kind: str, name: str,
          optional: bool) -> dict[str, str] | None:
    obj = fetch(namespace, kind, name)
    if obj is None:
        if optional:
            return None
        raise ConfigError(f'{kind[:-1]} "{name}" not found')
    data = dict(obj.get("data") or {})
    if kind == "secrets":
        return {k: base64.b64decode(v).decode(errors="replace") for k, v in data.items()}
    return data
