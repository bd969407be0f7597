"""A loopback TCP proxy that misbehaves on purpose: it answers 503, drops
connections mid-transfer, or delays, for the first N connections, then forwards."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class FaultProxy:
    target: tuple[str, int]
    mode: str = "pass"           # pass | 503 | drop | delay
    faults: int = 0              # how many connections misbehave
    delay: float = 0.5
    seen: int = 0
    faulted: int = 0
    _server: socket.socket = field(init=False, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def start(self) -> str:
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self._server.settimeout(0.2)
        threading.Thread(target=self._accept, daemon=True).start()
        host, port = self._server.getsockname()
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._stop.set()
        self._server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            self.seen += 1
            misbehave = self.faulted < self.faults and self.mode != "pass"
            if misbehave:
                self.faulted += 1
            threading.Thread(target=self._serve, args=(client, misbehave), daemon=True).start()

    def _serve(self, client: socket.socket, misbehave: bool) -> None:
        if misbehave and self.mode == "503":
            client.recv(65536)
            body = b"<Error><Code>SlowDown</Code><Message>try again</Message></Error>"
            client.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: "
                           + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
            client.close()
            return
        if misbehave and self.mode == "delay":
            time.sleep(self.delay)
        upstream = socket.create_connection(self.target)
        cut = 200 if misbehave and self.mode == "drop" else None
        threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
        self._pipe(upstream, client, cut)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket, cut: int | None) -> None:
        sent = 0
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if cut is not None and sent + len(data) > cut:
                    sink.sendall(data[: max(0, cut - sent)])
                    break
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
