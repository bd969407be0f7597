"""A stage's timeout on Kubernetes when the Job controller misses the Job's
deadline, as the 1.20 one does now and then (kubernetes#107226): its first sync
writes the Job's startTime and queues one deadline check; a second sync, on a
cache that does not show that write yet, writes startTime again, later, and its
check is folded into the earlier one. That check then finds the Job within its
deadline, and nothing checks it again before its pod ends: a `sleep 120` with
`timeout: 3s` runs to its end. The tests do what that second sync does, on
purpose: they write the Job's startTime again, later."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time

import pytest
from kubernetes.client.exceptions import ApiException

from tests.conftest import Repo
from tests.k8s.cluster import K8sCluster
from tests.k8s.test_executor import TRAIN, project, run

pytestmark = [pytest.mark.k8s, pytest.mark.s3, pytest.mark.slow]


def start_written_again(k8s: K8sCluster, namespace: str, later_by: float) -> None:
    """Once the Job controller has written the Job's startTime, write it again
    `later_by` seconds later (and again, should a sync of the controller's
    write its own over it before its cache shows this one), until the Job ends."""
    batch = k8s.batch()
    deadline = time.monotonic() + 60
    wanted: dt.datetime | None = None
    while time.monotonic() < deadline:
        job = next(iter(batch.list_namespaced_job(namespace).items), None)
        if job is None:
            if wanted is not None:
                return  # deleted
        elif job.status.conditions:
            return  # ended
        elif job.status.start_time is not None:
            wanted = wanted or job.status.start_time + dt.timedelta(seconds=later_by)
            if job.status.start_time != wanted:
                with contextlib.suppress(ApiException):  # the Job ended meanwhile
                    batch.patch_namespaced_job_status(job.metadata.name, namespace, {
                        "status": {"startTime": wanted.strftime("%Y-%m-%dT%H:%M:%SZ")}})
        time.sleep(0.05)


def repro_while_start_is_written_again(repo: Repo, k8s: K8sCluster, namespace: str,
                                       later_by: float) -> tuple[int, str]:
    writer = threading.Thread(target=start_written_again, args=(k8s, namespace, later_by))
    writer.start()
    done = run(repo, k8s, "repro")
    writer.join()
    return done.returncode, done.stderr


def timed_out_unrecorded(repo: Repo, k8s: K8sCluster, namespace: str, later_by: float) -> None:
    """The repro, its Job's start written again `later_by` seconds later, ends
    in DeadlineExceeded, exit 1, with nothing recorded in the lock."""
    code, err = repro_while_start_is_written_again(repo, k8s, namespace, later_by)
    assert code == 1, err
    assert "DeadlineExceeded" in err, err
    assert "train" not in repo.project().lock_entries


def test_a_job_whose_deadline_the_controller_misses_is_stopped_at_the_timeout(
        repo: Repo, k8s: K8sCluster, k8s_namespace: str, s3_bucket: str, s3_env: dict) -> None:
    """The command would run on to its end and succeed, out and all: gitpipe keeps
    the timeout itself, deletes the Job, and the command is stopped."""
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env, train_cmd="sleep 60; " + TRAIN,
            timeout="3s")
    timed_out_unrecorded(repo, k8s, k8s_namespace, later_by=2)
    runs = k8s.agent.find("gp-train", namespace=k8s_namespace)
    assert runs and all(r.wait(30) for r in runs)
    assert all(r.exit_code != 0 for r in runs), [(r.name, r.exit_code) for r in runs]


def test_a_pod_that_succeeds_past_the_deadline_is_not_believed(
        repo: Repo, k8s: K8sCluster, k8s_namespace: str, s3_bucket: str, s3_env: dict) -> None:
    """The pod ends Succeeded after the deadline the controller missed, its result
    record vouched for: the Job, not the pod, says how the run ended (the
    controller marks it DeadlineExceeded once it sees the pod end)."""
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env, train_cmd="sleep 8; " + TRAIN,
            timeout="4s")
    timed_out_unrecorded(repo, k8s, k8s_namespace, later_by=3)
    assert not (repo.path / "model").exists()


def test_a_pod_that_overran_a_deadline_the_controller_missed_by_more_timed_out(
        repo: Repo, k8s: K8sCluster, k8s_namespace: str, s3_bucket: str, s3_env: dict) -> None:
    """The startTime written again later by more than the pod overruns the
    timeout: the controller sees the pod end inside its (later) deadline and
    marks the Job Complete; the container ran longer than the timeout all the same."""
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env, train_cmd="sleep 6; " + TRAIN,
            timeout="3s")
    timed_out_unrecorded(repo, k8s, k8s_namespace, later_by=8)
    assert not (repo.path / "model").exists()
