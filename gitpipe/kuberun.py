"""Running a task on Kubernetes from a repro: stage its deps on the remote, run one Job
per attempt, and bring the outs back into the workspace for the lock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gitpipe.errors import BadInputError
from gitpipe.executors import InFlight, OutputSink, RunResult
from gitpipe.executors.kubemanifest import KubeSettings, job_manifest
from gitpipe.executors.kubernetes import KubeHandle, KubeJob, KubernetesExecutor
from gitpipe.project import Project
from gitpipe.remote import Remote, fetch_objects
from gitpipe.remotejob import clear_result, read_result, stage_job
from gitpipe.spec import Task


def uses_kubernetes(task: Task, override: str | None) -> bool:
    return (override or task.stage.executor) == "kubernetes"


class KubeRunner:
    """One per repro: the executor, the remote and the handles of running Jobs."""

    def __init__(self, project: Project, remote_name: str | None,
                 sink: OutputSink | None) -> None:
        self.project = project
        self.settings = KubeSettings.from_config(project.config.raw.get("kubernetes") or {})
        if not project.has_remote():
            raise BadInputError("kubernetes stages need a remote: pods cannot see the "
                                "workspace", hint="gitpipe remote add --default NAME URL")
        self.remote: Remote = project.remote(remote_name)
        if self.remote.is_local and not self.settings.extra.get("allow_local_remote", True):
            raise BadInputError("a local-folder remote is not visible from pods")
        self.executor = KubernetesExecutor(self.settings, self.remote, sink)
        self.in_flight: InFlight[KubeHandle] = InFlight()
        self._staged: set[str] = set()

    def preflight(self, tasks: list[Task]) -> None:
        """Before anything is created: every manifest builds (image set), the API answers."""
        for task in tasks:
            self.manifest(task, "xxh3:0", 0)
        self.executor.check_reachable()

    def manifest(self, task: Task, fingerprint: str, attempt: int) -> dict[str, Any]:
        options = {k: v for k, v in self.project.remote_settings(self.remote.name).items()}
        return job_manifest(task, fingerprint, attempt, self.settings, self.remote.url, options)

    def attempt(self, task: Task, fingerprint: str, attempt: int, log_path: Path) -> RunResult:
        if fingerprint not in self._staged:
            stage_job(task, fingerprint, self.project.workspace, self.project.cache,
                      self.remote)
            self._staged.add(fingerprint)
        job = KubeJob(task.name, fingerprint, self.manifest(task, fingerprint, attempt),
                      log_path)
        submitted = self.executor.submit(job, lambda: clear_result(self.remote, fingerprint))
        with self.in_flight.tracking(submitted) as handle:
            return self.executor.wait(handle)

    def bring_back(self, task: Task, fingerprint: str) -> None:
        """Fetch the outs the pod pushed and check them out into the workspace."""
        result = read_result(self.remote, fingerprint)
        assert result is not None and result.exit_code == 0
        fetch_objects(self.remote, self.project.cache, [digest for _, digest, _ in result.outs])
        for path, digest, _ in result.outs:
            self.project.cache.checkout(self.project.root / path, digest)

    def cancel_all(self) -> None:
        for handle in self.in_flight.snapshot():
            self.executor.cancel(handle)
