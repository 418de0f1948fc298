"""The app under a real uvicorn server in a thread, and raw-socket clients that misbehave on purpose."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.processes import free_port


@contextmanager
def live_server(config: uvicorn.Config) -> Iterator[int]:
    """Serve `config` (its port set by the caller) until the block ends; yields the port."""
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a bound on waiting for start-up, not a speed claim
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield config.port
    finally:
        server.should_exit = True
        thread.join(30)


def plain_config(app: Any) -> uvicorn.Config:
    return uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="on")


def open_request(port: int, head: str, body: bytes = b"") -> socket.socket:
    """A connection that sent `head` (request line and headers) and `body`, then says nothing more."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
    return sock


def read_status(sock: socket.socket) -> tuple[int, bytes]:
    """(status, whole answer) of the response on `sock`, reading until the server closes it."""
    data = bytearray()
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    line = bytes(data).split(b"\r\n", 1)[0]
    return int(line.split()[1]), bytes(data)
