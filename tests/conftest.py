"""Shared fixtures: real git repositories in temp dirs, the CLI in-process and as a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.k8s.cluster import k8s, k8s_cluster, k8s_namespace  # noqa: F401 - fixtures

# A shell starts a background job (`.ci/run &`, nohup) with SIGINT ignored,
# and an ignored signal stays ignored across exec: every gitpipe the tests
# start would then shrug off the Ctrl-C they send it. A Python handler is
# reset to the default at exec, so the tests' children get a real Ctrl-C.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# A run's output is pinned by many tests; a line said only after a minute of
# silence would depend on the machine's speed. Its own tests set it.
os.environ["GITPIPE_STILL_RUNNING_AFTER"] = "0"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}
RUNLOG = "runs.log"
RACY_SECONDS = 1.1  # past statsig.RACY_NS


def staged_for_a_pod(repo: Repo, tmp_path: Path, stage: dict[str, Any]) -> tuple[str, str]:
    """`stage` as the one stage `make`, staged on the folder remote
    `tmp_path/store` as the controller stages a pod's job: (fingerprint,
    record digest)."""
    from gitpipe.executors.remotejob import stage_job
    from gitpipe.project.staleness import observe

    repo.spec({"make": stage})
    repo.run("init", check=True)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    repo.commit("spec")
    project = repo.project()
    task = project.graph.nodes["make"]["task"]
    fingerprint = observe(task, project.workspace, project.params_reader()).fingerprint
    return fingerprint, stage_job(task, fingerprint, project.workspace, project.cache,
                                  project.remote())


def ran_cmd(name: str, body: str) -> str:
    """A stage command that appends its name to runs.log, then does `body`."""
    return f"echo {name} >> {RUNLOG} && {body}"


def _file_bytes(content: Any) -> bytes:
    """What `Repo.gen` writes for `content` (str, bytes, or dict → YAML)."""
    import yaml

    if isinstance(content, (dict, list)):
        content = yaml.safe_dump(content, sort_keys=False)
    if isinstance(content, bytes):
        return content
    return (textwrap.dedent(content) if "\n" in content else content).encode()


class Repo:
    """A temporary git repository with gitpipe helpers."""

    def __init__(self, path: Path, init: bool = True) -> None:
        self.path = path
        if init:
            self.git("init", "-q", "-b", "main")
            # The test's run log is never committed, so clones start without one.
            (path / ".git/info/exclude").write_text(f"{RUNLOG}\n")

    def clone_to(self, path: Path) -> Repo:
        """A real `git clone` of this repository."""
        self.git("clone", "-q", str(self.path), str(path))
        return Repo(path, init=False)

    def pushed_clone(self, path: Path, store: Path) -> Repo:
        """Repro here with `store` as the default folder remote, push, commit, and
        return a real clone at `path`: a fresh checkout that has pulled nothing."""
        self.run("remote", "add", "-d", "store", str(store), check=True)
        self.run("repro", check=True)
        self.run("push", check=True)
        self.commit("ran and pushed")
        return self.clone_to(path)

    def own_remote(self, name: str = "store") -> Repo:
        """Set the remote's committed URL again in config.local.yaml: the
        user's own, which `gc --remote --yes` deletes from without asking."""
        url = self.project().config.raw["remotes"][name]["url"]
        self.run("remote", "modify", "--local", name, "url", url, check=True)
        return self

    def git(self, *args: str) -> str:
        env = {**os.environ, **GIT_ENV, "HOME": str(self.path)}
        done = subprocess.run(["git", *args], cwd=self.path, env=env, check=True,
                              capture_output=True, text=True)
        return done.stdout

    def gen(self, files: dict[str, Any], commit: str | None = None) -> Repo:
        """Write files (str, bytes, or dict → YAML); optionally commit everything."""
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_file_bytes(content))
        if commit:
            self.commit(commit)
        return self

    def gen_changed(self, files: dict[str, Any]) -> list[str]:
        """Write, as `gen` does, only the files whose bytes differ from what is
        there: the others keep the stat data a seal holds. The names written."""
        changed = [name for name, content in files.items()
                   if not (self.path / name).is_file()
                   or (self.path / name).read_bytes() != _file_bytes(content)]
        self.gen({name: files[name] for name in changed})
        return changed

    def commit(self, message: str = "commit") -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)

    def age(self, seconds: float = 30) -> Repo:
        """Move every work-tree file's mtime into the past, as if written a while
        ago, then wait out the racy window of their ctimes (which the kernel
        sets to now, and nothing can set back): nothing is then too recent
        (git's racy rule) to trust or seal."""
        then = time.time() - seconds
        for base, dirs, files in os.walk(self.path):
            dirs[:] = [d for d in dirs if d != ".git"]
            for name in files:
                os.utime(os.path.join(base, name), (then, then))
        time.sleep(RACY_SECONDS)
        return self

    def spec(self, stages: dict[str, Any], commit: str | None = None) -> Repo:
        return self.gen({"gitpipe.yaml": {"stages": stages}}, commit=commit)

    def read(self, name: str) -> str:
        return (self.path / name).read_text()

    def ran(self) -> list[str]:
        """Stage names in the order their commands ran; clears the log."""
        log = self.path / RUNLOG
        if not log.exists():
            return []
        names = log.read_text().split()
        log.unlink()
        return names

    def project(self) -> Any:
        from gitpipe.usecases.api import Project

        return Project(self.path)

    def parse_cache(self) -> Path:
        """This user's parse-cache folder for the repository (project/root.py)."""
        project = self.project()
        try:
            folder = project.parse_cache
        finally:
            project.close()
        assert folder is not None
        return Path(folder)

    def cli(self, *args: str) -> Any:
        """The CLI in-process (click's runner), from the repository root."""
        from gitpipe.cli.main import cli

        runner = CliRunner()
        return runner.invoke(cli, ["-C", str(self.path), *args], catch_exceptions=False)

    def run(self, *args: str, check: bool = False, **kwargs: Any) -> subprocess.CompletedProcess:
        """The CLI as a real subprocess (`python -m gitpipe`)."""
        env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", "GITPIPE_RETRY_BACKOFF": "0.05"}
        env.update(kwargs.pop("env", {}))
        cwd = kwargs.pop("cwd", self.path)
        return subprocess.run([sys.executable, "-m", "gitpipe", *args], cwd=cwd,
                              env=env, capture_output=True, text=True, check=check, **kwargs)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    path = tmp_path / "repo"
    path.mkdir()
    return Repo(path)


