"""The client against a real `customization-vault serve` (one per module, JSON logs at debug):
the documented integration, every error an integrator handles, a lost answer retried through a
proxy, the async client, and the server's log lines for all of it."""

from __future__ import annotations

import http.server
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from PIL import Image

from customization_vault_client import (
    AsyncClient,
    BadRequest,
    Client,
    Conflict,
    ContentGone,
    ContentHeld,
    ContentRefused,
    Forbidden,
    NotFound,
    ReceiptVerificationError,
    RetryPolicy,
    Unauthenticated,
    sign_webhook,
    verify_receipt,
)
from tests.conftest import make_settings
from tests.processes import wait_healthy
from tests.vault.intake_samples import CANARY

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
REVIEW_TERM = "zorblaxquim"  # made-up words only this test's list knows
BLOCK_TERM = "blorptangle"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    base: str
    seller_a: str
    seller_b: str
    admin: str
    stderr: Path

    def client(self, key: str | None = None, **kwargs: Any) -> Client:
        return Client(self.base, key or self.seller_a, **kwargs)

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stderr.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from api.wiring import build_services
    from customization_vault.apikeys import Role

    tmp = tmp_path_factory.mktemp("serve")
    data_dir = tmp / "var"
    terms = tmp / "terms.csv"
    terms.write_text(
        f"id,term,category,severity\n{REVIEW_TERM},{REVIEW_TERM},other,review\n"
        f"{BLOCK_TERM},{BLOCK_TERM},slur,block\n"
    )
    svc = build_services(make_settings(data_dir))
    try:
        a, _ = svc.api_keys.create(Role.FULFILMENT, seller_id=svc.vault.orders.ensure_seller("seller-a"))
        b, _ = svc.api_keys.create(Role.FULFILMENT, seller_id=svc.vault.orders.ensure_seller("seller-b"))
        admin, _ = svc.api_keys.create(Role.ADMIN)
    finally:
        svc.close()
    port = _free_port()
    env = {
        **os.environ,
        "CV_ENVIRONMENT": "test",
        "CV_BOOTSTRAP_DEMO": "false",
        "CV_SCREENING__TERMS_PATH": str(terms),
        "CV_SCREENING__OCR": "false",  # OCR has its own suites; loading its model only slows the start
        "CV_LOG_FORMAT": "json",
        "CV_LOG_LEVEL": "debug",
    }
    cmd = [sys.executable, "-c", "from api.cli import main; main()", "serve", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--data-dir", str(data_dir)]
    out, err = tmp / "stdout.txt", tmp / "stderr.txt"
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(cmd, stdout=o, stderr=e, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, base, err, within=120)
        yield Server(base, a, b, admin, err)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def noise_png(side: int = 700) -> bytes:
    """About 1.5 MB that compresses poorly: enough to stream in many chunks."""
    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buf, "PNG")
    return buf.getvalue()


