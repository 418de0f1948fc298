"""Against a real `customization-vault serve` (uvicorn) on 127.0.0.1: first-start demo keys, then the
README's session — create, upload, fetch, fulfil, receipt — over a real socket; and the clients the
issue found it defenceless against: huge headers and headers sent a line at a time."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import png_bytes
from tests.processes import free_port, stop, wait_healthy
from tests.vault.intake_samples import CANARY

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Path, Path]]:
    """`serve` in a child process; a test may add options (`indirect` parametrisation)."""
    extra: list[str] = getattr(request, "param", [])
    port = free_port()
    data_dir = tmp_path / "var"
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    env = {
        **os.environ,
        "CV_ENVIRONMENT": "development",
        "CV_BOOTSTRAP_DEMO": "true",
        # The engines have their own suites; loading every list would only slow this start-up test.
        "CV_SCREENING__ENABLED": "false",
        "CV_RETENTION__WORKER_IN_PROCESS": "true",
        # Short, so the slow-client tests below wait one second, not ten.
        "CV_SERVER__HEADER_TIMEOUT_SECONDS": "1",
    }
    cmd = [sys.executable, "-c", "from api.cli import main; main()", "serve", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--data-dir", str(data_dir), *extra]
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(cmd, stdout=o, stderr=e, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, base, err, within=90)
        yield base, data_dir, out
    finally:
        stop(proc, grace=20)
    assert CANARY.decode() not in err.read_text(errors="replace")
    assert CANARY.decode() not in out.read_text(errors="replace")


def test_serve_bootstraps_demo_keys_and_runs_an_order_end_to_end(server: tuple[str, Path, Path]) -> None:
    base, data_dir, out = server
    keys_file = data_dir / "demo-keys.txt"
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    keys = dict(
        line.removeprefix("export ").split("=", 1)
        for line in keys_file.read_text().splitlines()
        if line.startswith("export ")
    )
    # stdout is a file here, as under a log collector: the keys stay in the 0600 file.
    logs = out.read_text() + out.with_name("stderr.txt").read_text()
    assert keys["CV_KEY"] not in logs
    assert keys["CV_ADMIN_KEY"] not in logs
    assert str(keys_file) in logs  # where to find them instead
    # Start-up ends with the banner: the URL, the docs, where the keys are, how to get a reviewer's.
    banner = out.read_text().rstrip().splitlines()[-5:]
    assert banner[0] == f"customization-vault is serving {base}"
    assert banner[1] == f"  API docs   {base}/docs"
    assert str(keys_file) in banner[2]
    assert "--role reviewer" in banner[3]
    assert banner[4] == f"  workbench  {base}/review/"
    sign_in = httpx.get(f"{base}/review/", headers={"Accept": "text/html"}, timeout=30)
    assert (sign_in.status_code, sign_in.headers["location"]) == (303, "/review/sign-in?next=%2Freview%2F")
    h = {"Authorization": f"Bearer {keys['CV_KEY']}"}
    with httpx.Client(base_url=base, timeout=30) as c:
        assert c.put("/v1/orders/A-1", headers=h).status_code == 201
        photo = png_bytes((120, 80), "purple")
        r = c.post("/v1/orders/A-1/items", headers=h, files={"file": ("p.png", photo, "image/png")})
        assert r.status_code == 201, r.text
        url = r.json()["content_url"]
        t = c.post("/v1/orders/A-1/items", headers=h, json={"kind": "text", "text": f"For {CANARY.decode()}"})
        assert t.status_code == 201
        got = c.get(url, headers=h)
        assert got.status_code == 200
        assert got.content == photo
        admin = {"Authorization": f"Bearer {keys['CV_ADMIN_KEY']}"}
        assert c.get(url, headers=admin).status_code == 403
        f = c.post("/v1/orders/A-1/fulfilment", headers=h)
        assert f.status_code == 200
        assert c.get(url, headers=h).status_code == 410
        receipt = c.get(f.headers["location"], headers=h)
        assert receipt.status_code == 200, receipt.text
        assert receipt.json()["body"]["order"]["external_id"] == "A-1"
        ready = c.get("/readyz").json()
        assert ready["status"] == "ok"
        assert ready["screening"] == {kind: {"state": "disabled"} for kind in ("text", "image", "font")}
        assert "cv_http_requests_total" in c.get("/metrics").text


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def _closed_or_status(sock: socket.socket) -> int | None:
    """The status the server answered before closing, or None if it just closed."""
    data = bytearray()
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return int(data.split(b" ", 2)[1]) if data else None


def test_a_100_kb_header_is_refused(server: tuple[str, Path, Path]) -> None:
    with socket.create_connection(("127.0.0.1", _port(server[0])), timeout=30) as sock:
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: api\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed before the whole header was even sent: refused
        assert _closed_or_status(sock) in (None, 400, 431)


def _drip(sock: socket.socket, lines: int) -> int:
    """Send one header line every 0.2 s (the recv timeout paces it); the number sent before the server
    closed the connection, or `lines` if it never did."""
    sock.settimeout(0.2)
    for sent in range(lines):
        try:
            if sock.recv(1) == b"":
                return sent
        except TimeoutError:
            pass
        except ConnectionResetError:
            return sent
        try:
            sock.sendall(f"X-Drip-{sent}: v\r\n".encode())
        except (BrokenPipeError, ConnectionResetError):
            return sent
    return lines


def test_headers_sent_a_line_at_a_time_are_cut_off(server: tuple[str, Path, Path]) -> None:
    """The header deadline is 1 s here; the drip would last 10 s."""
    with socket.create_connection(("127.0.0.1", _port(server[0])), timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: api\r\n")
        assert _drip(sock, 50) < 50


def test_a_kept_alive_connection_dripping_its_next_request_is_cut_off(server: tuple[str, Path, Path]) -> None:
    """uvicorn's keep-alive timer restarts on every byte: a line every 0.2 s kept the connection forever."""
    with socket.create_connection(("127.0.0.1", _port(server[0])), timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: api\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        assert head.startswith(b"HTTP/1.1 200")
        length = int(
            next(
                v
                for k, _, v in (h.partition(b":") for h in head.split(b"\r\n"))
                if k.lower() == b"content-length"
            )
        )
        body = b""
        while len(body) < length:
            body += sock.recv(length - len(body))
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        assert _drip(sock, 50) < 50


@pytest.mark.parametrize(("size", "refused"), [(20_000, False), (40_000, True)])
def test_the_header_limit_counts_a_head_sent_in_pieces(
    server: tuple[str, Path, Path], size: int, refused: bool
) -> None:
    """32 KiB of request line and headers are accepted, whether they arrive at once or in pieces."""
    head = b"GET /healthz HTTP/1.1\r\nHost: api\r\nX-Big: " + b"a" * size + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", _port(server[0])), timeout=30) as sock:
        try:
            for i in range(0, len(head), 1000):
                sock.sendall(head[i : i + 1000])
        except (BrokenPipeError, ConnectionResetError):
            assert refused
        status = _closed_or_status(sock) if refused else int(sock.recv(64).split(b" ", 2)[1])
    assert status in ((None, 400, 431) if refused else (200,))


@pytest.mark.parametrize("server", [["--workers", "2"]], indirect=True)
def test_every_worker_process_of_serve_runs_the_guarded_edge(server: tuple[str, Path, Path]) -> None:
    """`serve --workers N` starts its processes from an import string: each must still refuse a huge
    head and cut off a dripping one (several connections, so both processes are likely asked)."""
    port = _port(server[0])
    for _ in range(4):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: api\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            assert _closed_or_status(sock) in (None, 400, 431)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: api\r\n")
            assert _drip(sock, 50) < 50