@pytest.fixture
def make_repo(tmp_path: Path) -> Any:
    """Factory for several repositories in one test."""
    count = 0

    def make(name: str | None = None) -> Repo:
        nonlocal count
        count += 1
        path = tmp_path / (name or f"repo{count}")
        path.mkdir()
        return Repo(path)

    return make


@pytest.fixture(scope="session")
def _user_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One XDG cache folder for the session: the per-user caches (parse cache,
    seals, the signing key) of the test repositories stay out of the real one."""
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(autouse=True)
def _quiet_env(monkeypatch: pytest.MonkeyPatch, _user_cache_home: Path) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(_user_cache_home))
    monkeypatch.setenv("GITPIPE_RETRY_BACKOFF", "0.05")
    monkeypatch.delenv("GITPIPE_JOBS", raising=False)
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="session")
def s3_server() -> Any:
    """moto's S3 server on 127.0.0.1 (a real HTTP endpoint), for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


S3RVER_JS = Path(os.environ.get("GITPIPE_S3RVER") or Path.home() / ".cache" / "gitpipe-test"
                 / "s3rver" / "node_modules" / "s3rver" / "bin" / "s3rver.js")


@pytest.fixture(scope="session")
def s3rver_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A second S3 implementation (npm's s3rver, `make s3rver`) on 127.0.0.1, so
    the contract suite does not only pass against moto's idea of S3."""
    import shutil
    import time

    node = shutil.which("node")
    if node is None or not S3RVER_JS.is_file():
        if os.environ.get("GITPIPE_S3RVER_REQUIRE"):
            pytest.fail(f"s3rver is required but {S3RVER_JS} (or node) is missing: make s3rver")
        pytest.skip("s3rver not installed (make s3rver)")
    work = tmp_path_factory.mktemp("s3rver")
    out = work / "stdout"
    # NOTE: --openssl-legacy-provider: s3rver encrypts listing continuation
    # tokens with DES, which OpenSSL 3 keeps in its legacy provider; without it
    # every listing past 1,000 keys is a 500.
    with open(out, "wb") as stdout:
        proc = subprocess.Popen(
            [node, "--openssl-legacy-provider", str(S3RVER_JS), "--directory", str(work / "data"),
             "--address", "127.0.0.1", "--port", "0", "--silent"],
            stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    port = None
    while port is None:
        for line in out.read_text(errors="replace").splitlines():
            if line.startswith("S3rver listening on 127.0.0.1:"):
                port = int(line.rsplit(":", 1)[1])
        if port is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"s3rver did not start: {out.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def _use_s3(monkeypatch: pytest.MonkeyPatch, endpoint: str, key: str) -> dict[str, str]:
    """Dummy credentials and the endpoint in the standard AWS variables only.

    NOTE: without credentials botocore probes a cloud metadata address; only
    127.0.0.1 may ever be contacted, so credentials are always set.
    """
    env = {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": key,
           "AWS_SESSION_TOKEN": key, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": endpoint}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    return env


def _new_bucket(env: dict[str, str]) -> str:
    """A fresh bucket; returns its s3:// URL with a prefix."""
    import uuid

    import boto3

    name = f"gitpipe-{uuid.uuid4().hex[:12]}"
    # A new session: boto3's default one keeps the first credentials it saw.
    boto3.session.Session().client("s3", endpoint_url=env["AWS_ENDPOINT_URL"]).create_bucket(
        Bucket=name)
    return f"s3://{name}/cache"


@pytest.fixture
def s3_env(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return _use_s3(monkeypatch, s3_server, "testing")


@pytest.fixture
def s3_bucket(s3_env: dict[str, str]) -> str:
    return _new_bucket(s3_env)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3),
                        pytest.param("s3rver", marks=pytest.mark.s3)])
def remote_url(request: pytest.FixtureRequest, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> str:
    """Every remote kind the contract suite runs against."""
    if request.param == "local":
        return str(tmp_path / "remote-store")
    if request.param == "s3rver":
        endpoint = request.getfixturevalue("s3rver_server")
        return _new_bucket(_use_s3(monkeypatch, endpoint, "S3RVER"))  # its only key pair
    return str(request.getfixturevalue("s3_bucket"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, keep the tests that share the Kubernetes control plane on one worker
    (those in tests/k8s, and those marked k8s elsewhere).

    First: xdist's own hook turns the mark into the node id's `@k8s` suffix
    that --dist loadgroup sends by; run after it, the mark came too late."""
    for item in items:
        path = str(item.fspath)
        if "/tests/k8s/" in path or item.get_closest_marker("k8s") is not None:
            item.add_marker(pytest.mark.xdist_group("k8s"))
