"""One seller can not stall another's uploads: connections that send headers and stop hold no work
slot, only their own seller's share, and answer 408 at the body deadline — against a real uvicorn
server and raw sockets, as the issue found it (4 such connections blocked every seller's uploads)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.wiring import build_services
from tests.api.conftest import Keys, make_keys, png_bytes, word_screener
from tests.api.live import live_server, open_request, plain_config, read_status
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

BOUNDARY = "b0undary"


def _stalled_upload(port: int, key: str, order: str) -> socket.socket:
    """A multipart upload whose headers and first bytes arrive, and then nothing."""
    head = (
        f"POST /v1/orders/{order}/items HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 100000"
    )
    return open_request(port, head, f"--{BOUNDARY}\r\n".encode())


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Keys]]:
    settings = make_settings(
        tmp_path / "var", limits={"max_concurrent_uploads": 2}, server={"body_timeout_seconds": 1.5}
    )
    svc = build_services(settings)
    svc.screener = word_screener()
    keys = make_keys(svc)
    try:
        with live_server(plain_config(create_app(settings, svc))) as port:
            yield f"http://127.0.0.1:{port}", keys
    finally:
        svc.close()


def test_stalled_uploads_of_one_seller_leave_another_sellers_upload_alone(served: tuple[str, Keys]) -> None:
    base, keys = served
    port = int(base.rsplit(":", 1)[1])
    with httpx.Client(base_url=base, timeout=30) as c:  # a bound on waiting, not a speed claim
        for who in (keys.a, keys.b):
            assert c.put("/v1/orders/F-1", headers=who).status_code == 201
        stalled = [_stalled_upload(port, keys.seller_a, "F-1") for _ in range(4)]  # 2x the work slots
        try:
            photo = png_bytes((40, 30), "green")
            r = c.post("/v1/orders/F-1/items", headers=keys.b, files={"file": ("p.png", photo, "image/png")})
            assert r.status_code == 201, r.text
            for sock in stalled:
                status, answer = read_status(sock)
                assert status == 408
                assert b'"code":"request_timeout"' in answer
        finally:
            for sock in stalled:
                sock.close()
        # The stalling seller's own uploads work again once its connections are gone.
        again = c.post("/v1/orders/F-1/items", headers=keys.a, files={"file": ("p.png", photo, "image/png")})
        assert again.status_code == 201, again.text


def test_a_stalled_json_body_answers_408_too(served: tuple[str, Keys]) -> None:
    base, keys = served
    port = int(base.rsplit(":", 1)[1])
    httpx.put(base + "/v1/orders/J-1", headers=keys.a, timeout=30)
    for path in ("/v1/orders/J-1/items", "/v1/review/claims"):
        key = keys.seller_a if "orders" in path else keys.reviewer
        head = (
            f"POST {path} HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\nContent-Length: 500"
        )
        sock = open_request(port, head, b'{"kind": "te')
        try:
            status, answer = read_status(sock)
        finally:
            sock.close()
        assert status == 408, answer


def test_the_gate_gives_each_seller_half_the_slots_and_forgets_idle_sellers() -> None:
    import anyio

    from api.uploads import UploadGate

    async def scenario() -> None:
        gate = UploadGate(4)
        assert gate.per_seller == 2
        holding = anyio.Event()
        release = anyio.Event()
        entered: list[str] = []

        async def upload(seller: str) -> None:
            async with gate.seller(seller):
                entered.append(seller)
                if len(entered) == 3:
                    holding.set()
                await release.wait()

        async with anyio.create_task_group() as tg:
            for seller in ("a", "a", "a", "b"):
                tg.start_soon(upload, seller)
            await holding.wait()
            await anyio.sleep(0)  # give the third "a" every chance to enter: it must not
            assert sorted(entered) == ["a", "a", "b"]
            assert gate.sellers_in_flight == 2
            release.set()
        assert sorted(entered) == ["a", "a", "a", "b"]
        assert gate.sellers_in_flight == 0
        assert UploadGate(1).per_seller == 1

    anyio.run(scenario)
