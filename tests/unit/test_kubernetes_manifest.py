"""The Job manifest is a pure function: checked field by field, no cluster needed."""

from __future__ import annotations

import json
import re

import pytest

from gitpipe.core.errors import BadInputError
from gitpipe.core.yamlio import parse_yaml
from gitpipe.executors.kubernetes.manifest import (
    DIRECT_PRELUDE,
    KubeSettings,
    PodRemote,
    dns_name,
    job_manifest,
    job_name,
    pod_remote,
    runs_direct,
)
from gitpipe.executors.remotejob import job_rel, result_rel, task_key
from gitpipe.pipeline.model import partition_task, tasks_of
from gitpipe.pipeline.parse import parse_pipeline

SPEC = """\
stages:
  train:
    cmd: python train.py
    executor: kubernetes
    image: registry.example/train:1.4
    resources: {cpu: 4, memory: 16Gi, gpu: 1}
    node_selector: {pool: gpu}
    tolerations: [{key: gpu, operator: Exists, effect: NoSchedule}]
    service_account: trainer
    env: {MODE: full}
    env_from_secret: {AWS_ACCESS_KEY_ID: [aws, id]}
    timeout: 2h
    outs: [model/]
  Features_Daily:
    partition: {by: date, start: 2024-01-01, end: 2024-01-03}
    cmd: echo ${date}
    executor: kubernetes
    outs: ["f/${date}"]
"""
FP = "xxh3:0123456789abcdef0123456789abcdef"
DIGEST = "sha256:" + "ab" * 32
DNS = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def tasks():
    pipeline = parse_pipeline(parse_yaml(SPEC, "gitpipe.yaml"))
    return tasks_of(pipeline.stages[0], None), pipeline.stages[1]  # type: ignore[arg-type]


def test_train_manifest() -> None:
    (train,), _ = tasks()
    settings = KubeSettings.from_config({"namespace": "ml", "ttl": 600,
                                         "image_pull_secrets": ["regcred"],
                                         "env": {"AWS_DEFAULT_REGION": "eu-west-1"}})
    job = job_manifest(train, FP, 0, settings,
                       PodRemote("s3://bucket/cache", {"endpoint_url": "http://x"}), DIGEST)
    meta, spec = job["metadata"], job["spec"]
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    assert meta["namespace"] == "ml" and DNS.match(meta["name"])
    assert meta["labels"] == {"gitpipe.dev/stage": "train", "gitpipe.dev/partition": "none",
                              "gitpipe.dev/task": task_key("train"),
                              "gitpipe.dev/fingerprint": "0123456789abcdef0123456789abcdef"}
    assert spec["backoffLimit"] == 0 and spec["activeDeadlineSeconds"] == 7200
    assert spec["ttlSecondsAfterFinished"] == 600
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["serviceAccountName"] == "trainer"
    assert pod["nodeSelector"] == {"pool": "gpu"}
    assert pod["tolerations"] == [{"effect": "NoSchedule", "key": "gpu", "operator": "Exists"}]
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    (container,) = pod["containers"]
    assert container["image"] == "registry.example/train:1.4"
    assert container["command"] == ["gitpipe", "exec", "train", "--fingerprint", FP,
                                    "--remote", "s3://bucket/cache", "--record-digest", DIGEST,
                                    "--termination-log", "/dev/termination-log"]
    # the pod vouches for its result record where the kubelet reads, never the log's tail
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "File"
    assert container["resources"]["limits"] == {"cpu": "4", "memory": "16Gi",
                                                "nvidia.com/gpu": "1"}
    assert "nvidia.com/gpu" not in container["resources"]["requests"]
    env = {e["name"]: e for e in container["env"]}
    assert env["MODE"]["value"] == "full"
    assert env["AWS_DEFAULT_REGION"]["value"] == "eu-west-1"
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"] == {"secretKeyRef": {"name": "aws", "key": "id"}}
    assert env["GITPIPE_REMOTE_OPTIONS"]["value"] == '{"endpoint_url": "http://x"}'


def test_partition_names_are_deterministic_dns_labels() -> None:
    _, stage = tasks()
    task = partition_task(stage, "2024-01-02")
    first, again = job_name(task, FP, 0), job_name(task, FP, 0)
    assert first == again and DNS.match(first) and len(first) <= 63
    assert job_name(task, FP, 1) != first
    long = job_name(task, FP, 0).replace("features", "f")
    assert len(long) <= 63
    assert len(dns_name("x" * 200)) == 63


def test_missing_image_is_a_clear_error() -> None:
    _, stage = tasks()
    with pytest.raises(BadInputError, match="executor kubernetes needs an image"):
        job_manifest(partition_task(stage, "2024-01-01"), FP, 0, KubeSettings(),
                     PodRemote("s3://b"), DIGEST)


