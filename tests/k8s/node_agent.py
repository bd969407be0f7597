"""A tiny stand-in for scheduler + kubelet, for the loopback control plane of the tests.

``NodeAgent(kubeconfig, workdir, tls=(cert, key)).start()`` registers a Ready Node, binds every
unscheduled pod to it, runs each pod's first container ``command`` + ``args`` as a local process
group in an empty directory (env from the container spec: literal values, secretKeyRef,
configMapKeyRef, fieldRef, envFrom), enforces ``resources.limits.memory`` (OOMKilled, exit 137),
reports phases and container states through ``pods/status``, honours deletion (kill, then delete
with grace 0) and serves ``pods/log`` over HTTPS. Images are never pulled. Failure injection:
``inject_oom``, ``inject_eviction``, ``inject_image_pull_error``, ``stop_reporting``, ``reset``.
"""

from __future__ import annotations

import logging
import os
import platform
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes.client.exceptions import ApiException

from tests.k8s.kubeapi import JSON, MERGE, KubeApi, gone
from tests.k8s.logserver import LogServer
from tests.k8s.podenv import ConfigError, resolve_env
from tests.k8s.podrun import PodRun, expand, mount_message_file, now_rfc3339, parse_quantity

log = logging.getLogger("gitpipe.k8s.node_agent")
HEARTBEAT = 5.0
EVICTED = "The node was low on resource: memory. (injected)"


@dataclass
class Injection:
    kind: str  # oom | evict | image
    match: str  # substring of the pod name (image name for kind "image")
    times: int = 1
    after: float = 0.5  # seconds after the start before the kill


