"""Attacks on the Kubernetes path that need no cluster: a job record planted on the
shared remote, a pod asked to read or upload files outside its work folder, a
committed kubeconfig whose exec plugin would run a command, remote secrets in a
printed manifest, and stage names that collide once sanitised. The controller's
side against a real control plane is in tests/k8s/test_records.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import xxhash
import yaml

from gitpipe.executors.remotejob import job_rel, record_digest, result_rel
from gitpipe.hashing.digests import DIR_SUFFIX, XXH3, ManifestEntry, manifest_bytes
from gitpipe.storage.remote import object_key, push
from gitpipe.storage.state import State
from gitpipe.storage.workspace import Workspace
from tests.conftest import Repo, staged_for_a_pod
from tests.security.conftest import assert_only_changed, snapshot

TOKEN = b"SA-TOKEN-0f1e2d3c"   # what a service-account token file holds


def staged(repo: Repo, tmp_path: Path, cmd: str) -> tuple[str, str]:
    """A stage `make` staged for a pod as the controller does: (fingerprint, digest)."""
    repo.gen({"src/make.sh": "mkdir -p out && tr a-z A-Z < data/in.txt > out/up.txt\n",
              "data/in.txt": "hello\n"})
    staged_job = staged_for_a_pod(repo, tmp_path, {
        "cmd": cmd, "deps": ["src/make.sh", "data/in.txt"], "outs": ["out/"]})
    (tmp_path / "pod").mkdir()
    return staged_job


def plant_secret(tmp_path: Path) -> Path:
    secret = tmp_path / "var/run/secrets/kubernetes.io/serviceaccount/token"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(TOKEN)
    return secret


def pod(tmp_path: Path, fingerprint: str, digest: str,
        task: str = "make") -> subprocess.CompletedProcess[str]:
    """`gitpipe exec` as the Job runs it, in an empty folder beside the repository."""
    return subprocess.run([sys.executable, "-m", "gitpipe", "exec", task, "--fingerprint",
                           fingerprint, "--remote", str(tmp_path / "store"),
                           "--record-digest", digest],
                          cwd=tmp_path / "pod", capture_output=True, text=True, timeout=120)


def job_body(tmp_path: Path, fingerprint: str, task: str = "make") -> dict[str, Any]:
    return dict(json.loads((tmp_path / "store" / job_rel(task, fingerprint)).read_bytes()))


def publish(tmp_path: Path, fingerprint: str, body: dict[str, Any]) -> str:
    """Write a job record to the remote as an attacker (or the controller) would;
    its true digest is returned."""
    data = json.dumps(body, sort_keys=True).encode()
    (tmp_path / "store" / job_rel("make", fingerprint)).write_bytes(data)
    return record_digest(data)


def remote_holds(tmp_path: Path, needle: bytes) -> list[str]:
    store = tmp_path / "store"
    return [str(p.relative_to(store)) for p in store.rglob("*")
            if p.is_file() and needle in p.read_bytes()]


def refused(done: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    for phrase in phrases:
        assert phrase in done.stderr, done.stderr


# -- the pod side ----------------------------------------------------------------------
def test_a_job_record_planted_on_the_remote_is_refused_before_anything_runs(
        repo: Repo, tmp_path: Path) -> None:
    fingerprint, digest = staged(repo, tmp_path, "sh src/make.sh")
    secret = plant_secret(tmp_path)
    body = job_body(tmp_path, fingerprint)
    body["cmd"] = f"mkdir -p out && cp {secret} out/up.txt && touch {tmp_path}/ran"
    publish(tmp_path, fingerprint, body)
    before = snapshot(tmp_path)
    done = pod(tmp_path, fingerprint, digest)
    refused(done, f"job record '{job_rel('make', fingerprint)}'",
            "its digest is not the one this Job was created with")
    assert not (tmp_path / "ran").exists()
    assert remote_holds(tmp_path, TOKEN) == []
    assert_only_changed(before, snapshot(tmp_path))


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("outs", [["../var/run/secrets/kubernetes.io/serviceaccount/token", False]],
     "out path '../var/run/secrets/kubernetes.io/serviceaccount/token' is not normalised"),
    ("outs", [["/etc/passwd", False]], "out path '/etc/passwd' is absolute"),
    ("deps", [["../../victim.txt", "xxh3:" + "0" * 32]], "dep path '../../victim.txt'"),
    ("deps", [[".gitpipe-exec/cache/files/x", "xxh3:" + "0" * 32]],
     "which gitpipe keeps for itself"),
    ("wdir", "../..", "wdir '../..' is not normalised"),
    ("deps", [["data/in.txt", "xxh3:../../../x"]], "not an xxh3 object digest"),
    ("env", {"A": 1}, "'env' must map names to strings"),
    ("task", "other", "is for 'other'"),
    ("fingerprint", "xxh3:" + "1" * 32, "at xxh3:1111"),
])
def test_a_vouched_record_with_paths_outside_the_work_folder_is_refused(
        repo: Repo, tmp_path: Path, field: str, value: Any, problem: str) -> None:
    """Even a record whose digest matches (the controller's own) is held to the path
    rules: the pod trusts no more than the controller does."""
    fingerprint, _ = staged(repo, tmp_path, f"touch {tmp_path}/ran")
    plant_secret(tmp_path)
    body = job_body(tmp_path, fingerprint)
    body[field] = value
    digest = publish(tmp_path, fingerprint, body)
    before = snapshot(tmp_path)
    done = pod(tmp_path, fingerprint, digest)
    refused(done, problem)
    assert not (tmp_path / "ran").exists()
    assert remote_holds(tmp_path, TOKEN) == []
    assert_only_changed(before, snapshot(tmp_path))


def test_an_out_left_as_a_symlink_to_a_secret_is_not_uploaded(repo: Repo,
                                                              tmp_path: Path) -> None:
    secret = plant_secret(tmp_path)
    fingerprint, digest = staged(repo, tmp_path, f"ln -s {secret.parent} out")
    before = snapshot(tmp_path)
    done = pod(tmp_path, fingerprint, digest)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert remote_holds(tmp_path, TOKEN) == []
    result = json.loads((tmp_path / "store" / result_rel("make", fingerprint)).read_bytes())
    assert result["exit_code"] == 1
    assert "out 'out': is a symlink out of the work folder; not uploaded" in result["message"]
    assert_only_changed(before, snapshot(tmp_path), ["pod", "store"])


def test_a_dep_laid_out_under_a_symlink_another_dep_made_is_refused(
        repo: Repo, tmp_path: Path) -> None:
    """dep `d/` holds a symlink `d/link` to a folder outside; dep `d/link/f` would then
    be written through it."""
    fingerprint, _ = staged(repo, tmp_path, f"touch {tmp_path}/ran")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "f").write_text("the user's file\n")
    forged = tmp_path / "forged"
    (forged / "d").mkdir(parents=True)
    (forged / "d/link").symlink_to(victim)
    (forged / "f").write_text("overwritten\n")
    project = repo.project()
    space = Workspace(forged, State(tmp_path / "forger-state.db"), None)
    file = space.info("f", XXH3)
    assert file.digest is not None
    # The forger writes the manifest object by hand: gitpipe's own cache refuses
    # to store a directory whose symlink leads outside it.
    manifest = manifest_bytes([ManifestEntry("link", f"link:{victim}", 0)])
    tree = f"xxh3:{xxhash.xxh3_128_hexdigest(manifest)}{DIR_SUFFIX}"
    project.cache.add_file(forged / "f", file.digest)
    remote = project.remote()
    push(remote, project.cache, [file.digest])
    remote.fs.makedirs(remote.full(object_key(tree)).rsplit("/", 1)[0], exist_ok=True)
    remote.fs.pipe_file(remote.full(object_key(tree)), manifest)
    body = job_body(tmp_path, fingerprint)
    body["deps"] = [["d", tree], ["d/link/f", file.digest]]
    digest = publish(tmp_path, fingerprint, body)
    before = snapshot(tmp_path)
    done = pod(tmp_path, fingerprint, digest)
    # Refused by whichever check meets it first: the manifest's outward link,
    # or the dep laid out under a symlink.
    refused(done)
    assert ("symlink entry 'link' points outside the directory" in done.stderr
            or "dep 'd/link/f': its parent 'd/link' is a symlink" in done.stderr), done.stderr
    assert (victim / "f").read_text() == "the user's file\n"
    assert not (tmp_path / "ran").exists()
    assert_only_changed(before, snapshot(tmp_path), ["pod"])


# -- the controller side, without a cluster ------------------------------------------
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users:
- {name: me, user: {token: t0}}
- {name: plugin, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1,
   command: sh, args: [-c, "touch MARKER; echo '{}'"]}}}
contexts:
- {name: mine, context: {cluster: c, user: me}}
- {name: evil, context: {cluster: c, user: plugin}}
current-context: CURRENT
"""


def kubeconfig(marker: Path, current: str) -> str:
    """A kubeconfig whose `evil` context's exec plugin creates `marker` when it runs."""
    return KUBECONFIG.replace("MARKER", str(marker)).replace("CURRENT", current)


def kube_project(repo: Repo, tmp_path: Path) -> None:
    repo.gen({"in.txt": "a\n"})
    repo.spec({"train": {"cmd": "cp in.txt out.txt", "deps": ["in.txt"], "outs": ["out.txt"],
                         "executor": "kubernetes", "image": "gitpipe:test"}})
    repo.run("init", check=True)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No kubeconfig of the user's own unless a test writes one, no in-cluster account."""
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return home


@pytest.mark.parametrize("key", ["kubeconfig", "context"])
def test_a_committed_kubeconfig_or_context_is_refused_and_its_plugin_never_runs(
        repo: Repo, tmp_path: Path, user_home: Path, key: str) -> None:
    """A pull request names a kubeconfig in the repository (its plugin the attacker's
    command), or picks a context of the user's own other than their current one."""
    marker = tmp_path / "plugin-ran"
    kube_project(repo, tmp_path)
    if key == "kubeconfig":
        repo.gen({"evil-kubeconfig": kubeconfig(marker, "evil")})
    else:
        (user_home / ".kube/config").write_text(kubeconfig(marker, "mine"))
    config = repo.project().config.raw
    value = "evil-kubeconfig" if key == "kubeconfig" else "evil"
    repo.gen({".gitpipe/config.yaml": {**config, "kubernetes": {key: value}}})
    repo.commit("a pull request")
    before = snapshot(tmp_path)
    done = repo.run("repro", timeout=120)
    refused(done, f".gitpipe/config.yaml: kubernetes.{key} comes from git and is not used",
            "hint: remove it there; set KUBECONFIG")
    assert not marker.exists()
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe", "home"])


def test_a_kubeconfig_in_tracked_local_config_is_refused_untracked_is_used(
        repo: Repo, tmp_path: Path, user_home: Path) -> None:
    marker = tmp_path / "plugin-ran"
    kube_project(repo, tmp_path)
    repo.gen({"evil-kubeconfig": kubeconfig(marker, "evil"),
              ".gitpipe/config.local.yaml": {"kubernetes": {"kubeconfig": "evil-kubeconfig"}}})
    subprocess.run(["git", "add", "-f", ".gitpipe/config.local.yaml"], cwd=repo.path,
                   check=True)
    repo.commit("a pull request")
    done = repo.run("repro", timeout=120)
    # A tracked config.local.yaml is refused as machine state that came from
    # git before any kubeconfig is read.
    refused(done, "'.gitpipe/config.local.yaml' is tracked by git")
    assert not marker.exists()
    # Untracked, it is the user's own choice: used (its plugin is theirs to run).
    subprocess.run(["git", "rm", "-q", "--cached", ".gitpipe/config.local.yaml"],
                   cwd=repo.path, check=True)
    done = repo.run("repro", timeout=120)
    assert done.returncode == 2 and "cannot reach the Kubernetes API" in done.stderr, \
        done.stderr
    assert marker.exists()


def test_remote_secrets_never_appear_in_a_printed_manifest(repo: Repo, tmp_path: Path) -> None:
    kube_project(repo, tmp_path)
    repo.commit("pipeline")
    for option, value in [("key", "AKIDSECRET1"), ("secret", "LOCALSECRET2"),
                          ("token", "LOCALSECRET3"), ("endpoint_url", "http://127.0.0.1:9")]:
        repo.run("remote", "modify", "--local", "store", option, value, check=True)
    committed = yaml.safe_load((repo.path / ".gitpipe/config.yaml").read_text())
    repo.gen({".gitpipe/config.yaml": {**committed,
                                       "kubernetes": {"env_from_secret": "s3-creds"}}})
    before = snapshot(tmp_path)
    done = repo.run("k8s", "manifest", "train", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "SECRET" not in done.stdout + done.stderr
    assert "options key, secret, token are not passed to pods" in done.stderr
    assert "envFrom:\n        - secretRef:\n            name: s3-creds" in done.stdout
    assert "http://127.0.0.1:9" in done.stdout   # what is not secret still reaches the pod
    assert "--record-digest" in done.stdout
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


def test_stage_names_differing_by_case_or_punctuation_get_distinct_jobs(
        repo: Repo, tmp_path: Path) -> None:
    names = ["Train", "train", "train_x", "train.x"]
    repo.spec({name: {"cmd": "true", "executor": "kubernetes", "image": "gitpipe:test"}
               for name in names})
    repo.run("init", check=True)
    repo.commit("pipeline")
    jobs = set()
    for name in names:
        done = repo.run("k8s", "manifest", name, timeout=120)
        assert done.returncode == 0, done.stderr
        line = next(ln for ln in done.stdout.splitlines() if ln.startswith("  name: gp-"))
        jobs.add(line.split(": ", 1)[1])
    assert len(jobs) == len(names), jobs
