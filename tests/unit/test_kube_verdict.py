"""How a failed Job is read: a Job stopped at its deadline is a timeout, whichever
condition the Job controller wrote first.

The Job controller races: a pod stopped at activeDeadlineSeconds may be counted
as a failed pod (BackoffLimitExceeded, backoffLimit 0) before the deadline is
(DeadlineExceeded). That race cannot be produced on demand against the test
control plane, so the API's reply is canned here; the executor's code is real.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from gitpipe.executors.kubernetes import executor as executor_module
from gitpipe.executors.kubernetes.deadline import DEADLINE_GRACE
from gitpipe.executors.kubernetes.executor import JobClient, KubeHandle, KubeJob
from gitpipe.executors.kubernetes.manifest import CONTAINER, KubeSettings
from gitpipe.executors.remotejob import ResultRecord, record_digest, result_rel
from gitpipe.storage.remotefs import Remote

FP = "xxh3:0123abcd"


def failed_job(reason: str) -> SimpleNamespace:
    condition = SimpleNamespace(type="Failed", status="True", reason=reason,
                                message="Job has reached the specified backoff limit")
    return SimpleNamespace(status=SimpleNamespace(conditions=[condition]))


def verdict(reason: str, deadline: int | None, ran_for: float):
    executor = object.__new__(JobClient)  # no cluster: only the reading is tested
    executor.batch = SimpleNamespace(read_namespaced_job=lambda name, ns: failed_job(reason))
    spec = {"activeDeadlineSeconds": deadline} if deadline is not None else {}
    handle = KubeHandle(KubeJob("train", "fp", {"spec": spec}, Path("log")), "gp-train", "ns",
                        started=time.monotonic() - ran_for)
    return executor._job_condition(handle)


def test_a_job_failed_past_its_deadline_timed_out() -> None:
    result = verdict("BackoffLimitExceeded", deadline=3, ran_for=4.0)
    assert result.timed_out
    assert "DeadlineExceeded (the Job says BackoffLimitExceeded)" in result.message


def test_a_job_that_failed_before_its_deadline_did_not_time_out() -> None:
    for deadline in (3, None):
        result = verdict("BackoffLimitExceeded", deadline=deadline, ran_for=1.0)
        assert not result.timed_out and "DeadlineExceeded" not in result.message
    assert verdict("DeadlineExceeded", deadline=3, ran_for=3.5).timed_out


# -- a pod's success past the stage's timeout ------------------------------------------
# The 1.20 Job controller may miss a Job's deadline (kubernetes/deadline.py); its pod
# then runs to its end and succeeds, its result record vouched for. The sequence is
# produced for real in tests/k8s/test_deadline.py; here each step's reading, quickly.

def job_with(*conditions: tuple[str, str]) -> SimpleNamespace:
    return SimpleNamespace(status=SimpleNamespace(conditions=[
        SimpleNamespace(type=kind, status="True", reason=reason, message="")
        for kind, reason in conditions]))


def succeeded_pod(remote: Remote, outs: list, ran_for: int = 2) -> SimpleNamespace:
    """A pod that ended Succeeded, having written and vouched for a success record,
    its container having run `ran_for` seconds by the kubelet's stamps."""
    data = ResultRecord(0, outs, "", "train", FP).to_bytes()
    remote.put_bytes(result_rel("train", FP), data)
    started = dt.datetime(2026, 12, 6, 8, 0, 0, tzinfo=dt.timezone.utc)
    ended = SimpleNamespace(terminated=SimpleNamespace(
        message=record_digest(data), started_at=started,
        finished_at=started + dt.timedelta(seconds=ran_for)))
    return SimpleNamespace(
        metadata=SimpleNamespace(name="gp-train-x", deletion_timestamp=None),
        status=SimpleNamespace(phase="Succeeded", reason=None, container_statuses=[
            SimpleNamespace(name=CONTAINER, state=ended)]),
        spec=SimpleNamespace(node_name="node"))


def client_reading(job: Any, remote: Remote) -> JobClient:
    def read(name: str, namespace: str) -> Any:
        if job is None:
            raise ApiException(status=404)
        return job

    executor = object.__new__(JobClient)  # no cluster: canned API replies
    executor.batch = SimpleNamespace(read_namespaced_job=read)
    executor.core = SimpleNamespace()  # the ended pod the watch saw is the one asked
    executor.remote = lambda: remote
    executor.settings = KubeSettings()
    return executor


def handle(deadline: int | None, ran_for: float) -> KubeHandle:
    spec = {"activeDeadlineSeconds": deadline} if deadline is not None else {}
    made = KubeHandle(KubeJob("train", FP, {"spec": spec}, Path("log")), "gp-train", "ns",
                      started=time.monotonic() - ran_for)
    made.logs = threading.Thread()  # no log stream in these tests
    made.running_since = time.monotonic()  # beating: its heartbeat is not in question
    return made


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    return Remote("r", str(tmp_path / "remote"))


