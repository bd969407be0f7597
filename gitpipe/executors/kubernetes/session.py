"""Running a task on Kubernetes from a repro: stage its deps on the remote, run one Job
per attempt, and bring the outs back into the workspace for the lock."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from gitpipe.core.errors import BadInputError, GitpipeError
from gitpipe.core.yamlio import parse_yaml, plain
from gitpipe.executors.base import InFlight, OutputSink, RunResult
from gitpipe.executors.kubernetes.executor import JobClient, KubeHandle, KubeJob
from gitpipe.executors.kubernetes.manifest import (
    SECRET_OPTION,
    KubeSettings,
    PodRemote,
    job_manifest,
    pod_remote,
    runs_direct,
)
from gitpipe.executors.remotejob import (
    RecordError,
    ResultRecord,
    clear_result,
    is_flagged,
    record_path_problem,
    result_rel,
    stage_job,
    symlinked_parent,
)
from gitpipe.pipeline.config import CONFIG_FILE, LOCAL_CONFIG_FILE, remote_settings
from gitpipe.pipeline.model import Task
from gitpipe.project.root import Project
from gitpipe.storage.remote import Remote, fetch_objects
from gitpipe.storage.urls import resolve_url

log = logging.getLogger(__name__)

# Keys that choose which credentials, and which kubeconfig exec plugins, run:
# taken from the user's environment or uncommitted config only.
LOCAL_ONLY_KEYS = ("kubeconfig", "context")


def _kubernetes_section(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data = plain(parse_yaml(text, str(path.name), secret=True)) or {}
    except FileNotFoundError:
        return {}
    section = data.get("kubernetes") if isinstance(data, dict) else None
    return section if isinstance(section, dict) else {}


def refuse_cluster_access_from_git(project: Project) -> None:
    """A kubeconfig runs local commands (its exec plugins) and a context chooses
    whose credentials run the Jobs: a cloned repository must not pick either.

    Raises when `.gitpipe/config.yaml` (or a config.local.yaml that git tracks)
    sets one that the user's own config.local.yaml does not override.
    """
    local_rel = f".gitpipe/{LOCAL_CONFIG_FILE}"
    local_tracked = project.git.is_tracked(local_rel)
    local = {} if local_tracked else _kubernetes_section(project.gitpipe_dir /
                                                         LOCAL_CONFIG_FILE)
    from_git = [CONFIG_FILE, LOCAL_CONFIG_FILE] if local_tracked else [CONFIG_FILE]
    for name in from_git:
        committed = _kubernetes_section(project.gitpipe_dir / name)
        for key in LOCAL_ONLY_KEYS:
            if key in committed and key not in local:
                raise BadInputError(
                    f".gitpipe/{name}: kubernetes.{key} comes from git and is not used: a "
                    "kubeconfig can run commands on this machine, so gitpipe takes it only "
                    "from your environment or your own uncommitted config",
                    hint=f"remove it there; set KUBECONFIG, or kubernetes.{key} in "
                    f"{local_rel} (kept out of git)")


class KubeRunner:
    """One per repro: the executor, the remote and the handles of running Jobs."""

    def __init__(self, project: Project, remote_name: str | None,
                 sink: OutputSink | None) -> None:
        self.project = project
        self.settings = KubeSettings.from_config(project.config.raw.get("kubernetes") or {})
        if not project.has_remote():
            raise BadInputError("kubernetes stages need a remote: pods cannot see the "
                                "workspace", hint="gitpipe remote add --default NAME URL")
        self.remote_settings = remote_settings(project.config, remote_name)
        self._remote: Remote | None = None
        self._opening = threading.Lock()
        self.pod_remote = self._pod_remote()
        refuse_cluster_access_from_git(project)
        self.executor = JobClient(self.settings, lambda: self.remote, sink)
        self.in_flight: InFlight[KubeHandle] = InFlight(self._cancel_handles)
        self._staged: dict[tuple[str, str], str] = {}   # (task, fingerprint) -> digest
        # (task, fingerprint) -> the result record the Job's verdict read and checked
        self._results: dict[tuple[str, str], ResultRecord] = {}

    @property
    def remote(self) -> Remote:
        return self.open_remote()

    def open_remote(self) -> Remote:
        """The remote, opened by the first task that goes through it: a run whose
        tasks all `runs_direct` never loads its client (the S3 one is heavy)."""
        with self._opening:
            if self._remote is None:
                remote = self.project.remote(self.remote_settings.name)
                if remote.is_local and not self.settings.extra.get("allow_local_remote", True):
                    raise BadInputError("a local-folder remote is not visible from pods")
                self._remote = remote
            return self._remote

    def _pod_remote(self) -> PodRemote:
        chosen = self.remote_settings
        url = resolve_url(chosen.url, self.project.root)
        remote = pod_remote(chosen.name, url, dict(chosen.options))
        if remote.withheld:
            log.warning("warning: remote %r: options %s are not passed to pods (they look "
                        "like credentials); give pods credentials through "
                        "kubernetes.env_from_secret or a service account", chosen.name,
                        ", ".join(remote.withheld))
        plain_secrets = [name for name, _ in self.settings.env if SECRET_OPTION.search(name)]
        if plain_secrets:
            log.warning("warning: kubernetes.env %s look like credentials and are written "
                        "into every Job in plain text; put them in a Secret and name it in "
                        "kubernetes.env_from_secret", ", ".join(plain_secrets))
        return remote

    def preflight(self, tasks: list[Task]) -> None:
        """Before anything is created: every manifest builds (image set), the remote
        opens if a task goes through it, the API answers."""
        for task in tasks:
            self.manifest(task, "xxh3:0", 0)
        if not all(runs_direct(task) for task in tasks):
            self.open_remote()
        self.executor.check_reachable()

    def manifest(self, task: Task, fingerprint: str, attempt: int) -> dict[str, Any]:
        digest = self._staged.get((task.name, fingerprint), "sha256:0")
        return job_manifest(task, fingerprint, attempt, self.settings, self.pod_remote, digest)

    def attempt(self, task: Task, fingerprint: str, attempt: int, log_path: Path) -> RunResult:
        """One Job; a task that `runs_direct` has nothing on the remote to stage,
        clear or read back."""
        direct = runs_direct(task)
        if not direct and (task.name, fingerprint) not in self._staged:
            self._staged[task.name, fingerprint] = stage_job(
                task, fingerprint, self.project.workspace, self.project.cache, self.remote)
        job = KubeJob(task.name, fingerprint, self.manifest(task, fingerprint, attempt),
                      log_path, direct)
        submitted = self.executor.submit(
            job, None if direct else lambda: clear_result(self.remote, task.name, fingerprint))
        with self.in_flight.tracking(submitted) as handle:
            outcome = self.executor.wait(handle)
        if handle.result is not None:
            self._results[task.name, fingerprint] = handle.result
        return outcome

    def bring_back(self, task: Task, fingerprint: str) -> None:
        if runs_direct(task):
            return   # no outs: the Job's success is the whole result
        read = self._results.pop((task.name, fingerprint), None)
        bring_back(self.project, self.remote, task, fingerprint, read)

    def cancel_all(self) -> None:
        self.in_flight.stop()

    def _cancel_handles(self, handles: list[KubeHandle]) -> None:
        for handle in handles:
            self.executor.cancel(handle)


def bring_back(project: Project, remote: Remote, task: Task, fingerprint: str,
               result: ResultRecord | None) -> None:
    """Fetch the outs the pod pushed and check them out into the workspace: only
    the task's declared outs, each of its declared kind, each checked before a
    byte is written, each file with the executable bit the pod saw. `result`
    is the record as `read_result` gave it to the Job's verdict (the pod vouched
    for it); the remote's copy is never read again here: it may have changed."""
    where = f"result record {result_rel(task.name, fingerprint)!r} on remote {remote.name!r}"
    if result is None or result.exit_code != 0:
        raise GitpipeError(f"{where}: none the pod vouched for, or not a success, after "
                           "the Job succeeded")
    result.check_outs({o.path: o.is_dir for o in task.outs}, where)
    for row in result.outs:
        _refuse_unsafe_out(project, row[0], where)
    project.cache.note_sizes((row[1], row[2]) for row in result.outs)  # a download's cap
    fetch_objects(remote, project.cache, [row[1] for row in result.outs])
    for row in result.outs:
        project.cache.checkout(project.root / row[0], row[1], is_flagged(row))


def _refuse_unsafe_out(project: Project, path: str, where: str) -> None:
    """The record path rules in the workspace: plain, not tracked by git, and
    reached without a symlink."""
    problem = record_path_problem(path)
    if problem is None and project.git.is_tracked(path):
        problem = "is a file git tracks"
    link = symlinked_parent(project.root, path)
    if problem is None and link is not None:
        problem = f"is under {link!r}, a symlink or a file"
    if problem is not None:
        raise RecordError(f"{where}: out {path!r} {problem}; nothing was written")
