"""A real Kubernetes 1.20 control plane on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager.

The binaries come from the cache that `scripts/k8s-testbed.sh build` fills
(``$GITPIPE_K8S_CACHE``, default ``~/.cache/gitpipe-test/k8s-1.20.2``). Everything binds
127.0.0.1 on free ports; certificates, keys, the token file and a kubeconfig are made fresh
in ``workdir``. There is no kubelet and no scheduler: see ``node_agent.NodeAgent``.

    with ControlPlane(workdir=tmp) as cp:
        kubernetes.config.load_kube_config(str(cp.kubeconfig))
"""

from __future__ import annotations

import base64
import ctypes
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import yaml

SCRIPT = "scripts/k8s-testbed.sh"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")
TOKEN = "gitpipe-test-admin-token"
# TTLAfterFinished is alpha in 1.20: without the gate ttlSecondsAfterFinished is silently dropped.
FEATURE_GATES = "TTLAfterFinished=true"
SERVICE_CIDR = "10.0.0.0/24"  # a config value only: nothing binds or contacts it


class BinariesMissing(RuntimeError):
    """The control-plane binaries are not built yet."""


class ControlPlaneError(RuntimeError):
    """A component failed to start or become ready."""


def default_cache_dir() -> Path:
    env = os.environ.get("GITPIPE_K8S_CACHE")
    return Path(env) if env else Path.home() / ".cache/gitpipe-test/k8s-1.20.2"