def test_a_pod_that_succeeded_inside_the_timeout_is_believed(remote: Remote) -> None:
    for deadline in (3, None):
        pod = succeeded_pod(remote, [])
        result = client_reading(job_with(), remote)._judge_pod(
            handle(deadline, ran_for=1.0), "MODIFIED", pod)
        assert result is not None and result.ok


def test_a_pod_that_succeeded_past_the_timeout_is_judged_by_the_job(remote: Remote) -> None:
    pod = succeeded_pod(remote, [])
    result = client_reading(job_with(("Failed", "DeadlineExceeded")), remote)._judge_pod(
        handle(3, ran_for=60.0), "MODIFIED", pod)
    assert result is not None and not result.ok and result.timed_out
    assert "DeadlineExceeded" in result.message
    done = client_reading(job_with(("Complete", "")), remote)._judge_pod(
        handle(3, ran_for=60.0), "MODIFIED", pod)
    assert done is not None and done.ok  # the controller saw it end inside its deadline


def test_a_complete_job_whose_pod_ran_past_the_timeout_timed_out(remote: Remote) -> None:
    """The controller missed the deadline by less than the pod overran it (its
    startTime written again later, kubernetes/deadline.py) and marks the Job
    Complete: the container's own run, longer than the timeout, says it timed out."""
    for direct in (False, True):
        late = handle(3, ran_for=60.0)
        if direct:
            late = KubeHandle(dataclasses.replace(late.job, direct=True), late.name,
                              late.namespace, started=late.started, logs=late.logs,
                              running_since=late.running_since)
        pod = succeeded_pod(remote, [], ran_for=5)
        result = client_reading(job_with(("Complete", "")), remote)._judge_pod(
            late, "MODIFIED", pod)
        assert result is not None and not result.ok and result.timed_out, result
        assert "ran 5s, past the stage's timeout of 3s" in result.message
        assert late.result is None  # the record was never read as the run's


def test_a_success_the_job_does_not_confirm_is_no_verdict(remote: Remote,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(executor_module, "SETTLE", 0.0)
    pod = succeeded_pod(remote, [])
    assert client_reading(job_with(), remote)._judge_pod(
        handle(3, ran_for=60.0), "MODIFIED", pod) is None


def test_a_success_whose_job_is_gone_is_believed_inside_the_timeout_only(remote: Remote
                                                                       ) -> None:
    """The pod's deletion seen, and the Job deleted (its TTL, or someone): nobody
    is left to say DeadlineExceeded."""
    pod = succeeded_pod(remote, [])
    late = client_reading(None, remote)._judge_pod(handle(3, ran_for=60.0), "DELETED", pod)
    assert late is not None and not late.ok and "not believed" in late.message
    early = client_reading(None, remote)._judge_pod(handle(3, ran_for=1.0), "DELETED", pod)
    assert early is not None and early.ok


def test_gitpipe_stops_a_job_the_controller_lets_run_past_its_timeout(remote: Remote) -> None:
    executor = client_reading(job_with(), remote)
    assert executor._judge_job(handle(3, ran_for=3 + DEADLINE_GRACE - 1)) is None
    result = executor._judge_job(handle(3, ran_for=3 + DEADLINE_GRACE + 1))
    assert result is not None and result.timed_out and "DeadlineExceeded" in result.message
    assert executor._judge_job(handle(None, ran_for=3600.0)) is None


# -- a heartbeat another writer of the remote planted ------------------------------------

def test_a_heartbeat_from_the_future_keeps_no_lost_pod_alive(
        remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pod whose node is lost beats no more; another writer of the shared remote
    puts a beat dated far ahead (or the pod's clock runs ahead): the beat never
    changes, so the pod is silent from when it was first read."""
    from gitpipe.executors.remotejob import heartbeat_rel

    clock = [time.monotonic()]  # the executor's clock, moved on by hand
    monkeypatch.setattr(executor_module, "time", SimpleNamespace(
        monotonic=lambda: clock[0], time=time.time, sleep=time.sleep))
    remote.put_bytes(heartbeat_rel("train", FP), b"99999999999.0")
    executor = client_reading(job_with(), remote)
    running = handle(None, ran_for=600.0)
    running.running_since = clock[0] - 600.0
    assert executor._liveness(running) is None  # just read: silent for no time yet
    clock[0] += executor.settings.heartbeat_timeout + 1  # the beat unchanged since
    lost = executor._liveness(running)
    assert lost is not None and not lost.ok and "no heartbeat" in lost.message
    remote.put_bytes(heartbeat_rel("train", FP), b"99999999999.5")  # a beat again
    assert executor._liveness(running) is None


def test_a_pod_beating_with_its_clock_behind_is_alive(remote: Remote) -> None:
    from gitpipe.executors.remotejob import heartbeat_rel

    executor = client_reading(job_with(), remote)
    running = handle(None, ran_for=600.0)
    running.running_since = time.monotonic() - 600.0
    for beat in (b"1000.0", b"1005.0"):  # the pod's clock in 1970, beating
        remote.put_bytes(heartbeat_rel("train", FP), beat)
        assert executor._liveness(running) is None
