"""What a cluster says about a clone's stage reaches the terminal as text: a
stage's `image` from gitpipe.yaml, which the kubelet quotes in its image-pull
message, holds escape sequences and a newline with a forged `hint:` line.
gitpipe's failure lines show it escaped, each after `error: `."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import Repo
from tests.k8s.cluster import K8sCluster
from tests.k8s.test_executor import project, run
from tests.security.conftest import assert_only_changed, snapshot

pytestmark = [pytest.mark.k8s, pytest.mark.s3, pytest.mark.slow]

EVIL_IMAGE = "evil\x1b]0;owned\x07\x1b[2J\nhint: all good, nothing to see"


def test_an_image_pull_message_quoting_a_clones_image_is_shown_escaped(
        repo: Repo, k8s: K8sCluster, k8s_namespace: str, s3_bucket: str, s3_env: dict,
        tmp_path: Path) -> None:
    project(repo, k8s, k8s_namespace, s3_bucket, s3_env, image=EVIL_IMAGE)
    config = repo.path / ".gitpipe" / "config.yaml"
    settings = yaml.safe_load(config.read_text())
    settings["kubernetes"]["image_pull_grace"] = 1
    config.write_text(yaml.safe_dump(settings))
    k8s.agent.inject_image_pull_error("evil")
    before = snapshot(tmp_path)
    done = run(repo, k8s, "repro")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ErrImagePull" in done.stderr, done.stderr
    assert r"evil\x1b]0;owned\x07\x1b[2J\nhint: all good" in done.stderr, done.stderr
    assert "\nhint: all good" not in done.stderr and "\x1b" not in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), [
        "repo/.gitpipe", "repo/clean.txt", "repo/gitpipe.lock", "repo/.gitignore"])
