"""The executor named `kubernetes`, as the runner sees it: what it adds to a
stage's fingerprint, and a KubeRunner for the run.

Light on purpose: judging a pipeline asks this class for its runtime inputs,
and that must import neither the Kubernetes client nor the remote code; the
session is imported when a run opens the executor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitpipe.executors.base import Context, Pairs, RunResult

if TYPE_CHECKING:
    from gitpipe.pipeline.model import Stage, Task

NAME = "kubernetes"


class KubernetesExecutor:
    """One batch/v1 Job per attempt; the deps go to the pod and the outs come back
    through the project's remote."""

    runs_in_work_tree = False

    def __init__(self, context: Context) -> None:
        from gitpipe.executors.kubernetes.session import KubeRunner

        self.session = KubeRunner(context.project, context.remote, context.sink)

    @classmethod
    def runtime_inputs(cls, stage: Stage, config: Mapping[str, Any]) -> Pairs:
        """The image (the stage's, else the cluster default), the cluster-wide `env`
        and `env_from_secret`, and which secret each variable comes from: what
        the pod's command sees besides its deps."""
        section = config.get(NAME) or {}
        if not isinstance(section, Mapping):
            return (("executor", NAME),)
        spec = stage.k8s
        image = spec.image if spec else None
        pairs = [("executor", NAME), ("image", str(image or section.get("image") or ""))]
        cluster_env = section.get("env") or {}
        if isinstance(cluster_env, Mapping):
            pairs += [(f"env:{name}", str(value)) for name, value in cluster_env.items()]
        secrets = spec.env_from_secret if spec else ()
        pairs += [(f"secret:{var}", f"{secret}/{key}") for var, secret, key in secrets]
        # Secrets every key of which becomes the pod's env: which Secrets they
        # are reaches the command (their values are the cluster's, as a
        # machine's own environment is for a local stage).
        cluster_secrets = section.get("env_from_secret") or ()
        if isinstance(cluster_secrets, str):
            cluster_secrets = (cluster_secrets,)
        if isinstance(cluster_secrets, (list, tuple)):
            pairs += [("secrets", str(name)) for name in cluster_secrets]
        return tuple(sorted(pairs))

    def preflight(self, tasks: Sequence[Task]) -> None:
        self.session.preflight(list(tasks))

    def attempt(self, task: Task, fingerprint: str, attempt: int, log_path: Path) -> RunResult:
        return self.session.attempt(task, fingerprint, attempt, log_path)

    def bring_back(self, task: Task, fingerprint: str) -> None:
        self.session.bring_back(task, fingerprint)

    def cancel_all(self) -> None:
        self.session.cancel_all()
