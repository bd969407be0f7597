"""The Job manifest is a pure function: checked field by field, no cluster needed."""

from __future__ import annotations

import re

import pytest

from gitpipe.errors import BadInputError
from gitpipe.executors.kubemanifest import KubeSettings, dns_name, job_manifest, job_name
from gitpipe.spec import partition_task, tasks_of
from gitpipe.specparse import parse_pipeline
from gitpipe.yamlio import parse_yaml

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
DNS = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def tasks():
    pipeline = parse_pipeline(parse_yaml(SPEC, "gitpipe.yaml"))
    return tasks_of(pipeline.stages[0], None), pipeline.stages[1]  # type: ignore[arg-type]


def test_train_manifest() -> None:
    (train,), _ = tasks()
    settings = KubeSettings.from_config({"namespace": "ml", "ttl": 600,
                                         "image_pull_secrets": ["regcred"],
                                         "env": {"AWS_DEFAULT_REGION": "eu-west-1"}})
    job = job_manifest(train, FP, 0, settings, "s3://bucket/cache", {"endpoint_url": "http://x"})
    meta, spec = job["metadata"], job["spec"]
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    assert meta["namespace"] == "ml" and DNS.match(meta["name"])
    assert meta["labels"] == {"gitpipe.dev/stage": "train", "gitpipe.dev/partition": "none",
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
                                    "--remote", "s3://bucket/cache"]
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
        job_manifest(partition_task(stage, "2024-01-01"), FP, 0, KubeSettings(), "s3://b", {})


def test_unknown_config_key() -> None:
    with pytest.raises(BadInputError, match="kubernetes: unknown key 'namspace'"):
        KubeSettings.from_config({"namspace": "x"})
