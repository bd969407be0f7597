"""Attacks on whoever reads a shared remote where nothing bounded the read
before: an S3-compatible server that ignores `Range` and answers whole
objects, `fsck --remote` checking an object no record sizes, a lock entry
written without a size, a pod fetching its deps by its job record. Each is
built for real (a folder remote, or moto's S3 server behind a proxy on
127.0.0.1 that drops the Range header), the CLI runs on it, and the temp
tree is compared before and after: no more than the cap is read or kept."""

from __future__ import annotations

import http.client
import http.server
import resource
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xxhash
import yaml

from gitpipe.storage.remote import object_key
from tests.conftest import Repo, _new_bucket, _use_s3, staged_for_a_pod
from tests.security.conftest import assert_only_changed, snapshot
from tests.security.test_sizecap import SIZE, grow, locked, pull_stopped, pushed_outs

RANGED_OUT = 64 << 20  # what the server holds under the 100 kB out's name


class _RangeDropper(http.server.BaseHTTPRequestHandler):
    """Forwards every request to the S3 server but its Range header, and
    counts the response bytes the client took."""

    protocol_version = "HTTP/1.1"  # answers a client's `Expect: 100-continue`
    upstream = ""
    sent = 0
    lock = threading.Lock()

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("range", "expect")}
        host, port = self.upstream.rsplit("//", 1)[1].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        conn.request(self.command, self.path, body=body, headers=headers)
        answer = conn.getresponse()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("connection", "transfer-encoding", "server", "date"):
                self.send_header(key, value)
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            while self.command != "HEAD" and (chunk := answer.read(64 * 1024)):
                self.wfile.write(chunk)
                with self.lock:
                    type(self).sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client took what it wanted and left
        finally:
            conn.close()

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def range_dropper(s3_server: str) -> Iterator[type[_RangeDropper]]:
    handler = type("Dropper", (_RangeDropper,), {"upstream": s3_server, "sent": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


@pytest.mark.s3
def test_a_server_ignoring_range_gives_no_more_than_the_record_allows(
        make_repo, tmp_path: Path, range_dropper: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _new_bucket(_use_s3(monkeypatch, range_dropper.url, "testing"))
    laptop = pushed_outs(make_repo, tmp_path, store)
    key = object_key(locked(laptop, "big.bin")["hash"])
    grow(laptop, key, RANGED_OUT)
    range_dropper.sent = 0
    pull_stopped(laptop, tmp_path,
                 f"remote 'store': object {key} holds more than the {SIZE:,} bytes its "
                 f"record gives; gitpipe stopped reading at {SIZE + 1:,} bytes")
    # The server sent what the sockets between took before the client left,
    # not the 64 MiB it answered with (nor that again on each retry).
    assert range_dropper.sent < RANGED_OUT // 2, range_dropper.sent
    assert (laptop.path / "data" / "b.bin").read_bytes() == b"y" * 5000


def _no_file_over(most: int) -> Any:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (most, most))
    return limit


def test_fsck_remote_keeps_nothing_of_an_object_no_record_sizes(
        make_repo, tmp_path: Path) -> None:
    laptop = pushed_outs(make_repo, tmp_path, str(tmp_path / "store"))
    planted = "xxh3:" + "ab" * 16
    target = tmp_path / "store" / object_key(planted)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as handle:
        handle.truncate(64 << 20)  # sparse: the disk holds none of it
    before = snapshot(tmp_path, skip=(".git", "store"))
    # A process here may write no file over 8 MiB: a temp copy of the object
    # would fail, as it would fill a small disk.
    done = laptop.run("fsck", "--remote", "store", timeout=300,
                      preexec_fn=_no_file_over(8 << 20))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert planted in done.stdout + done.stderr
    assert_only_changed(before, snapshot(tmp_path, skip=(".git", "store")), ["laptop/.gitpipe"])


def test_a_lock_out_without_a_size_is_not_downloaded(make_repo, tmp_path: Path) -> None:
    laptop = pushed_outs(make_repo, tmp_path, str(tmp_path / "store"))
    lock = yaml.safe_load(laptop.read("gitpipe.lock"))
    for out in lock["stages"]["make"]["outs"]:
        out.pop("size", None)
    laptop.gen({"gitpipe.lock": yaml.safe_dump(lock, sort_keys=False)}, commit="sizes dropped")
    pull_stopped(laptop, tmp_path, "gitpipe.lock: stage 'make': out 'big.bin' has no size, "
                 "so its download could not be bounded; nothing was downloaded",
                 "hint: gitpipe.lock gives every file out its size")
    assert not (laptop.path / "big.bin").exists()


def test_a_pod_reads_no_more_of_a_dep_than_its_job_record_gives(
        repo: Repo, tmp_path: Path) -> None:
    repo.gen({"data/in.txt": "hello\n"})
    fingerprint, digest = staged_for_a_pod(repo, tmp_path, {
        "cmd": "cat data/in.txt > out.txt", "deps": ["data/in.txt"], "outs": ["out.txt"]})
    dep = tmp_path / "store" / object_key("xxh3:" + xxhash.xxh3_128_hexdigest(b"hello\n"))
    dep.chmod(0o644)
    with open(dep, "r+b") as handle:
        handle.truncate(1 << 30)  # a sparse GiB planted under the dep's name
    workdir = tmp_path / "pod"
    workdir.mkdir()
    before = snapshot(tmp_path, skip=(".git", "store"))
    done = subprocess.run([sys.executable, "-m", "gitpipe", "exec", "make", "--fingerprint",
                           fingerprint, "--remote", str(tmp_path / "store"), "--record-digest",
                           digest], cwd=workdir, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "holds more than the 6 bytes its record gives; gitpipe stopped reading at 7 " \
        "bytes" in done.stderr, done.stderr
    assert not (workdir / "out.txt").exists()
    assert_only_changed(before, snapshot(tmp_path, skip=(".git", "store")),
                        ["pod/.gitpipe-exec", "repo/.gitpipe"])


@pytest.mark.s3
def test_ranges_and_packs_come_right_from_a_server_ignoring_range(
        make_repo, tmp_path: Path, range_dropper: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A pack is read by ranges past its first byte: an answer from byte 0 is
    # read up to the range and the bytes before it thrown away.
    from tests.security.test_packs import FILES, GEN

    store = _new_bucket(_use_s3(monkeypatch, range_dropper.url, "testing"))
    origin = make_repo("origin")
    origin.gen({"gen.py": GEN})
    origin.spec({"make": {"cmd": "python gen.py", "deps": ["gen.py"], "outs": ["data/"]}})
    laptop = origin.pushed_clone(tmp_path / "laptop", store)  # type: ignore[arg-type]
    remote = laptop.project().remote()
    remote.put_bytes("packs/probe", bytes(range(256)))
    assert remote.read_range("packs/probe", 100, 110) == bytes(range(100, 110))
    done = laptop.run("pull", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    for i in range(FILES):
        assert (laptop.path / f"data/f{i:04d}.txt").read_text() == f"{i} " * (i + 1)
