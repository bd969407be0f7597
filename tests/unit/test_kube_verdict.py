"""How a failed Job is read: a Job stopped at its deadline is a timeout, whichever
condition the Job controller wrote first.

The Job controller races: a pod stopped at activeDeadlineSeconds may be counted
as a failed pod (BackoffLimitExceeded, backoffLimit 0) before the deadline is
(DeadlineExceeded). That race cannot be produced on demand against the test
control plane, so the API's reply is canned here; the executor's code is real.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

from gitpipe.executors.kubernetes.executor import JobClient, KubeHandle, KubeJob


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
