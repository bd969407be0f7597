"""The stage's timeout on Kubernetes: the Job's activeDeadlineSeconds, which
the Job controller keeps, and gitpipe's own clock (from just before the Job
was made, or from its adoption), which says when a pod's end can be believed
without the Job's word and when the controller has missed the deadline.

The controller checks a Job's deadline once, at the time its first sync
wrote as the Job's startTime; a second sync on a cache that does not show
that write yet writes a later one, and the one check then comes too early
(kubernetes#107226); a controller that restarted does not check it at all
(kubernetes#62134). The Job's pod then runs to its end, and may succeed.
"""

from __future__ import annotations

from typing import Any

from gitpipe.executors.base import RunResult
from gitpipe.executors.kubernetes.manifest import CONTAINER

# How long past the stage's timeout gitpipe lets the Job controller act on
# the deadline before it stops the Job itself: the controller's own
# DeadlineExceeded is the usual end, and gitpipe's clock starts a little
# before the Job's.
DEADLINE_GRACE = 10.0


def job_deadline(manifest: dict[str, Any]) -> int | None:
    """The Job's activeDeadlineSeconds: the stage's timeout."""
    deadline = (manifest.get("spec") or {}).get("activeDeadlineSeconds")
    return None if deadline is None else int(deadline)


def past_deadline(manifest: dict[str, Any], took: float, adopted: bool) -> bool:
    """Whether gitpipe's clock shows the run past the stage's timeout (never for
    an adopted Job, whose start that clock does not know)."""
    deadline = job_deadline(manifest)
    return deadline is not None and not adopted and took >= deadline


def within_deadline(manifest: dict[str, Any], took: float, adopted: bool) -> bool:
    """Whether gitpipe's clock shows the run inside the stage's timeout (none:
    always): a pod that has ended by now ended inside it, whatever the Job
    controller makes of the deadline. An adopted Job started before that clock
    did: only the Job can say."""
    deadline = job_deadline(manifest)
    return deadline is None or (not adopted and took < deadline)


def overdue(name: str, manifest: dict[str, Any], took: float) -> RunResult | None:
    """A timeout past the Job controller's grace, with no word from it: gitpipe
    stops the Job itself (the caller deletes it). Never early for an adopted
    Job: `took` then counts from the adoption."""
    deadline = job_deadline(manifest)
    if deadline is None or took < deadline + DEADLINE_GRACE:
        return None
    return RunResult(1, took, timed_out=True,
                     message=f"Job {name}: DeadlineExceeded: still running {took:.0f}s into "
                             f"the run, past the stage's timeout of {deadline}s, and the Job "
                             "controller has not stopped it: gitpipe deletes it")


def container_ran_for(pod: Any) -> int | None:
    """How long the pod's ended stage container ran, by the kubelet's own
    whole-second stamps; None while it has not ended or lacks them."""
    for status in (pod.status.container_statuses if pod.status else None) or []:
        terminated = status.state.terminated if status.state else None
        if status.name != CONTAINER or terminated is None:
            continue
        if terminated.started_at is not None and terminated.finished_at is not None:
            return int((terminated.finished_at - terminated.started_at).total_seconds())
    return None


def overran(name: str, manifest: dict[str, Any], pods: list[Any],
            took: float) -> RunResult | None:
    """A Job the controller marked Complete whose pod's command ran longer than
    the stage's timeout: the controller missed the deadline (it starts its
    count at the Job's startTime, before the container starts, so a container
    that ran longer ran past it). Whole seconds both: a difference above the
    timeout is a longer run, never a rounding."""
    deadline = job_deadline(manifest)
    if deadline is None:
        return None
    for pod in pods:
        ran_for = container_ran_for(pod)
        if ran_for is not None and ran_for > deadline:
            return RunResult(1, took, timed_out=True,
                             message=f"Job {name}: DeadlineExceeded: pod "
                                     f"{pod.metadata.name} ran {ran_for}s, past the stage's "
                                     f"timeout of {deadline}s (the Job controller missed "
                                     "the deadline and says Complete)")
    return None
