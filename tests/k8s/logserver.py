"""The kubelet's log endpoint, enough for `read_namespaced_pod_log` through the API server.

The 1.20 API server proxies ``pods/log`` to ``https://<node InternalIP>:<kubeletEndpoint.Port>
/containerLogs/{namespace}/{pod}/{container}`` with the query parameters follow, tailLines,
timestamps, sinceSeconds, sinceTime, limitBytes and previous; it verifies the serving certificate
against ``--kubelet-certificate-authority``, so the agent serves a certificate from that CA.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from tests.k8s.podrun import LogRecord, PodRun, read_log

Lookup = Callable[[str, str], "PodRun | None"]


def _parse_time(text: str) -> float:
    text = text.rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
        fmt = "%Y-%m-%dT%H:%M:%S.%f"
    else:
        fmt = "%Y-%m-%dT%H:%M:%S"
    return dt.datetime.strptime(text, fmt).replace(tzinfo=dt.timezone.utc).timestamp()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # close-delimited body: simplest for endless follow streams

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _error(self, code: int, message: str) -> None:
        body = message.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        if parts == ["healthz"]:
            return self._error(200, "ok")
        if len(parts) != 4 or parts[0] != "containerLogs":
            return self._error(404, "404 page not found")
        _, namespace, pod, container = parts
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        run = self.server.lookup(namespace, pod)
        where = f'container "{container}" in pod "{pod}"'
        if run is not None and container != run.container:
            return self._error(404, f'container "{container}" not found in pod "{pod}"')
        if q.get("previous") == "true":
            return self._error(400, f"previous terminated {where} not found")
        # The apiserver only proxies for pods bound to this node: unknown means not started yet.
        if run is None or run.state == "waiting":
            return self._error(400, f"{where} is waiting to start: ContainerCreating")
        with contextlib.suppress(OSError):  # the client went away
            self._stream(run, q)

    def _stream(self, run: PodRun, q: dict[str, str]) -> None:
        follow = q.get("follow") == "true"
        stamps = q.get("timestamps") == "true"
        tail = int(q["tailLines"]) if "tailLines" in q else None
        limit = int(q["limitBytes"]) if "limitBytes" in q else None
        since = None
        if "sinceSeconds" in q:
            since = time.time() - int(q["sinceSeconds"])
        elif "sinceTime" in q:
            since = _parse_time(q["sinceTime"])
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        sent = 0

        def emit(records: list[LogRecord]) -> bool:
            nonlocal sent
            out = bytearray()
            for r in records:
                if since is not None and _parse_time(r.time) < since:
                    continue
                if stamps:
                    out += r.time.encode() + b" "
                out += r.content + (b"" if r.partial else b"\n")
            if limit is not None:
                out = out[: max(0, limit - sent)]
            if out:
                self.wfile.write(bytes(out))
                self.wfile.flush()
                sent += len(out)
            return limit is not None and sent >= limit

        records, offset = read_log(run.log_path)
        if tail is not None:
            records = records[-tail:] if tail > 0 else []
        if emit(records) or not follow:
            return
        while not self.server.stopping.is_set():
            finished = run.done.is_set()
            records, offset = read_log(run.log_path, offset)
            if emit(records) or (finished and not records):
                return
            time.sleep(0.1)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    lookup: Lookup
    stopping: threading.Event


class LogServer:
    """HTTPS on 127.0.0.1 (a free port unless given) in a daemon thread."""

    def __init__(self, lookup: Lookup, cert: Path, key: Path, port: int = 0) -> None:
        self.httpd = _Server(("127.0.0.1", port), _Handler)
        self.httpd.lookup = lookup
        self.httpd.stopping = threading.Event()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True,
                                            do_handshake_on_connect=False)
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.2}, name="kubelet-logs")

    def start(self) -> LogServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