def find_binaries(cache_dir: Path | None = None) -> dict[str, Path]:
    """Paths of etcd, kube-apiserver, kube-controller-manager; BinariesMissing if not built."""
    bindir = (cache_dir or default_cache_dir()) / "bin"
    found = {name: bindir / name for name in BINARIES}
    missing = [n for n, p in found.items() if not os.access(p, os.X_OK)]
    if missing or not (bindir / ".complete").exists():
        raise BinariesMissing(
            f"Kubernetes test binaries not built in {bindir} "
            f"(missing: {', '.join(missing) or 'stamp'}); "
            f"run `bash {SCRIPT} build` (about 7-10 min the first time, cached afterwards)")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child: SIGKILL when the process (thread) that started us dies, so a killed test
    run leaves no apiserver behind. The new session keeps terminal signals away."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class Certs:
    """A throwaway CA plus leaf certificates for 127.0.0.1, made with the openssl CLI."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_cert, self.ca_key = directory / "ca.crt", directory / "ca.key"
        _openssl("req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-keyout", "ca.key", "-out", "ca.crt",
                 "-days", "3650", "-subj", "/CN=gitpipe-test-ca", cwd=directory)

    def issue(self, name: str, dns: tuple[str, ...] = ()) -> tuple[Path, Path]:
        """A server+client certificate for IP 127.0.0.1 (and `dns`), signed by the CA."""
        sans = ",".join(["IP:127.0.0.1", "DNS:localhost", *(f"DNS:{d}" for d in dns)])
        (self.dir / f"{name}.ext").write_text(
            f"subjectAltName={sans}\nbasicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth,clientAuth\n")
        _openssl("req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=self.dir)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "3650", "-out", f"{name}.crt",
                 "-extfile", f"{name}.ext", cwd=self.dir)
        return self.dir / f"{name}.crt", self.dir / f"{name}.key"

    def rsa_keypair(self, name: str) -> tuple[Path, Path]:
        """(private, public) RSA key files, e.g. for service-account tokens."""
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                 "-out", f"{name}.key", cwd=self.dir)
        _openssl("pkey", "-in", f"{name}.key", "-pubout", "-out", f"{name}.pub", cwd=self.dir)
        return self.dir / f"{name}.key", self.dir / f"{name}.pub"


class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager as process groups on 127.0.0.1.

    After ``start()``: ``kubeconfig`` (static bearer token, CA data), ``server`` URL,
    ``token``, ``certs`` (``kubelet_cert``/``kubelet_key`` are signed by the CA the apiserver
    trusts for kubelets, so a node agent can serve pod logs), and ``timings`` in seconds.
    """

    def __init__(self, cache_dir: Path | None = None, workdir: Path | None = None, *,
                 ready_timeout: float = 60.0) -> None:
        if workdir is None:
            raise ValueError("workdir is required")
        self.bins = find_binaries(cache_dir)
        self.workdir = Path(workdir)
        self.ready_timeout = ready_timeout
        self.token = TOKEN
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.timings: dict[str, float] = {}
        self.kubeconfig = self.workdir / "kubeconfig.yaml"
        self.api_port = 0
        self.server = ""

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> ControlPlane:
        t0 = time.monotonic()
        try:
            self._prepare()
            self.timings["prepare"] = time.monotonic() - t0
            self._start_etcd()
            self.timings["etcd_ready"] = time.monotonic() - t0
            self._start_apiserver()
            self.timings["apiserver_ready"] = time.monotonic() - t0
            self._start_controller_manager()
            self.timings["total"] = time.monotonic() - t0
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop components in reverse order: SIGTERM to each process group, SIGKILL after 10 s."""
        for name in reversed(list(self.procs)):
            proc = self.procs.pop(name)
            if proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            except ProcessLookupError:
                pass

    # -- pieces ----------------------------------------------------------------------------
    def _prepare(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.certs = Certs(self.workdir / "pki")
        self.apiserver_cert, self.apiserver_key = self.certs.issue(
            "apiserver", ("kubernetes", "kubernetes.default", "kubernetes.default.svc"))
        self.kubelet_cert, self.kubelet_key = self.certs.issue("kubelet")
        self.sa_key, self.sa_pub = self.certs.rsa_keypair("sa")
        self.token_file = self.workdir / "tokens.csv"
        self.token_file.write_text(f'{self.token},admin,admin-uid,"system:masters"\n')
        self.api_port = free_port()
        self.server = f"https://127.0.0.1:{self.api_port}"
        self._write_kubeconfig()

    def _write_kubeconfig(self) -> None:
        ca = base64.b64encode(self.certs.ca_cert.read_bytes()).decode()
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "gitpipe-test",
            "clusters": [{"name": "gitpipe-test",
                          "cluster": {"server": self.server, "certificate-authority-data": ca}}],
            "users": [{"name": "gitpipe-test-admin", "user": {"token": self.token}}],
            "contexts": [{"name": "gitpipe-test", "context": {
                "cluster": "gitpipe-test", "user": "gitpipe-test-admin", "namespace": "default"}}],
        }
        self.kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            proc = subprocess.Popen([str(self.bins.get(name, name)), *args], stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=self.workdir, start_new_session=True,
                                    preexec_fn=_die_with_parent)
        finally:
            log.close()
        self.procs[name] = proc
        return proc

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _wait(self, name: str, check: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise ControlPlaneError(
                    f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")
            try:
                if check():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise ControlPlaneError(f"{name} not ready after {timeout:.0f} s:\n{self.log_tail(name)}")

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        self._spawn("etcd", [
            "--name", "gitpipe-test", "--data-dir", str(self.workdir / "etcd-data"),
            "--listen-client-urls", self.etcd_url, "--advertise-client-urls", self.etcd_url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"gitpipe-test=http://127.0.0.1:{peer}",
            "--log-level", "warn", "--logger", "zap",
        ])
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        def healthy() -> bool:
            with opener.open(f"{self.etcd_url}/health", timeout=2) as resp:
                return bool(json.loads(resp.read()).get("health") == "true")
        self._wait("etcd", healthy, self.ready_timeout)

    def _start_apiserver(self) -> None:
        cert_dir = self.workdir / "apiserver-certs"
        cert_dir.mkdir(exist_ok=True)
        self._spawn("kube-apiserver", [
            "--etcd-servers", self.etcd_url,
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={self.api_port}", "--insecure-port=0",
            f"--cert-dir={cert_dir}", f"--tls-cert-file={self.apiserver_cert}",
            f"--tls-private-key-file={self.apiserver_key}",
            f"--client-ca-file={self.certs.ca_cert}",
            f"--token-auth-file={self.token_file}", "--authorization-mode=AlwaysAllow",
            f"--service-account-key-file={self.sa_pub}",
            f"--service-account-signing-key-file={self.sa_key}",
            "--service-account-issuer=https://kubernetes.default.svc",
            "--disable-admission-plugins=ServiceAccount",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--endpoint-reconciler-type=none",  # Endpoints reject a loopback IP
            f"--kubelet-certificate-authority={self.certs.ca_cert}",
            f"--kubelet-client-certificate={self.kubelet_cert}",
            f"--kubelet-client-key={self.kubelet_key}",
            "--kubelet-preferred-address-types=InternalIP",
            f"--feature-gates={FEATURE_GATES}",
            "--profiling=false", "--v=1",
        ])
        ctx = ssl.create_default_context(cafile=str(self.certs.ca_cert))
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=ctx))

        def ready() -> bool:
            req = urllib.request.Request(f"{self.server}/readyz",
                                         headers={"Authorization": f"Bearer {self.token}"})
            try:
                with opener.open(req, timeout=2) as resp:
                    return bool(resp.status == 200)
            except urllib.error.HTTPError:
                return False
        self._wait("kube-apiserver", ready, self.ready_timeout)

    def _start_controller_manager(self) -> None:
        self._spawn("kube-controller-manager", [
            f"--kubeconfig={self.kubeconfig}",
            "--controllers=job,garbagecollector,ttl-after-finished",
            "--leader-elect=false", "--port=0", "--secure-port=0",
            "--bind-address=127.0.0.1", "--use-service-account-credentials=false",
            f"--feature-gates={FEATURE_GATES}", "--profiling=false", "--v=1",
        ])
        time.sleep(0.5)
        proc = self.procs["kube-controller-manager"]
        if proc.poll() is not None:
            raise ControlPlaneError(
                f"kube-controller-manager exited with {proc.returncode}:\n"
                f"{self.log_tail('kube-controller-manager')}")