def test_an_order_from_creation_to_a_verified_receipt(server: Server, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(noise_png())
    with server.client() as vault:
        order = vault.create_order("A-1001")
        assert (order.id, order.state, order.created) == ("A-1001", "open", True)
        assert not vault.create_order("A-1001").created

        item = vault.upload_file("A-1001", photo, idempotency_key="A-1001:photo")
        assert (item.kind, item.state, item.fetchable, item.replayed) == ("image", "clear", True, False)
        again = vault.upload_file("A-1001", photo, idempotency_key="A-1001:photo")
        assert (again.id, again.replayed) == (item.id, True)
        text = vault.upload_text("A-1001", f"For {CANARY.decode()}", idempotency_key="A-1001:text")
        with pytest.raises(Conflict) as reused:
            vault.upload_text("A-1001", "another text", idempotency_key="A-1001:text")
        assert reused.value.code == "state_conflict"

        got = vault.download("A-1001", item.id, tmp_path / "print" / "photo.png")
        assert got.path is not None
        assert got.path.read_bytes() == photo.read_bytes()
        assert (got.size, got.content_type) == (photo.stat().st_size, "image/png")
        sink = io.BytesIO()
        vault.download("A-1001", text.id, sink)
        assert sink.getvalue() == f"For {CANARY.decode()}".encode()

        detail = vault.get_order("A-1001")
        assert {i.id for i in detail.items} == {item.id, text.id}
        assert detail.receipt is None

        result = vault.fulfil("A-1001")
        assert result.purged
        assert result.order.state == "purged"
        assert vault.fulfil("A-1001").purged  # repeating is harmless
        receipt = vault.receipt("A-1001")
        assert vault.verify_receipt(receipt).body["order"]["external_id"] == "A-1001"
        pinned = vault.receipt_public_key()
        assert verify_receipt(receipt.raw, pinned) == receipt
        forged = {**receipt.raw, "body": {**receipt.body, "purged_at": "2000-01-01T00:00:00Z"}}
        with pytest.raises(ReceiptVerificationError):
            verify_receipt(forged, pinned)
        assert vault.get_order("A-1001").receipt == receipt

        with pytest.raises(ContentGone) as gone:
            vault.download("A-1001", item.id, tmp_path / "late.png")
        assert gone.value.status == 410
        with pytest.raises(ContentGone):
            vault.upload_text("A-1001", "too late")
    assert sorted(p.name for p in (tmp_path / "print").iterdir()) == ["photo.png"]
    assert not (tmp_path / "late.png").exists()


def test_held_refused_missing_and_forbidden_content_raise_their_errors(
    server: Server, tmp_path: Path
) -> None:
    with server.client() as vault:
        vault.create_order("B-1")
        held = vault.upload_text("B-1", f"a {REVIEW_TERM} here")
        assert (held.state, held.fetchable) == ("flagged", False)
        assert [(f.kind, f.entry, f.severity, f.span) for f in held.findings] == [
            ("offensive", REVIEW_TERM, "review", (2, 2 + len(REVIEW_TERM)))
        ]
        blocked = vault.upload_text("B-1", f"a {BLOCK_TERM} here")
        assert blocked.state == "blocked"

        with pytest.raises(ContentHeld) as in_review:
            vault.download("B-1", held.id, tmp_path / "held.txt")
        assert (in_review.value.status, in_review.value.code) == (409, "content_held")
        assert in_review.value.request_id
        with pytest.raises(ContentRefused) as refused:
            vault.download("B-1", blocked.id, tmp_path / "blocked.txt")
        assert (refused.value.status, refused.value.code) == (451, "content_refused")
        with pytest.raises(NotFound) as missing:
            vault.get_order("no-such-order")
        assert missing.value.code == "order_not_found"
        with pytest.raises(BadRequest):
            vault.upload_text("B-1", "")
    assert not list(tmp_path.iterdir())

    with server.client(server.seller_b) as other:  # another seller's order looks missing
        with pytest.raises(NotFound):
            other.download("B-1", held.id, tmp_path / "x")
    with server.client(server.admin) as admin, pytest.raises(Forbidden):
        admin.get_order("B-1")
    with server.client("cv_000000000000_not-a-key") as nobody, pytest.raises(Unauthenticated):
        nobody.get_order("B-1")

    # The error's request id is the one on the server's log line for that request.
    line = next(
        rec
        for rec in server.log_lines()
        if rec["logger"] == "api.access" and rec["request_id"] == in_review.value.request_id
    )
    assert (line["status"], line["seller_id"]) == (409, "seller-a")
    assert line["route"] == "/v1/orders/{order_id}/items/{item_id}/content"


class LosingProxy:
    """A reverse proxy in front of `serve` that, on request, forwards a POST and then answers 503
    instead of the service's answer: the upload happened, the client never heard."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.lose = 0
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                proxy.seen.append((self.command, self.path, dict(headers)))
                answer = httpx.request(
                    self.command, proxy.backend + self.path, headers=headers, content=body, timeout=60
                )
                if self.command == "POST" and proxy.lose > 0:
                    proxy.lose -= 1
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(answer.status_code)
                for k, v in answer.headers.items():
                    if k.lower() not in (
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "date",
                        "server",
                    ):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_PUT = do_POST = _relay

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_an_answer_lost_on_the_way_is_retried_and_the_item_stored_once(server: Server) -> None:
    proxy = LosingProxy(server.base)
    try:
        with Client(proxy.url, server.seller_a, retry=RetryPolicy(jitter=False)) as vault:
            vault.create_order("C-1")
            proxy.lose = 1
            item = vault.upload_file("C-1", noise_png(64), filename="c.png")  # no key given: the client's
            assert item.replayed  # the second attempt found what the first stored
            assert [i.id for i in vault.get_order("C-1").items] == [item.id]
    finally:
        proxy.close()
    posts = [h for method, _, h in proxy.seen if method == "POST"]
    assert len(posts) == 2
    assert posts[0]["Idempotency-Key"] == posts[1]["Idempotency-Key"]
    assert posts[0]["X-Request-Id"] == posts[1]["X-Request-Id"]


def test_the_async_client_runs_an_order_end_to_end(server: Server) -> None:
    async def main() -> None:
        async with AsyncClient(server.base, server.seller_a) as vault:
            assert (await vault.create_order("D-1")).created
            photo = noise_png(300)
            item = await vault.upload_file("D-1", photo, filename="d.png", idempotency_key="D-1:1")
            sink = io.BytesIO()
            assert (await vault.download("D-1", item.id, sink)).size == len(photo)
            assert sink.getvalue() == photo
            with pytest.raises(NotFound):
                await vault.receipt("D-1")
            assert (await vault.cancel("D-1")).purged
            receipt = await vault.wait_for_receipt("D-1", timeout=30)
            assert (await vault.verify_receipt(receipt)).body["order"]["external_id"] == "D-1"
            with pytest.raises(ContentGone):
                await vault.download("D-1", item.id, io.BytesIO())

    anyio.run(main)


def test_respond_async_answers_pending_and_the_verdict_is_waited_for(server: Server) -> None:
    with server.client() as vault:
        vault.create_order("E-1")
        item = vault.upload_text("E-1", f"engrave {REVIEW_TERM}", idempotency_key="E-1:1", respond_async=True)
        # 202 at once: stored, not screened (the worker screens it in the background).
        assert (item.pending, item.verdict, item.state, item.fetchable) == (
            True,
            "pending",
            "received",
            False,
        )
        screened = vault.wait_for_verdict("E-1", item.id, timeout=60, interval=0.1)
        assert (screened.id, screened.pending, screened.verdict) == (item.id, False, "flagged")
        assert [f.entry for f in screened.findings] != []
        assert vault.get_item("E-1", item.id).verdict == "flagged"
        clear = vault.upload_file("E-1", noise_png(200), filename="e.png", respond_async=True)
        assert clear.pending
        assert vault.wait_for_verdict("E-1", clear.id, timeout=60, interval=0.1).state == "clear"
        # Without the preference the upload still answers with its verdict, as it always did.
        assert not vault.upload_text("E-1", "plain words").pending

    async def main() -> None:
        async with AsyncClient(server.base, server.seller_a) as vault:
            item = await vault.upload_text("E-1", "async words", respond_async=True)
            assert item.pending
            done = await vault.wait_for_verdict("E-1", item.id, timeout=60, interval=0.1)
            assert (done.pending, done.verdict) == (False, "clear")

    anyio.run(main)


def _documented_example() -> str:
    text = (ROOT / "docs" / "client.md").read_text()
    block = text.split("<!-- example:begin -->", 1)[1].split("<!-- example:end -->", 1)[0]
    return block.split("```python\n", 1)[1].rsplit("```", 1)[0]


def test_the_documented_integration_runs_as_written(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = tmp_path / "worker.py"
    worker.write_text(_documented_example())
    photo = tmp_path / "photo.png"
    photo.write_bytes(noise_png(200))
    env = {**os.environ, "CV_URL": server.base, "CV_KEY": server.seller_a, "CV_RECEIPTS": str(tmp_path / "r")}
    out_dir = tmp_path / "print"
    out_dir.mkdir()
    args = [sys.executable, str(worker), "E-1", str(photo), f"Love, {REVIEW_TERM}", str(out_dir)]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert re.fullmatch(r"image \S+: \d+ bytes to production", lines[0]), lines
    assert f"screening: offensive {REVIEW_TERM} (review)" in lines[1]
    assert lines[2].endswith("in review; the item.decided webhook will say")
    assert lines[3].startswith("order E-1 purged at ")
    [printed] = out_dir.iterdir()
    assert printed.read_bytes() == photo.read_bytes()
    receipt = json.loads((tmp_path / "r" / "E-1.json").read_text())
    with httpx.Client(base_url=server.base) as c:
        assert (
            verify_receipt(receipt, c.get("/v1/receipts/public-key").text).body["order"]["external_id"]
            == "E-1"
        )

    # The example's webhook handler, on deliveries signed here in the documented format.
    namespace: dict[str, Any] = {"__name__": "worker"}
    monkeypatch.setenv("CV_KEY", "unused")
    exec(compile(_documented_example(), str(worker), "exec"), namespace)
    namespace["WEBHOOK_SECRET"] = "whsec_test"
    body = json.dumps(
        {
            "id": "evt-1",
            "type": "item.decided",
            "order_id": "E-1",
            "item_id": "it-1",
            "decision": "approve",
            "reason": None,
            "created_at": "2027-01-15T08:00:00Z",
        }
    ).encode()
    handle = namespace["handle_webhook"]
    assert handle(body, {"Signature": sign_webhook(body, "whsec_test")}) == 204
    assert handle(body, {"Signature": sign_webhook(body, "wrong")}) == 400
    assert handle(body, {"Signature": sign_webhook(body, "whsec_test", int(time.time()) - 3600)}) == 400
    assert handle(body, {}) == 400


def test_the_client_installs_and_imports_without_the_server() -> None:
    from importlib.metadata import requires

    deps = {
        re.split(r"[<>=~!\[ ;]", r, maxsplit=1)[0].lower()
        for r in requires("customization-vault-client") or []
    }
    assert deps == {"httpx", "anyio", "cryptography"}
    probe = (
        "import sys, customization_vault_client\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'api','retention','customization_vault','screening','fastapi','sqlalchemy','numpy','pydantic'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_the_servers_log_lines_are_json_with_request_ids_and_no_content(server: Server) -> None:
    """Everything above went through this server: its stderr is JSON lines at debug level, each
    request's lines carry its id, and neither the customer text nor a key appears anywhere."""
    raw = server.stderr.read_text()
    lines = server.log_lines()
    assert lines
    assert CANARY.decode() not in raw
    for secret in (server.seller_a, server.seller_b, server.admin):
        assert secret not in raw
        # cv_<prefix>_<secret>: the secret is urlsafe base64 and may itself contain "_"
        assert secret.split("_", 2)[2] not in raw
    access = [line for line in lines if line["logger"] == "api.access"]
    assert len(access) > 20
    assert all(re.fullmatch(r"[0-9a-f]{32}", line["request_id"]) for line in access)
    assert {line["route"] for line in access} >= {
        "/v1/orders/{order_id}",
        "/v1/orders/{order_id}/items",
        "/v1/orders/{order_id}/items/{item_id}/content",
        "/v1/orders/{order_id}/fulfilment",
        "/v1/receipts/public-key",
    }
    assert "/v1/orders/A-1001" not in raw  # route templates, never raw paths
    serving = next(line for line in lines if line["message"].startswith("serving http://127.0.0.1:"))
    assert serving["docs_url"] == serving["url"] + "/docs"
