"""The Job manifest for a task: a pure function of the task, its fingerprint and settings.

Kept apart from the client so `gitpipe k8s manifest` and tests need no cluster.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from gitpipe.core.errors import BadInputError
from gitpipe.executors.remotejob import task_key
from gitpipe.pipeline.model import KubeSpec, Task
from gitpipe.storage.urls import SECRET_OPTION as SHOWN_MASKED

# Options a Job never carries: those shown masked, and any name holding `key`
# (`aws_access_key_id`, `kms_key_id`): a manifest is read by whoever can list Jobs.
SECRET_OPTION = re.compile(f"{SHOWN_MASKED.pattern}|key", re.IGNORECASE)
LABEL_STAGE = "gitpipe.dev/stage"
LABEL_PARTITION = "gitpipe.dev/partition"
LABEL_FINGERPRINT = "gitpipe.dev/fingerprint"
LABEL_TASK = "gitpipe.dev/task"   # task_key: distinct for every exact task name
CONTAINER = "stage"
# Where `gitpipe exec` vouches for its result record: the kubelet copies this
# file into the container's terminated state, which only the node and the
# control plane write (the remote's other writers cannot).
TERMINATION_LOG = "/dev/termination-log"


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
    env_from_secret: tuple[str, ...] = ()   # Secrets whose keys become the pod's env
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
        secrets = values.get("env_from_secret") or ()
        values["env_from_secret"] = tuple([secrets] if isinstance(secrets, str) else secrets)
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
    """Deterministic: the same task, fingerprint and attempt give the same name; tasks
    whose names differ only by case or punctuation differ by a hash of the name."""
    name_hash = task_key(task.name).rsplit("-", 1)[1][:8]
    suffix = f"-{name_hash}-{fingerprint.partition(':')[2][:10]}-{attempt}"
    base = dns_name(f"gp-{task.name.replace('@', '-')}", 63 - len(suffix))
    return base + suffix


def labels(task: Task, fingerprint: str) -> dict[str, str]:
    return {LABEL_STAGE: label_value(task.stage.name),
            LABEL_PARTITION: label_value(task.partition or "none"),
            LABEL_TASK: task_key(task.name),
            LABEL_FINGERPRINT: fingerprint.partition(":")[2][:63]}


@dataclass(frozen=True)
class PodRemote:
    """What a pod is told of the remote: its URL and the options safe to show.

    Build it with `pod_remote`: a Job manifest is readable by anyone who may
    list Jobs, and it is printed by `gitpipe k8s manifest`.
    """

    url: str
    options: dict[str, Any] = field(default_factory=dict)
    withheld: tuple[str, ...] = ()   # option names kept out, for a warning


def has_credentials(url: str) -> bool:
    """Whether a URL carries a user name or password (`scheme://user:pass@host`)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "@" in url
    return bool(parts.netloc) and "@" in parts.netloc


def _public_options(options: dict[str, Any], prefix: str = ""
                    ) -> tuple[dict[str, Any], list[str]]:
    """Options minus every one whose name says secret or whose text holds URL
    credentials, at any depth; and the dotted names of those withheld."""
    kept: dict[str, Any] = {}
    withheld: list[str] = []
    for name, value in options.items():
        dotted = f"{prefix}{name}"
        if SECRET_OPTION.search(str(name)) or (isinstance(value, str) and has_credentials(value)):
            withheld.append(dotted)
        elif isinstance(value, dict):
            kept[name], deeper = _public_options(value, f"{dotted}.")
            withheld.extend(deeper)
        elif isinstance(value, list) and any(isinstance(v, (dict, list)) or
                                             (isinstance(v, str) and has_credentials(v))
                                             for v in value):
            withheld.append(dotted)
        else:
            kept[name] = value
    return kept, withheld


def pod_remote(name: str, url: str, options: dict[str, Any]) -> PodRemote:
    """The remote as a manifest may show it; a URL with credentials is refused."""
    if has_credentials(url):
        raise BadInputError(f"remote {name!r}: its URL carries credentials, which would be "
                            "written into the Job for anyone to read",
                            hint="take them out of the URL; give pods credentials through "
                            "kubernetes.env_from_secret or a service account")
    kept, withheld = _public_options(options)
    return PodRemote(url, kept, tuple(withheld))