def test_unknown_config_key() -> None:
    with pytest.raises(BadInputError, match="kubernetes: unknown key 'namspace'"):
        KubeSettings.from_config({"namspace": "x"})


def test_names_differing_by_case_or_punctuation_get_distinct_jobs_and_keys() -> None:
    names = ["Train", "train", "train_x", "train.x", "train-x"]
    spec = "stages:\n" + "".join(f"  {n}: {{cmd: 'true', executor: kubernetes, image: i}}\n"
                                 for n in names)
    pipeline = parse_pipeline(parse_yaml(spec, "gitpipe.yaml"))
    found = [tasks_of(stage, None)[0] for stage in pipeline.stages]
    jobs = {job_name(task, FP, 0) for task in found}
    assert len(jobs) == len(names) and all(DNS.match(j) and len(j) <= 63 for j in jobs)
    keys = {task_key(n) for n in names}
    assert len(keys) == len(names)
    assert {job_rel(n, FP) for n in names} | {result_rel(n, FP) for n in names} == {
        *(f"jobs/{k}/{FP[5:]}.json" for k in keys), *(f"results/{k}/{FP[5:]}.json"
                                                      for k in keys)}


def test_secret_remote_options_never_reach_the_manifest() -> None:
    (train,), _ = tasks()
    options = {"key": "AKIDSECRET1", "secret": "SECRET2", "token": "SECRET3",
               "endpoint_url": "http://127.0.0.1:9000", "anon": False,
               "client_kwargs": {"region_name": "eu-west-1",
                                 "aws_secret_access_key": "SECRET4",
                                 "endpoint_url": "https://user:SECRET5@host/"},
               "config_kwargs": {"s3": {"addressing_style": "path"}}}
    remote = pod_remote("store", "s3://bucket/cache", options)
    text = json.dumps(job_manifest(train, FP, 0, KubeSettings(env_from_secret=("s3",)), remote,
                                   DIGEST))
    assert not re.search(r"SECRET\d", text)
    assert sorted(remote.withheld) == ["client_kwargs.aws_secret_access_key",
                                       "client_kwargs.endpoint_url", "key", "secret", "token"]
    assert remote.options == {"endpoint_url": "http://127.0.0.1:9000", "anon": False,
                              "client_kwargs": {"region_name": "eu-west-1"},
                              "config_kwargs": {"s3": {"addressing_style": "path"}}}
    container = json.loads(text)["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "s3"}}]


def test_a_remote_url_with_credentials_is_refused_without_showing_them() -> None:
    with pytest.raises(BadInputError, match="URL carries credentials") as caught:
        pod_remote("web", "https://me:SECRET6@files.example/store", {})
    assert "SECRET6" not in str(caught.value)


def test_env_from_secret_in_the_config_takes_a_name_or_names() -> None:
    assert KubeSettings.from_config({"env_from_secret": "s3"}).env_from_secret == ("s3",)
    assert KubeSettings.from_config({"env_from_secret": ["a", "b"]}).env_from_secret == (
        "a", "b")


DIRECT_SPEC = """\
stages:
  notify:
    foreach: [a]
    do: {cmd: 'curl -X POST "$HOOK/$(date +%s)"', executor: kubernetes, image: i,
         env: {HOOK: "http://h/$(SECRET)"}}
  reads:
    cmd: 'true'
    deps: [data.txt]
    executor: kubernetes
    image: i
  in_wdir:
    cmd: 'true'
    wdir: sub
    executor: kubernetes
    image: i
"""


def test_a_stage_with_nothing_to_stage_runs_its_command_as_the_pod() -> None:
    notify, reads, in_wdir = (tasks_of(stage, None)[0] for stage in
                              parse_pipeline(parse_yaml(DIRECT_SPEC, "gitpipe.yaml")).stages)
    assert runs_direct(notify)
    assert not runs_direct(reads) and not runs_direct(in_wdir)
    (train,), _ = tasks()
    assert not runs_direct(train)   # outs to send back
    job = job_manifest(notify, FP, 0, KubeSettings(), PodRemote("s3://b"), DIGEST)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    # `$$` is the kubelet's escape for `$`: nothing in the command is expanded by it
    assert container["command"] == [
        "/bin/sh", "-c", DIRECT_PRELUDE.replace("$", "$$"), "gitpipe-direct",
        'curl -X POST "$$HOOK/$$(date +%s)"']
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {"HOOK": "http://h/$$(SECRET)", "GITPIPE_STAGE": "notify",
                   "GITPIPE_PARTITION": "a"}
    job = job_manifest(reads, FP, 0, KubeSettings(), PodRemote("s3://b"), DIGEST)
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:2] == ["gitpipe", "exec"]
