"""A pod's log under a task name as long as gitpipe.yaml allows, against the
real control plane on loopback: the log is made, and nothing is printed but
gitpipe's own lines (the log's pump runs in a thread of its own, where an
error reached the user as a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.k8s.cluster import STAGE_SECRETS, K8sCluster, use_cluster
from tests.security.conftest import assert_only_changed, snapshot

pytestmark = [pytest.mark.k8s, pytest.mark.s3, pytest.mark.slow]

LONG = "t" * 240  # with the time and pid, past a file name's 255 bytes


def test_a_pod_of_a_stage_with_a_long_name_keeps_its_log(
        repo: Repo, k8s: K8sCluster, k8s_namespace: str, s3_bucket: str, s3_env: dict,
        tmp_path: Path) -> None:
    repo.spec({LONG: {"cmd": "echo from the pod; echo made > o.txt", "outs": ["o.txt"],
                      "executor": "kubernetes", **STAGE_SECRETS}})
    use_cluster(repo, k8s, k8s_namespace, s3_bucket, s3_env)
    repo.commit("pipeline")
    before = snapshot(tmp_path)
    done = repo.run("repro", env=k8s.env, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "Exception in thread" not in done.stderr, \
        done.stderr
    assert repo.read("o.txt") == "made\n"
    logs = list((repo.path / ".gitpipe/logs").iterdir())
    assert len(logs) == 1 and "from the pod" in logs[0].read_text(), logs
    assert_only_changed(before, snapshot(tmp_path),
                        [f"{repo.path.name}/{part}" for part in
                         (".gitpipe", "gitpipe.lock", "o.txt", ".gitignore")])
