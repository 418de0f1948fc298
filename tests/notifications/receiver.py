"""A real HTTP receiver for webhook tests: a stdlib server on 127.0.0.1 (random port) in a thread.

It records every request, answers from a script of statuses (then 200), and can hold a request open
until released, which is how the crash tests catch a deliverer in the middle of a send.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from customization_vault.notifications import verify

HOLD_BOUND_SECONDS = 60  # a held request is answered after this at the latest (never a test's wait)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def verifies(self, secret: str, now: float) -> bool:
        return verify(secret, self.headers.get("Signature", ""), self.body, now=now)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A killed client leaves a broken pipe behind a held request: expected here, not news."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        status = self.server.receiver._record(Received("POST", self.path, dict(self.headers.items()), body))
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", self.server.receiver.url + "/moved")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self.server.receiver._record(Received("GET", self.path, dict(self.headers.items()), b""))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest output is for failures."""


class Receiver:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: list[Received] = []
        self.script: list[int] = []  # statuses to answer, in order; 200 once it runs out
        self.arrived = threading.Event()  # set by every request
        self.release = threading.Event()  # a held request waits for this
        self.hold = False
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _record(self, request: Received) -> int:
        with self._lock:
            self.requests.append(request)
            status = self.script.pop(0) if self.script else 200
            hold = self.hold
        self.arrived.set()
        if hold:
            self.release.wait(HOLD_BOUND_SECONDS)
        return status

    @property
    def posts(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST"]

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    try:
        yield receiver
    finally:
        receiver.close()
