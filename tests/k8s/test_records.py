"""The controller's side of the trust boundary on the real control plane: a result
record another writer of the shared remote puts in place of the pod's is refused
(the pod vouches for its own through its termination message); one the pod itself
vouches for is still checked before a byte is written; and the remote's secrets
from the local config never reach a Job."""

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
# it replaces the result record the pod wrote, uploading the objects it names.
# With VOUCH, it also puts the forgery's digest in the termination log: a pod
# (its image) that itself reports a bad record, which the record checks stop.
FORGER = """\
import json, os, pathlib, subprocess, sys
from gitpipe.storage.objects import object_relpath
from gitpipe.hashing.digests import XXH3, hash_bytes
from gitpipe.storage.cache import Cache
from gitpipe.storage.remote import Remote, push
from gitpipe.storage.state import State
from gitpipe.storage.workspace import Workspace
from gitpipe.executors.remotejob import record_digest, result_rel

code = subprocess.run(["gitpipe", *sys.argv[1:]]).returncode
task, fingerprint, url = sys.argv[2], sys.argv[4], sys.argv[6]
argv = sys.argv + ["--termination-log", "termination-log"]
termination_log = argv[argv.index("--termination-log") + 1]
remote = Remote("r", url, json.loads(os.environ.get("GITPIPE_REMOTE_OPTIONS") or "{}"))
rel = result_rel(task, fingerprint)
record = json.loads(remote.get_bytes(rel))
hook = b"#!/bin/sh\\ntouch pwned\\n"
digest = str(hash_bytes(hook))
remote.put_bytes(object_relpath(digest), hook)
MODE
remote.put_bytes(rel, data)
if VOUCH:
    pathlib.Path(termination_log).write_text(record_digest(data))
sys.exit(code)
"""
# A well-formed record naming the declared out with other bytes, whose objects
# are on the remote: nothing but the pod's word tells it from the real one.
OTHER_BYTES = """\
forged = pathlib.Path("forged")
(forged / "model").mkdir(parents=True)
(forged / "model" / "m.txt").write_text("FORGED WEIGHTS\\n")
info = Workspace(forged, State(forged / "state.db"), None).info("model", XXH3)
cache = Cache(forged / "cache", "copy")
cache.add_tree(forged / "model", info.digest)
push(remote, cache, [info.digest])
remote.put_bytes("forgery/digest", info.digest.encode())
record["outs"] = [["model", info.digest, info.size]]
data = json.dumps(record).encode()"""
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


def forging_project(repo: Repo, k8s: K8sCluster, namespace: str, bucket: str, s3_env: dict,
                    tmp_path: Path, mode: str, vouch: bool) -> None:
    """The two-stage project whose pods run FORGER; `prep` (local) already run."""
    forger = tmp_path / "forger.py"
    forger.write_text(FORGER.replace("MODE", mode).replace("VOUCH", str(vouch)))
    project(repo, k8s, namespace, bucket, s3_env)
    config = repo.project().config.raw
    kube = {**config["kubernetes"], "command": ["python3", str(forger)]}
    repo.gen({".gitpipe/config.yaml": {**config, "kubernetes": kube}}, commit="forger")
    assert run(repo, k8s, "repro", "prep").returncode == 0


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_bad_result_record_the_pod_vouches_for_is_refused_before_anything_is_written(
        repo: Repo, k8s: K8sCluster, k8s_namespace: str, s3_bucket: str, s3_env: dict,
        tmp_path: Path, forgery: str) -> None:
    mode, problem = FORGERIES[forgery]
    forging_project(repo, k8s, k8s_namespace, s3_bucket, s3_env, tmp_path, mode, vouch=True)
    before = snapshot(tmp_path)
    done = run(repo, k8s, "repro", "train")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "stage 'train': result record 'results/train-" in done.stderr, done.stderr
    assert problem in done.stderr, done.stderr
    assert not (repo.path / ".git/hooks/post-checkout").exists()
    assert not (repo.path / "model").exists()
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


def test_a_result_record_another_bucket_writer_put_in_place_is_not_believed(
        repo: Repo, k8s: K8sCluster, k8s_namespace: str, s3_bucket: str, s3_env: dict,
        tmp_path: Path) -> None:
    """The forgery is well-formed and its objects are uploaded: only the pod's
    termination message, which no bucket writer reaches, gives it away."""
    forging_project(repo, k8s, k8s_namespace, s3_bucket, s3_env, tmp_path, OTHER_BYTES,
                    vouch=False)
    before = snapshot(tmp_path)
    done = run(repo, k8s, "repro", "train")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "stage 'train': result record 'results/train-" in done.stderr, done.stderr
    assert "is not the record pod gp-train-" in done.stderr, done.stderr
    assert "termination message" in done.stderr, done.stderr
    forged = repo.project().remote().get_bytes("forgery/digest")
    assert forged is not None   # the forger did its part
    assert not (repo.path / "model").exists()
    assert "train" not in repo.project().lock_entries
    # Neither the forged bytes nor their digest reached the cache, the lock, the
    # run-cache or the logs; the rest of the tree is as it was.
    for path in repo.path.rglob("*"):
        if path.is_file() and ".git" not in path.relative_to(repo.path).parts[:1]:
            assert forged not in path.read_bytes(), path
            assert b"FORGED WEIGHTS" not in path.read_bytes(), path
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