class NodeAgent:
    """One fake node: bind, run, report, log. Thread-based; ``start()`` / ``stop()``."""

    def __init__(self, kubeconfig: Path, workdir: Path, tls: tuple[Path, Path] | None = None,
                 node_name: str = "gitpipe-node", path: list[str] | None = None) -> None:
        self.kubeconfig, self.workdir = Path(kubeconfig), Path(workdir)
        self.node_name = node_name
        if tls is None:
            raise ValueError("tls=(cert, key) signed by the apiserver's kubelet CA is required")
        # Pods get the test interpreter's bin dir first, like an image with gitpipe installed.
        self.path = path or [str(Path(sys.executable).parent),
                             *os.environ.get("PATH", "").split(":")]
        # ...and that gitpipe is the one under test, also from a worktree on PYTHONPATH.
        self.image_env = {k: os.environ[k] for k in ("PYTHONPATH",) if os.environ.get(k)}
        self.runs: dict[str, PodRun] = {}  # by pod uid
        self._by_name: dict[tuple[str, str], PodRun] = {}
        self._terminating: set[str] = set()
        self._injections: list[Injection] = []
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._reporting = threading.Event()
        self._reporting.set()
        self._threads: list[threading.Thread] = []
        self.api = KubeApi(self.kubeconfig)
        self.logs = LogServer(self._lookup, *tls)

    # -- public ----------------------------------------------------------------------------
    def start(self) -> NodeAgent:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.logs.start()
        self._register()
        for target in (self._watch_loop, self._heartbeat_loop):
            t = threading.Thread(target=target, daemon=True, name=f"agent-{target.__name__}")
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            runs = list(self.runs.values())
        for run in runs:
            run.cancelled.set()
            run.kill()
        self.logs.stop()
        for t in self._threads:
            t.join(timeout=2)
        self.api.close()

    def __enter__(self) -> NodeAgent:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def inject_oom(self, pod_name_substring: str, times: int = 1, after: float = 0.5) -> None:
        """The next `times` pods whose name contains the substring end OOMKilled (exit 137)."""
        self._inject(Injection("oom", pod_name_substring, times, after))

    def inject_eviction(self, pod_name_substring: str, times: int = 1, after: float = 0.5) -> None:
        """The next matching pods are evicted: phase Failed, status.reason 'Evicted'."""
        self._inject(Injection("evict", pod_name_substring, times, after))

    def inject_image_pull_error(self, image_substring: str, times: int = 1) -> None:
        """Matching pods stay Pending with container waiting reason 'ErrImagePull'."""
        self._inject(Injection("image", image_substring, times))

    def stop_reporting(self, kill_processes: bool = True) -> None:
        """A dead node: no heartbeats, no binding, no status updates, no deletions."""
        self._reporting.clear()
        if kill_processes:
            with self._lock:
                runs = list(self.runs.values())
            for run in runs:
                run.kill()

    def reset(self) -> None:
        """Back to a healthy node: clear injections, resume reporting (and catch up)."""
        with self._lock:
            self._injections.clear()
        self._reporting.set()
        self._resync()

    def find(self, pod_name_substring: str = "", namespace: str | None = None,
             running: bool = False) -> list[PodRun]:
        """Runs (this session's, oldest first) whose pod name contains the substring."""
        with self._lock:
            return [r for r in self.runs.values() if pod_name_substring in r.name
                    and namespace in (None, r.namespace) and (not running or r.state == "running")]

    def wait_running(self, pod_name_substring: str, timeout: float = 30.0,
                     namespace: str | None = None) -> PodRun:
        """A run whose pod name contains the substring and whose process is running now."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.find(pod_name_substring, namespace, running=True)
            if found:
                return found[0]
            time.sleep(0.05)
        raise TimeoutError(f"no pod matching {pod_name_substring!r} running within {timeout} s")

    # -- node ------------------------------------------------------------------------------
    def _register(self) -> None:
        n = self.node_name
        body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": n, "labels": {
            "kubernetes.io/hostname": n, "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64", "gitpipe.dev/test-node": "true"}}}
        try:
            self.api.request("POST", "/api/v1/nodes", body)
        except ApiException as exc:
            if exc.status != 409:
                raise
        # TaintNodesByCondition admission adds not-ready; no node-lifecycle controller removes it.
        self.api.patch(f"/api/v1/nodes/{n}", {"spec": {"taints": None}}, MERGE)
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        capacity = {"cpu": str(os.cpu_count() or 1), "memory": f"{mem // 1024}Ki", "pods": "110"}
        uname = platform.uname()
        self.api.patch(f"/api/v1/nodes/{n}/status", {"status": {
            "capacity": capacity, "allocatable": capacity,
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": n}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.logs.port}},
            "nodeInfo": {"machineID": "gitpipe-test", "systemUUID": "gitpipe-test",
                         "bootID": "gitpipe-test", "kernelVersion": uname.release,
                         "osImage": "gitpipe test node agent",
                         "containerRuntimeVersion": "gitpipe-agent://1",
                         "kubeletVersion": "v1.20.2", "kubeProxyVersion": "v1.20.2",
                         "operatingSystem": "linux", "architecture": "amd64"},
            "conditions": self._conditions()}})

    def _conditions(self) -> list[JSON]:
        ts = now_rfc3339()
        conds = [("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                 ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                 ("PIDPressure", "False", "KubeletHasSufficientPID"),
                 ("Ready", "True", "KubeletReady")]
        return [{"type": t, "status": s, "reason": r, "message": r, "lastHeartbeatTime": ts,
                 "lastTransitionTime": ts} for t, s, r in conds]

    def _heartbeat_loop(self) -> None:
        while not self._stopping.wait(HEARTBEAT):
            if not self._reporting.is_set():
                continue
            try:
                conds = [{k: v for k, v in c.items() if k != "lastTransitionTime"}
                         for c in self._conditions()]
                self.api.patch(f"/api/v1/nodes/{self.node_name}/status",
                               {"status": {"conditions": conds}})
                self._resync()
            except Exception:  # keep beating
                log.exception("heartbeat failed")

    # -- pods: watch -----------------------------------------------------------------------
    def _watch_loop(self) -> None:
        rv = ""
        while not self._stopping.is_set():
            try:
                if not rv:
                    rv = self._resync()
                for event in self.api.watch("/api/v1/pods", rv, timeout_seconds=10):
                    if self._stopping.is_set():
                        return
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        rv = ""  # 410 Gone (too old) or similar: relist
                        break
                    rv = obj.get("metadata", {}).get("resourceVersion", rv)
                    if event.get("type") != "BOOKMARK":
                        self._on_pod(event["type"], obj)
            except Exception:  # reconnect
                if not self._stopping.is_set():
                    log.exception("pod watch failed; reconnecting")
                    time.sleep(0.5)

    def _resync(self) -> str:
        """List all pods and act on each (the watch's safety net); returns the list's RV.

        Only a run known before the list was asked for can have vanished from
        it: one the watch started meanwhile is of a pod newer than the list.
        """
        with self._lock:
            known_before = set(self.runs)
        listing = self.api.get("/api/v1/pods")
        uids = set()
        for pod in listing.get("items", []):
            uids.add(pod["metadata"]["uid"])
            self._on_pod("SYNC", pod)
        with self._lock:
            vanished = [r for uid, r in self.runs.items()
                        if uid in known_before and uid not in uids]
        for run in vanished:
            run.cancelled.set()
            run.kill()
        for run in self.find():
            if run.done.is_set() and not run.reported.is_set() and self._reporting.is_set():
                self._report(run)
        return str(listing["metadata"]["resourceVersion"])

    def _on_pod(self, kind: str, pod: JSON) -> None:
        meta, spec = pod["metadata"], pod.get("spec", {})
        uid, node = meta["uid"], spec.get("nodeName")
        if kind == "DELETED":
            with self._lock:
                run = self.runs.get(uid)
            if run is not None:
                run.cancelled.set()
                run.kill()
            return
        if not self._reporting.is_set() or self._stopping.is_set():
            return
        if not node:
            if not meta.get("deletionTimestamp"):
                self._bind(meta["namespace"], meta["name"])
            return
        if node != self.node_name:
            return
        if meta.get("deletionTimestamp"):
            with self._lock:
                if uid in self._terminating:
                    return
                self._terminating.add(uid)
            self._spawn(self._terminate, pod)
            return
        with self._lock:
            known = uid in self.runs
        if not known and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed"):
            self._spawn(self._run_pod, pod)

    def _spawn(self, target: Any, pod: JSON) -> None:
        threading.Thread(target=target, args=(pod,), daemon=True,
                         name=f"{target.__name__}-{pod['metadata']['name']}").start()

    def _bind(self, namespace: str, name: str) -> None:
        body = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                "target": {"apiVersion": "v1", "kind": "Node", "name": self.node_name}}
        try:
            self.api.request("POST", f"/api/v1/namespaces/{namespace}/pods/{name}/binding", body)
        except ApiException as exc:
            if not gone(exc):
                log.warning("binding %s/%s failed: %s", namespace, name, exc)

    # -- pods: run -------------------------------------------------------------------------
    def _run_pod(self, pod: JSON) -> None:
        meta, spec = pod["metadata"], pod["spec"]
        ns, name, uid = meta["namespace"], meta["name"], meta["uid"]
        c = spec["containers"][0]
        limits = (c.get("resources") or {}).get("limits") or {}
        run = PodRun(ns, name, uid, c["name"], c.get("image", ""), self._pod_dir(meta),
                     mem_limit=parse_quantity(limits.get("memory")),
                     deadline=spec.get("activeDeadlineSeconds"))
        with self._lock:
            if uid in self.runs:
                return
            self.runs[uid] = run
            self._by_name[(ns, name)] = run
        if self._take("image", run.image):
            self._report(run, waiting=("ErrImagePull", f'image "{run.image}" not found (injected)'))
            return
        last_error = ""
        while True:
            try:
                base = {**self.image_env, "PATH": ":".join(self.path), "HOSTNAME": name,
                        "HOME": str(run.root)}
                env = resolve_env(pod, c, base, self._fetch, self.node_name)
                break
            except ConfigError as exc:
                if str(exc) != last_error:
                    last_error = str(exc)
                    self._report(run, waiting=("CreateContainerConfigError", last_error))
                if run.cancelled.wait(1.0) or self._stopping.is_set():
                    return
        argv = [expand(a, env) for a in (c.get("command") or []) + (c.get("args") or [])]
        argv, env = mount_message_file(c, run, argv, env)
        if run.cancelled.is_set():
            return
        try:
            if not argv:
                raise OSError("no command: the test node agent cannot run an image's entrypoint")
            run.start(argv, env)
        except OSError as exc:
            run.state, run.exit_code, run.reason = "terminated", 128, "ContainerCannotRun"
            run.finished_at = now_rfc3339()
            run.pod_message = str(exc)
            run.done.set()
            self._report(run)
            return
        self._report(run)
        self._apply_injections(run)
        run.wait()
        if not self._stopping.is_set():
            self._report(run)

    def _apply_injections(self, run: PodRun, delay: bool = True) -> None:
        for kind, args in (("oom", ("OOMKilled",)), ("evict", (None, "Evicted", EVICTED))):
            inj = self._take(kind, run.name)
            if inj is not None:
                timer = threading.Timer(inj.after if delay else 0.0, run.kill, args=args)
                timer.daemon = True
                timer.start()
                return

    def _inject(self, inj: Injection) -> None:
        with self._lock:
            self._injections.append(inj)
        for run in [] if inj.kind == "image" else self.find(inj.match):
            if run.state == "running":  # pods already running are hit too
                self._apply_injections(run, delay=False)

    def _take(self, kind: str, subject: str) -> Injection | None:
        with self._lock:
            for inj in self._injections:
                if inj.kind == kind and inj.match in subject and inj.times > 0:
                    inj.times -= 1
                    return inj
        return None

    def _fetch(self, namespace: str, kind: str, name: str) -> JSON | None:
        try:
            return self.api.get(f"/api/v1/namespaces/{namespace}/{kind}/{name}")
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    # -- pods: status, deletion, logs -----------------------------------------------------
    def _report(self, run: PodRun, waiting: tuple[str, str] | None = None) -> None:
        if not self._reporting.is_set():
            return
        status = run.pod_status(waiting)
        try:
            self.api.patch(f"/api/v1/namespaces/{run.namespace}/pods/{run.name}/status",
                           {"metadata": {"uid": run.uid}, "status": status})
        except ApiException as exc:
            if not gone(exc):
                log.warning("status of %s/%s: %s", run.namespace, run.name, exc)
        if run.state == "terminated":
            run.reported.set()

    def _terminate(self, pod: JSON) -> None:
        """Pod has a deletionTimestamp: SIGTERM, SIGKILL after the grace, report, delete."""
        meta = pod["metadata"]
        with self._lock:
            run = self.runs.get(meta["uid"])
        if run is not None:
            run.cancelled.set()
            grace = min(float(meta.get("deletionGracePeriodSeconds") or 0), 5.0)
            run.kill(sig=signal.SIGTERM, grace=grace)
            if run.pid:
                run.reported.wait(10)
        if not self._reporting.is_set():
            return
        try:
            path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
            self.api.request("DELETE", path,
                             {"gracePeriodSeconds": 0, "preconditions": {"uid": meta["uid"]}})
        except ApiException as exc:
            if not gone(exc):
                log.warning("deleting %s/%s: %s", meta["namespace"], meta["name"], exc)

    def _pod_dir(self, meta: JSON) -> Path:
        return self.workdir / "pods" / f"{meta['namespace']}_{meta['name']}_{meta['uid'][:8]}"

    def _lookup(self, namespace: str, name: str) -> PodRun | None:
        with self._lock:
            return self._by_name.get((namespace, name))
