"""The Kubernetes executor: one batch/v1 Job per attempt, watched, its logs streamed,
dead pods detected. Nothing Kubernetes leaves this module but RunResults.

The official client is imported lazily: `gitpipe status` never pays for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitpipe.core.errors import EXIT_INTERRUPTED, BadInputError, GitpipeError
from gitpipe.executors.base import OutputSink, RunResult
from gitpipe.executors.kubernetes.clients import load_clients
from gitpipe.executors.kubernetes.deadline import (
    overdue,
    overran,
    past_deadline,
    within_deadline,
)
from gitpipe.executors.kubernetes.manifest import (
    LABEL_FINGERPRINT,
    LABEL_TASK,
    KubeSettings,
)
from gitpipe.executors.kubernetes.nodes import NodeBeats
from gitpipe.executors.kubernetes.podlogs import follow_log
from gitpipe.executors.kubernetes.vouch import job_pods, pods_named, vouched_digests
from gitpipe.executors.remotejob import RecordError, ResultRecord, heartbeat, read_result
from gitpipe.storage.remote import Remote
from gitpipe.trust.checks import terminal_text

IMAGE_TROUBLE = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                 "CreateContainerConfigError", "CreateContainerError"}
# How long the Job's condition is asked for once its pod has ended: the
# controller writes it just after it sees the pod's end.
SETTLE = 5.0


@dataclass(frozen=True)
class KubeJob:
    task: str
    fingerprint: str
    manifest: dict[str, Any]
    log_path: Path
    direct: bool = False   # the pod runs the command itself: no result record, no heartbeats


@dataclass(eq=False)
class KubeHandle:
    job: KubeJob
    name: str
    namespace: str
    started: float = field(default_factory=time.monotonic)
    cancelled: threading.Event = field(default_factory=threading.Event)
    running_since: float | None = None
    trouble_since: dict[str, float] = field(default_factory=dict)
    logs: threading.Thread | None = None
    adopted: bool = False
    node: str | None = None
    result: ResultRecord | None = None   # the pod's result record, once read and checked
    uid: str = ""   # the Job's own: a finished Job of the same name may still show its pods
    beat: bytes | None = None   # the pod's heartbeat as last read, and since when (monotonic)
    beat_seen: float = 0.0


class JobClient:
    """submit / wait / cancel for Jobs; the remote (`remote()` opens it) carries the
    results and heartbeats of pods that run `gitpipe exec`."""

    def __init__(self, settings: KubeSettings, remote: Callable[[], Remote],
                 sink: OutputSink | None = None) -> None:
        self.settings = settings
        self.remote = remote
        self.sink = sink
        self.batch, self.core = load_clients(settings)
        self.nodes = NodeBeats(self.core)
        # (task label, fingerprint label) -> name: the unfinished Jobs found by
        # the run's one adoption list (made at its first submit)
        self._unfinished: dict[tuple[str, str], tuple[str, str]] | None = None
        self._adoption = threading.Lock()

    def check_reachable(self) -> None:
        try:
            self.core.list_namespaced_pod(self.settings.namespace, limit=1,
                                          _request_timeout=10)
        except Exception as exc:  # connection, TLS and auth errors alike
            raise BadInputError(f"cannot reach the Kubernetes API: {exc}".splitlines()[0],
                                hint="check the cluster and your kubeconfig") from None

    # -- submit: adopt a running Job for this fingerprint, or create one -------------
    def submit(self, job: KubeJob, before_create: Callable[[], None] | None = None
               ) -> KubeHandle:
        """Adopt a running Job with this fingerprint, or create one (calling
        `before_create` first: an adopted Job's result must not be cleared)."""
        namespace = job.manifest["metadata"]["namespace"]
        adopted = self._adoptable(job, namespace)
        if adopted is not None:
            return KubeHandle(job, adopted[0], namespace, adopted=True, uid=adopted[1])
        if before_create is not None:
            before_create()
        name = job.manifest["metadata"]["name"]
        return KubeHandle(job, name, namespace, uid=self._create(job, namespace, name))

    def _adoptable(self, job: KubeJob, namespace: str) -> tuple[str, str] | None:
        """The unfinished Job an earlier, interrupted run left for this task and
        fingerprint, as (name, uid); each is adopted once (a retry creates its own Job)."""
        labels = job.manifest["metadata"]["labels"]
        with self._adoption:
            if self._unfinished is None:
                self._unfinished = self._list_unfinished(namespace)
            return self._unfinished.pop((labels[LABEL_TASK], labels[LABEL_FINGERPRINT]), None)

    def _list_unfinished(self, namespace: str) -> dict[tuple[str, str], tuple[str, str]]:
        """Every unfinished gitpipe Job of the namespace, in one list for the run:
        the Jobs worth adopting exist before it starts."""
        unfinished: dict[tuple[str, str], tuple[str, str]] = {}
        for item in self.batch.list_namespaced_job(namespace, label_selector=LABEL_TASK).items:
            finished = any(c.type in ("Complete", "Failed") and c.status == "True"
                           for c in (item.status.conditions or []))
            labels = item.metadata.labels or {}
            key = (labels.get(LABEL_TASK, ""), labels.get(LABEL_FINGERPRINT, ""))
            if not finished and item.metadata.deletion_timestamp is None:
                unfinished.setdefault(key, (str(item.metadata.name), str(item.metadata.uid)))
        return unfinished

    def _create(self, job: KubeJob, namespace: str, name: str) -> str:
        """The Job made from the manifest: its uid."""
        from kubernetes.client.exceptions import ApiException

        try:
            created = self.batch.create_namespaced_job(namespace, job.manifest)
        except ApiException as exc:
            if exc.status != 409:
                raise GitpipeError(f"cannot create Job {name!r}: {exc.reason}") from None
            self._delete(name, namespace, wait=True)  # a finished Job from an earlier run
            created = self.batch.create_namespaced_job(namespace, job.manifest)
        return str(created.metadata.uid)

    # -- wait: watch the Job's pods, with heartbeats and timeouts --------------------
    def wait(self, handle: KubeHandle) -> RunResult:
        from kubernetes import watch

        while True:
            if handle.cancelled.is_set():
                return self._cancelled(handle)
            stream = watch.Watch()
            for event in stream.stream(self.core.list_namespaced_pod, handle.namespace,
                                       label_selector=self._pods_of(handle),
                                       timeout_seconds=self.settings.watch_timeout):
                verdict = self._judge_pod(handle, event["type"], event["object"])
                if verdict is not None or handle.cancelled.is_set():
                    stream.stop()
                    if verdict is not None:
                        return self._finish(handle, verdict)
                    break
            verdict = self._judge_job(handle)
            if verdict is not None:
                return self._finish(handle, verdict)

    @staticmethod
    def _pods_of(handle: KubeHandle) -> str:
        """The label selector of the handle's own pods: the Job controller labels
        each with its Job's uid, which a Job made again under the name does not share."""
        return f"controller-uid={handle.uid}" if handle.uid else f"job-name={handle.name}"

    def poll(self, handle: KubeHandle) -> RunResult | None:
        return self._judge_job(handle)

    def cancel(self, handle: KubeHandle) -> None:
        handle.cancelled.set()
        self._delete(handle.name, handle.namespace, wait=False)

    def _cancelled(self, handle: KubeHandle) -> RunResult:
        self._delete(handle.name, handle.namespace, wait=False)
        return RunResult(EXIT_INTERRUPTED, self._took(handle), cancelled=True, message="cancelled")

    def _took(self, handle: KubeHandle) -> float:
        return time.monotonic() - handle.started

    def _within_deadline(self, handle: KubeHandle) -> bool:
        return within_deadline(handle.job.manifest, self._took(handle), handle.adopted)

    def _finish(self, handle: KubeHandle, result: RunResult) -> RunResult:
        if handle.logs is not None:
            handle.logs.join(timeout=10)
        if not result.ok:
            self._delete(handle.name, handle.namespace, wait=False)
        return result

    def _judge_pod(self, handle: KubeHandle, kind: str, pod: Any) -> RunResult | None:
        name = pod.metadata.name
        if kind == "DELETED" or pod.metadata.deletion_timestamp is not None:
            return self._deleted(handle, pod)
        phase = pod.status.phase
        if phase in ("Running", "Succeeded", "Failed"):
            self._stream_logs(handle, name)
        if phase == "Running" and handle.running_since is None:
            handle.running_since = time.monotonic()
            handle.node = pod.spec.node_name
        if phase == "Succeeded":
            return self._succeeded(handle, pod)
        if phase == "Failed":
            return self._pod_failure(handle, pod)
        return self._image_trouble(handle, pod)

    def _succeeded(self, handle: KubeHandle, pod: Any) -> RunResult | None:
        """A pod that ended Succeeded. Inside the stage's timeout its result record
        (a direct command's exit 0) says how the run ended. Past it only the Job
        does: its controller fails a Job past its deadline even when the pod
        succeeded, and a pod whose deadline it missed runs to its end
        (kubernetes/deadline.py). None while the Job says nothing: the next
        rounds ask again."""
        if self._within_deadline(handle):
            return self._success(handle, f"pod {pod.metadata.name} ended without a result "
                                         "record", pod)
        return self._settled(handle, pod)

    def _settled(self, handle: KubeHandle, pod: Any) -> RunResult | None:
        """The Job's condition once `pod` has ended, asked for a few seconds."""
        until = time.monotonic() + SETTLE
        while True:
            verdict = self._job_condition(handle, pod)
            if verdict is not None or time.monotonic() >= until:
                return verdict
            time.sleep(0.5)

    def _deleted(self, handle: KubeHandle, pod: Any) -> RunResult:
        """A pod going away: finished work, the Job's own deadline, or a real loss.

        The Job controller deletes the pods of a Job past its deadline before
        the Failed condition is visible, so the Job is asked for a few seconds.
        """
        done = None if handle.job.direct else self._result_verdict(handle, pod)
        if done is not None and done.ok and self._within_deadline(handle):
            return done
        return self._settled(handle, pod) or RunResult(
            1, self._took(handle), message=f"pod {pod.metadata.name} was deleted while the "
                                           "stage ran")

    def _pod_failure(self, handle: KubeHandle, pod: Any) -> RunResult:
        reason, code = pod.status.reason or "", 1
        for status in pod.status.container_statuses or []:
            terminated = status.state.terminated if status.state else None
            if terminated is not None:
                reason, code = terminated.reason or reason, terminated.exit_code or 1
        reason = terminal_text(reason)  # the kubelet's word, or a container's
        if reason in ("", "Error", "Completed"):
            recorded = (RunResult(code, self._took(handle),
                                  message=f"command exited with code {code}")
                        if handle.job.direct else self._result_verdict(handle, pod))
            if recorded is not None and (not recorded.ok or self._within_deadline(handle)):
                return recorded
        timed_out = reason == "DeadlineExceeded"
        return RunResult(code, self._took(handle), timed_out=timed_out,
                         message=f"pod {pod.metadata.name} failed: {reason or 'Error'} "
                                 f"(exit {code})")

    def _image_trouble(self, handle: KubeHandle, pod: Any) -> RunResult | None:
        for status in pod.status.container_statuses or []:
            waiting = status.state.waiting if status.state else None
            if waiting is not None and waiting.reason in IMAGE_TROUBLE:
                since = handle.trouble_since.setdefault(waiting.reason, time.monotonic())
                if time.monotonic() - since >= self.settings.image_pull_grace:
                    return RunResult(1, self._took(handle), message=terminal_text(
                        f"pod {pod.metadata.name}: {waiting.reason}: "
                        f"{waiting.message or ''}".strip()))  # it quotes the clone's image
        return None

    def _judge_job(self, handle: KubeHandle) -> RunResult | None:
        """The Job's own verdict; else the stage's timeout as gitpipe's clock keeps
        it (kubernetes/deadline.py: the controller may miss it); else liveness."""
        return (self._job_condition(handle)
                or overdue(handle.name, handle.job.manifest, self._took(handle))
                or self._liveness(handle))

    def _job_condition(self, handle: KubeHandle, pod: Any = None) -> RunResult | None:
        """The Job's own verdict (Complete, Failed, or deleted), or None while it
        has none; `pod`, the ended pod the watch saw, vouches for its record."""
        from kubernetes.client.exceptions import ApiException

        try:
            job = self.batch.read_namespaced_job(handle.name, handle.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return self._job_gone(handle, pod)
            return None  # a passing API error: try again next round
        for condition in job.status.conditions or []:
            if condition.status != "True":
                continue
            if condition.type == "Failed":
                reason = condition.reason
                if reason != "DeadlineExceeded" and past_deadline(
                        handle.job.manifest, self._took(handle), handle.adopted):
                    # The pod was stopped at the deadline and the Job controller
                    # counted a failed pod first (a race in the controller).
                    reason = f"DeadlineExceeded (the Job says {condition.reason})"
                return RunResult(1, self._took(handle),
                                 timed_out=reason.startswith("DeadlineExceeded"),
                                 message=terminal_text(f"Job {handle.name}: {reason}: "
                                                       f"{condition.message or ''}".strip()))
            if condition.type == "Complete":
                pods = job_pods(self.core, handle.namespace, self._pods_of(handle), pod)
                return (overran(handle.name, handle.job.manifest, pods, self._took(handle))
                        or self._success(handle, "the Job completed without a result record",
                                         pod))
        return None

    def _job_gone(self, handle: KubeHandle, pod: Any) -> RunResult:
        """The Job deleted (its TTL, or someone): only its pod's record is left to
        say how the run ended, believed as a success inside the stage's timeout
        alone (nobody is left to say DeadlineExceeded)."""
        done = None if handle.job.direct else self._result_verdict(handle, pod)
        if done is not None and (not done.ok or self._within_deadline(handle)):
            return done
        late = ("" if done is None else "; its pod's success, seen past the stage's timeout, "
                "is not believed")
        return RunResult(1, self._took(handle), message=f"Job {handle.name} was deleted{late}")

    def _success(self, handle: KubeHandle, unrecorded: str, pod: Any = None) -> RunResult:
        """A pod that succeeded: a direct command's exit 0, else what its result
        record says (`unrecorded` when there is none)."""
        if handle.job.direct:
            return RunResult(0, self._took(handle))
        return self._result_verdict(handle, pod) or RunResult(1, self._took(handle),
                                                              message=unrecorded)

    def _liveness(self, handle: KubeHandle) -> RunResult | None:
        """A pod that stopped beating (its node lost) or was never scheduled fails."""
        now = time.monotonic()
        if handle.running_since is None:
            if now - handle.started > self.settings.pending_timeout:
                return RunResult(1, self._took(handle), message=f"no pod of Job {handle.name} "
                                 f"ran within {self.settings.pending_timeout:g}s")
            return None
        if handle.job.direct:
            return self._node_liveness(handle)
        # Since its beat last changed, by this clock (what a beat says is not believed).
        beat = heartbeat(self.remote(), handle.job.task, handle.job.fingerprint)
        if beat is not None and beat != handle.beat:
            handle.beat, handle.beat_seen = beat, now
        silent = now - (handle.running_since if handle.beat is None else handle.beat_seen)
        if silent > self.settings.heartbeat_timeout:
            return RunResult(1, self._took(handle), message=f"no heartbeat from the pod of "
                             f"Job {handle.name} for {silent:.0f}s (node lost?)")
        return None

    def _node_liveness(self, handle: KubeHandle) -> RunResult | None:
        """A direct command's pod writes no heartbeats: its node's stand in."""
        silent = self.nodes.silent_for(handle.node) if handle.node else None
        if silent is not None and silent > self.settings.heartbeat_timeout:
            return RunResult(1, self._took(handle), message=f"no heartbeat from node "
                             f"{handle.node} of Job {handle.name} for {silent:.0f}s "
                             "(node lost?)")
        return None

    def _result_verdict(self, handle: KubeHandle, pod: Any = None) -> RunResult | None:
        """The pod's result record as a RunResult, if the pod vouched for its bytes;
        any other fails this task, saying so (never a traceback, never believed)."""
        pods = job_pods(self.core, handle.namespace, self._pods_of(handle), pod)
        try:
            result = read_result(self.remote(), handle.job.task, handle.job.fingerprint,
                                 vouched_digests(pods), pods_named(pods, handle.name))
        except RecordError as exc:
            return RunResult(1, self._took(handle), message=exc.message, hint=exc.hint or "")
        if result is None:
            return None
        handle.result = result
        # The record's message is the pod's, whose image the clone's spec names.
        return RunResult(result.exit_code, self._took(handle),
                         message=terminal_text(result.message))

    def _stream_logs(self, handle: KubeHandle, pod_name: str) -> None:
        if handle.logs is None:
            handle.logs = follow_log(self.core, handle.namespace, pod_name, handle.job.task,
                                     handle.job.log_path, self.sink)

    def _delete(self, name: str, namespace: str, wait: bool) -> None:
        """Delete with Background propagation: the default would orphan the pods."""
        from kubernetes.client.exceptions import ApiException

        try:
            self.batch.delete_namespaced_job(name, namespace, propagation_policy="Background",
                                             grace_period_seconds=0)
        except ApiException as exc:
            if exc.status != 404:
                raise GitpipeError(f"cannot delete Job {name!r}: {exc.reason}") from None
            return
        deadline = time.monotonic() + 60
        while wait and time.monotonic() < deadline:
            try:
                self.batch.read_namespaced_job(name, namespace)
            except ApiException as exc:
                if exc.status == 404:
                    return
            time.sleep(0.2)
