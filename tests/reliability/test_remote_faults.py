"""S3 through a misbehaving proxy (503s, dropped connections, delays) in front of moto:
transfers retry, resume, and never leave a corrupt object on either side."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

from tests.conftest import Repo
from tests.reliability.faultproxy import FaultProxy

pytestmark = [pytest.mark.s3, pytest.mark.slow]


@pytest.fixture
def proxy(s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    target = urlparse(s3_env["AWS_ENDPOINT_URL"])
    fault = FaultProxy((target.hostname or "127.0.0.1", target.port or 80))
    url = fault.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    yield fault
    fault.stop()


def pipeline(make_repo, bucket: str) -> Repo:
    repo = make_repo("origin")
    repo.spec({"gen": {"cmd": "mkdir -p d && for i in 1 2 3 4 5 6; do "
                              "head -c 200000 /dev/urandom > d/$i.bin; done",
                       "outs": ["d/"]}})
    repo.run("init", check=True)
    repo.run("remote", "add", "-d", "s3", bucket, check=True)
    repo.commit("spec")
    repo.run("repro", check=True)
    repo.commit("results")
    return repo


@pytest.mark.parametrize("mode", ["503", "drop", "delay"])
def test_push_and_pull_survive_faults(make_repo, s3_bucket: str, proxy: FaultProxy,
                                      mode: str) -> None:
    repo = pipeline(make_repo, s3_bucket)
    proxy.mode, proxy.faults = mode, 4
    pushed = repo.run("push", "-j", "2")
    assert pushed.returncode == 0, pushed.stderr
    assert proxy.faulted == 4
    assert "pushed 7 object(s)" in pushed.stdout
    clone = repo.clone_to(repo.path.parent / f"clone-{mode}")
    proxy.faulted = 0
    pulled = clone.run("pull", "-j", "2")
    assert pulled.returncode == 0, pulled.stderr
    assert clone.run("status", "--check").returncode == 0
    assert "0 bad" in clone.run("fsck", check=True).stdout
    for i in range(1, 7):
        assert (clone.path / f"d/{i}.bin").read_bytes() == (repo.path / f"d/{i}.bin").read_bytes()


def test_permanently_failing_remote_is_a_clear_error(make_repo, s3_bucket: str,
                                                     proxy: FaultProxy) -> None:
    repo = pipeline(make_repo, s3_bucket)
    proxy.mode, proxy.faults = "503", 10_000
    done = repo.run("push", timeout=300)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "error:" in done.stderr
    assert repo.run("status", "--check").returncode == 0
    assert "0 bad" in repo.run("fsck", check=True).stdout
