"""The controller's side of the trust boundary on the real control plane: a result
record forged on the shared remote after the pod wrote its own is refused before a
byte is written, and the remote's secrets from the local config never reach a Job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.k8s.cluster import K8sCluster
from tests.k8s.test_executor import project, run
from tests.security.conftest import assert_only_changed, snapshot

pytestmark = [pytest.mark.k8s, pytest.mark.s3, pytest.mark.slow]

# What the pod runs instead of plain `gitpipe exec`: the real thing, then, as
# someone else with write access to the bucket (CI on a stranger's pull request),
# it replaces the result record the pod wrote.
FORGER = """\
import json, os, subprocess, sys
from gitpipe.storage.objects import object_relpath
from gitpipe.hashing.digests import hash_bytes
from gitpipe.storage.remote import Remote
from gitpipe.executors.remotejob import result_rel

code = subprocess.run(["gitpipe", *sys.argv[1:]]).returncode
task, fingerprint, url = sys.argv[2], sys.argv[4], sys.argv[6]
remote = Remote("r", url, json.loads(os.environ.get("GITPIPE_REMOTE_OPTIONS") or "{}"))
rel = result_rel(task, fingerprint)
record = json.loads(remote.get_bytes(rel))
hook = b"#!/bin/sh\\ntouch pwned\\n"
digest = str(hash_bytes(hook))
remote.put_bytes(object_relpath(digest), hook)
MODE
remote.put_bytes(rel, data)
sys.exit(code)
"""
FORGERIES = {
    "a path under .git": (
        'record["outs"].append([".git/hooks/post-checkout", digest, len(hook)])\n'
        "data = json.dumps(record).encode()",
        "out path '.git/hooks/post-checkout' names '.git', which belongs to git or gitpipe"),
    "another stage's out": (
        'record["outs"].append(["clean.txt", digest, len(hook)])\n'
        "data = json.dumps(record).encode()",
        "names outs the stage does not declare ['clean.txt']"),
    "a file for a directory out": (
        'record["outs"] = [["model", digest, len(hook)]]\ndata = json.dumps(record).encode()',
        "out 'model' is a file, declared as a directory"),
    "another stage's record": (
        'record["task"] = "prep"\ndata = json.dumps(record).encode()', "is for 'prep'"),
    "a record of the wrong shape": (
        'data = b\'{"exit_code": "0", "outs": "model"}\'',
        "'exit_code' is missing or of the wrong type"),
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_forged_result_record_is_refused_before_anything_is_written(
        repo: Repo, k8s: K8sCluster, k8s_namespace: str, s3_bucket: str, s3_env: dict,
        tmp_path: Path, forgery: str) -> None:
    mode, problem = FORGERIES[forgery]
    forger = tmp_path / "forger.py"
    forger.write_text(FORGER.replace("MODE", mode))
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env)
    config = repo.project().config.raw
    kube = {**config["kubernetes"], "command": ["python3", str(forger)]}
    repo.gen({".gitpipe/config.yaml": {**config, "kubernetes": kube}}, commit="forger")
    assert run(repo, k8s, "repro", "prep").returncode == 0
    before = snapshot(tmp_path)
    done = run(repo, k8s, "repro", "train")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "stage 'train': result record 'results/train-" in done.stderr, done.stderr
    assert problem in done.stderr, done.stderr
    assert not (repo.path / ".git/hooks/post-checkout").exists()
    assert not (repo.path / "model").exists()
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


def test_local_remote_secrets_never_reach_the_job_or_the_logs(
        repo: Repo, k8s: K8sCluster, k8s_namespace: str, s3_bucket: str,
        s3_env: dict) -> None:
    """The controller reaches the bucket with keys from config.local.yaml; the pods
    get theirs from a Secret named by kubernetes.env_from_secret."""
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env, env_from_secret={})
    for option, value in [("key", "AKIDLOCALONLY1"), ("secret", "LOCALONLYSECRET2")]:
        repo.run("remote", "modify", "--local", "s3", option, value, check=True)
    config = repo.project().config.raw
    kube = {**config["kubernetes"], "env_from_secret": "s3-env"}
    repo.gen({".gitpipe/config.yaml": {"remotes": {"s3": {"url": s3_bucket}},
                                       "core": config["core"], "kubernetes": kube}},
             commit="pods take credentials from a Secret")
    from kubernetes import client

    k8s.core().create_namespaced_secret(k8s_namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="s3-env"),
        string_data={"AWS_ACCESS_KEY_ID": s3_env["AWS_ACCESS_KEY_ID"],
                     "AWS_SECRET_ACCESS_KEY": s3_env["AWS_SECRET_ACCESS_KEY"]}))
    done = run(repo, k8s, "repro")
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.read("model/m.txt") == "A\nB\n"
    assert "options key, secret are not passed to pods" in done.stderr
    (job,) = k8s.batch().list_namespaced_job(k8s_namespace).items
    shown = json.dumps(k8s.api_client().sanitize_for_serialization(job))
    assert "envFrom" in shown and "s3-env" in shown
    logs = "".join(p.read_text() for p in (repo.path / ".gitpipe/logs").glob("*.log"))
    for secret in ("AKIDLOCALONLY1", "LOCALONLYSECRET2"):
        assert secret not in shown + done.stdout + done.stderr + logs