def _resources(spec: KubeSpec) -> dict[str, Any]:
    limits: dict[str, str] = {}
    for name, value in spec.resources:
        limits["nvidia.com/gpu" if name == "gpu" else name] = value
    if not limits:
        return {}
    requests = {k: v for k, v in limits.items() if k != "nvidia.com/gpu"}
    return {"limits": limits, "requests": requests}


# What the pod's shell does before a direct command: what `command_env` does for
# a command `gitpipe exec` runs (GITPIPE_ROOT is the folder the pod starts in,
# ENV and BASH_ENV are dropped), then the command through `/bin/sh -c`, as
# `gitpipe exec` would start it.
DIRECT_PRELUDE = ('unset ENV BASH_ENV; GITPIPE_ROOT=$(pwd -P) && export GITPIPE_ROOT && '
                  'exec /bin/sh -c "$1"')


def runs_direct(task: Task) -> bool:
    """Whether the pod can run the task's command itself, without `gitpipe exec`:
    nothing to bring in (no deps, no params files, no `python:` modules),
    nothing to send back (no outs), in the folder the pod starts in. The Job's
    own status then carries the exit code: no Python and no S3 client start in
    the pod."""
    return (not task.deps and not task.outs and not task.stage.params
            and not task.stage.python and task.stage.wdir == ".")


def _literal(word: str) -> str:
    """`word` as a container command word: the kubelet expands `$(VAR)` there,
    and `$$` is its escape for a plain `$`."""
    return word.replace("$", "$$")


def _command(task: Task, fingerprint: str, settings: KubeSettings, remote: PodRemote,
             record_digest: str) -> list[str]:
    if runs_direct(task):
        return [_literal(word) for word in
                ("/bin/sh", "-c", DIRECT_PRELUDE, "gitpipe-direct", task.cmd)]
    return [*settings.command, "exec", task.name, "--fingerprint", fingerprint,
            "--remote", remote.url, "--record-digest", record_digest,
            "--termination-log", TERMINATION_LOG]


def _env(task: Task, spec: KubeSpec, settings: KubeSettings,
         remote: PodRemote) -> list[dict[str, Any]]:
    env: dict[str, dict[str, Any]] = {}
    # The stage's own values reach its command as written (the kubelet would
    # expand `$(VAR)` in them); the cluster-wide ones are the cluster's.
    stage_env = [(name, _literal(value)) for name, value in task.env]
    if runs_direct(task):
        stage_env += [("GITPIPE_STAGE", _literal(task.stage.name)),
                      ("GITPIPE_PARTITION", _literal(task.partition or ""))]
    for name, value in (*settings.env, *stage_env):
        env[name] = {"name": name, "value": value}
    if not runs_direct(task):
        env["GITPIPE_REMOTE_OPTIONS"] = {"name": "GITPIPE_REMOTE_OPTIONS",
                                         "value": json.dumps(remote.options, sort_keys=True)}
    for var, secret, key in spec.env_from_secret:
        env[var] = {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
    return [env[name] for name in sorted(env)]


def job_manifest(task: Task, fingerprint: str, attempt: int, settings: KubeSettings,
                 remote: PodRemote, record_digest: str) -> dict[str, Any]:
    """The batch/v1 Job: gitpipe owns retries (backoffLimit 0), timeout is the deadline.

    The pod runs `gitpipe exec`, given the job record's digest (it refuses any
    other record) and the termination log where it vouches for its result
    record, or the command itself where the task `runs_direct`.
    """
    spec = task.stage.k8s or KubeSpec()
    image = spec.image or settings.image
    if not image:
        raise BadInputError(f"stage {task.stage.name!r}: executor kubernetes needs an image",
                            hint="set 'image:' on the stage or kubernetes.image in "
                            ".gitpipe/config.yaml")
    container: dict[str, Any] = {
        "name": CONTAINER, "image": image,
        "command": _command(task, fingerprint, settings, remote, record_digest),
        "env": _env(task, spec, settings, remote),
        # Set, not left to the defaults, so the path the pod is told is the one
        # the kubelet reads, and never the log's tail in its place.
        "terminationMessagePath": TERMINATION_LOG, "terminationMessagePolicy": "File",
    }
    if settings.env_from_secret:
        container["envFrom"] = [{"secretRef": {"name": n}} for n in settings.env_from_secret]
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
