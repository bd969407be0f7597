"""The Job manifest for a task: a pure function of the task, its fingerprint and settings.

Kept apart from the client so `gitpipe k8s manifest` and tests need no cluster.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from gitpipe.errors import BadInputError
from gitpipe.spec import KubeSpec, Task

LABEL_STAGE = "gitpipe.dev/stage"
LABEL_PARTITION = "gitpipe.dev/partition"
LABEL_FINGERPRINT = "gitpipe.dev/fingerprint"
CONTAINER = "stage"


@dataclass(frozen=True)
class KubeSettings:
    """`kubernetes:` in .gitpipe/config.yaml: cluster-wide defaults."""

    namespace: str = "default"
    image: str | None = None
    context: str | None = None
    kubeconfig: str | None = None
    image_pull_secrets: tuple[str, ...] = ()
    ttl: int = 3600
    command: tuple[str, ...] = ("gitpipe",)
    env: tuple[tuple[str, str], ...] = ()
    heartbeat_timeout: float = 120.0
    pending_timeout: float = 600.0
    image_pull_grace: float = 120.0
    watch_timeout: int = 5
    extra: dict[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> KubeSettings:
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        unknown = set(raw) - known
        if unknown:
            raise BadInputError(f".gitpipe/config.yaml: kubernetes: unknown key "
                                f"{sorted(unknown)[0]!r}",
                                hint=f"known: {', '.join(sorted(known))}")
        values = dict(raw)
        values["image_pull_secrets"] = tuple(values.get("image_pull_secrets") or ())
        command = values.get("command") or ["gitpipe"]
        values["command"] = tuple([command] if isinstance(command, str) else command)
        values["env"] = tuple(sorted((str(k), str(v)) for k, v in
                                     (values.get("env") or {}).items()))
        return cls(**values)


def dns_name(text: str, limit: int = 63) -> str:
    """A valid DNS-1123 label: lower-case alphanumerics and '-', at most `limit`."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)[:limit].strip("-")
    return name or "x"


def label_value(text: str) -> str:
    value = re.sub(r"[^A-Za-z0-9._-]+", "-", text)[:63].strip("-._")
    return value


def job_name(task: Task, fingerprint: str, attempt: int) -> str:
    """Deterministic: the same task, fingerprint and attempt give the same name."""
    suffix = f"-{fingerprint.partition(':')[2][:10]}-{attempt}"
    base = dns_name(f"gp-{task.name.replace('@', '-')}", 63 - len(suffix))
    return base + suffix


def labels(task: Task, fingerprint: str) -> dict[str, str]:
    return {LABEL_STAGE: label_value(task.stage.name),
            LABEL_PARTITION: label_value(task.partition or "none"),
            LABEL_FINGERPRINT: fingerprint.partition(":")[2][:63]}


def _resources(spec: KubeSpec) -> dict[str, Any]:
    limits: dict[str, str] = {}
    for name, value in spec.resources:
        limits["nvidia.com/gpu" if name == "gpu" else name] = value
    if not limits:
        return {}
    requests = {k: v for k, v in limits.items() if k != "nvidia.com/gpu"}
    return {"limits": limits, "requests": requests}


def _env(task: Task, spec: KubeSpec, settings: KubeSettings,
         remote_options: dict[str, Any]) -> list[dict[str, Any]]:
    env: dict[str, dict[str, Any]] = {}
    for name, value in (*settings.env, *task.env):
        env[name] = {"name": name, "value": value}
    env["GITPIPE_REMOTE_OPTIONS"] = {"name": "GITPIPE_REMOTE_OPTIONS",
                                     "value": json.dumps(remote_options, sort_keys=True)}
    for var, secret, key in spec.env_from_secret:
        env[var] = {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
    return [env[name] for name in sorted(env)]


def job_manifest(task: Task, fingerprint: str, attempt: int, settings: KubeSettings,
                 remote_url: str, remote_options: dict[str, Any]) -> dict[str, Any]:
    """The batch/v1 Job: gitpipe owns retries (backoffLimit 0), timeout is the deadline."""
    spec = task.stage.k8s or KubeSpec()
    image = spec.image or settings.image
    if not image:
        raise BadInputError(f"stage {task.stage.name!r}: executor kubernetes needs an image",
                            hint="set 'image:' on the stage or kubernetes.image in "
                            ".gitpipe/config.yaml")
    container: dict[str, Any] = {
        "name": CONTAINER, "image": image,
        "command": [*settings.command, "exec", task.name, "--fingerprint", fingerprint,
                    "--remote", remote_url],
        "env": _env(task, spec, settings, remote_options),
    }
    if _resources(spec):
        container["resources"] = _resources(spec)
    pod: dict[str, Any] = {"restartPolicy": "Never", "containers": [container]}
    if spec.service_account:
        pod["serviceAccountName"] = spec.service_account
    if spec.node_selector:
        pod["nodeSelector"] = dict(spec.node_selector)
    if spec.tolerations:
        pod["tolerations"] = [json.loads(t) for t in spec.tolerations]
    if settings.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": n} for n in settings.image_pull_secrets]
    job_spec: dict[str, Any] = {
        "backoffLimit": 0, "ttlSecondsAfterFinished": settings.ttl,
        "template": {"metadata": {"labels": labels(task, fingerprint)}, "spec": pod},
    }
    if task.stage.timeout:
        job_spec["activeDeadlineSeconds"] = max(1, int(task.stage.timeout))
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": job_name(task, fingerprint, attempt),
                     "namespace": settings.namespace, "labels": labels(task, fingerprint)},
        "spec": job_spec,
    }
