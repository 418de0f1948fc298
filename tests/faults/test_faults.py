"""Faults injected into the production backends (PostgreSQL via pgserver, S3 and KMS on moto):
uploads succeed fully or leave nothing; fetches fail with 503 + Retry-After, never wrong bytes; KMS
down refuses uploads (never stores without encryption); purges resume and finish. And the embedded
default's disk filling up: a clear 507-free 503, nothing half-written."""

from __future__ import annotations

import errno
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from api.app import create_app
from api.wiring import build_services
from tests.api.conftest import Api, ApiClient, assert_problem, leftovers, make_keys, png_bytes, word_screener
from tests.conftest import make_settings
from tests.faults.faults import Faults, FaultyClient, faulty_database

PRODUCTION = pytest.mark.parametrize("backend_settings", ["production"], indirect=True)
TEXT = {"kind": "text", "text": "Happy birthday, Ana!"}


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def prod(backend_settings: Any, faults: Faults) -> Iterator[Api]:
    # A job whose claim committed but whose claimer heard a failure comes back after one lease: short
    # here, so a test sees it come back instead of waiting the production 30 s.
    screening = backend_settings.screening.model_copy(update={"job_lease_seconds": 1})
    backend_settings = backend_settings.model_copy(update={"screening": screening})
    svc = build_services(backend_settings)
    svc.screener = word_screener()
    svc.blobs._s3 = FaultyClient(svc.blobs._s3, faults)  # type: ignore[attr-defined]
    svc.keys._kms = FaultyClient(svc.keys._kms, faults)  # type: ignore[attr-defined]
    keys = make_keys(svc)
    with faulty_database(svc.catalog.engine, faults):
        with ApiClient(create_app(backend_settings, svc)) as client:
            assert client.put("/v1/orders/f", headers=keys.a).status_code == 201
            yield Api(client, svc, keys)
    svc.close()


def _upload_png(api: Api, data: bytes | None = None, key: str | None = None) -> Any:
    headers = {**api.keys.a, **({"Idempotency-Key": key} if key else {})}
    return api.client.post(
        "/v1/orders/f/items", headers=headers, files={"file": ("a.png", data or png_bytes(), "image/png")}
    )


def _outage(r: Any) -> None:
    assert_problem(r, 503)
    assert r.headers["retry-after"].isdigit()


@PRODUCTION
@pytest.mark.parametrize(
    ("operation", "fault"),
    [
        ("put_object", "error"),
        ("put_object", "timeout"),
        ("put_object", "after"),  # the object was written, the answer lost
        ("decrypt", "error"),  # KMS down: the order's data key cannot be unwrapped
        ("decrypt", "timeout"),
        ("INSERT", "error"),  # the catalog refuses the item row, after the blob went up
    ],
)
def test_an_upload_in_a_fault_succeeds_fully_or_leaves_nothing(
    prod: Api, faults: Faults, operation: str, fault: str
) -> None:
    before = leftovers(prod.services)
    faults.arm(operation, fault)
    r = _upload_png(prod)
    assert faults.fired, "the fault never fired: the test proves nothing"
    _outage(r)
    assert leftovers(prod.services) == before
    faults.clear()
    ok = _upload_png(prod)
    assert ok.status_code == 201, ok.text
    got = prod.client.get(ok.json()["content_url"], headers=prod.keys.a)
    assert got.status_code == 200


@PRODUCTION
@pytest.mark.parametrize(
    ("operation", "fault"),
    [("get_object", "error"), ("get_object", "timeout"), ("decrypt", "error"), ("SELECT", "error")],
)
def test_a_fetch_in_a_fault_is_a_503_with_retry_after_never_wrong_bytes(
    prod: Api, faults: Faults, operation: str, fault: str
) -> None:
    data = png_bytes(color="purple")
    item = _upload_png(prod, data).json()
    first = prod.client.get(item["content_url"], headers=prod.keys.a)
    assert first.status_code == 200
    faults.arm(operation, fault)
    r = prod.client.get(item["content_url"], headers=prod.keys.a)
    assert faults.fired
    _outage(r)
    assert first.content not in r.content
    faults.clear()
    assert prod.client.get(item["content_url"], headers=prod.keys.a).content == first.content


@PRODUCTION
@pytest.mark.parametrize("body", ["text", "image"])
def test_an_upload_whose_commit_answer_is_lost_is_one_item_on_retry(
    prod: Api, faults: Faults, body: str
) -> None:
    """The catalog committed, then the connection dropped before the answer came back — at each commit
    an upload makes in turn: the request fails or answers, the client retries with its idempotency key,
    and there is exactly one item, whose content fetches back intact; never two, never half of one."""
    data = png_bytes(color="teal")
    lost_answers = 0
    for skip in range(8):
        key = f"lost-answer-{skip}"

        def send(key: str = key) -> Any:
            if body == "text":
                headers = {**prod.keys.a, "Idempotency-Key": key}
                return prod.client.post("/v1/orders/f/items", headers=headers, json=TEXT)
            return _upload_png(prod, data, key=key)

        before = leftovers(prod.services)
        faults.clear()
        faults.fired.clear()
        faults.arm("COMMIT", "after", times=1, skip=skip)
        first = send()
        if not faults.fired:  # the upload commits fewer times than this
            assert first.status_code == 201, first.text
            break
        if first.status_code >= 500:
            _outage(first)
            lost_answers += 1
        else:
            assert first.status_code in (200, 201, 202), first.text
        faults.clear()
        retry = send()
        assert retry.status_code in (200, 201, 202), retry.text
        assert leftovers(prod.services).items == before.items + 1
        url = retry.json()["content_url"]
        got = prod.client.get(url, headers=prod.keys.a)
        for _ in range(100):  # a job whose claim's answer was lost comes back after its 1 s lease
            if got.status_code != 409:
                break
            time.sleep(0.1)
            got = prod.client.get(url, headers=prod.keys.a)
        assert got.status_code == 200, got.text
        if body == "text":
            assert got.content == TEXT["text"].encode()
        else:
            assert Image.open(io.BytesIO(got.content)).tobytes() == Image.open(io.BytesIO(data)).tobytes()
    assert lost_answers >= 1, "no commit's lost answer reached the client: the test proves nothing"


@PRODUCTION
def test_kms_down_refuses_new_orders_and_stores_nothing_unencrypted(prod: Api, faults: Faults) -> None:
    before = leftovers(prod.services)
    faults.arm("generate_data_key", "error")
    faults.arm("encrypt", "error")
    faults.arm("decrypt", "error")
    r = prod.client.put("/v1/orders/f-2", headers=prod.keys.a)
    _outage(r)
    up = prod.client.post("/v1/orders/f/items", headers=prod.keys.a, json=TEXT)
    _outage(up)
    assert leftovers(prod.services) == before
    # Nothing in the bucket holds the text in the clear.
    for key in prod.services.blobs.list(""):
        assert TEXT["text"].encode() not in b"".join(prod.services.blobs.get(key))


@PRODUCTION
@pytest.mark.parametrize(
    ("operation", "fault"),
    [
        ("delete_objects", "error"),
        ("delete_objects", "after"),
        ("DELETE", "error"),
        ("schedule_key_deletion", "error"),
    ],
)
def test_a_purge_in_a_fault_resumes_and_finishes(
    prod: Api, faults: Faults, operation: str, fault: str
) -> None:
    for color in ("red", "blue"):
        assert _upload_png(prod, png_bytes(color=color)).status_code == 201
    prod.client.post("/v1/orders/f/items", headers=prod.keys.a, json=TEXT)
    faults.arm(operation, fault, times=1)
    r = prod.client.post("/v1/orders/f/fulfilment", headers=prod.keys.a)
    assert r.status_code in (200, 202, 503), r.text
    faults.clear()
    worker = prod.services.worker
    assert worker is not None
    for _ in range(5):
        done = prod.client.post("/v1/orders/f/fulfilment", headers=prod.keys.a)
        if done.status_code == 200:
            break
        worker.run_once()
    assert done.status_code == 200, done.text
    receipt = prod.client.get("/v1/orders/f/receipt", headers=prod.keys.a)
    assert receipt.status_code == 200
    left = leftovers(prod.services)
    assert (left.keys, left.blobs - _checkpoints(prod)) == (0, 0)
    assert prod.client.get("/v1/orders/f", headers=prod.keys.a).json()["state"] == "purged"


def test_a_full_local_disk_is_a_clear_error_and_nothing_is_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Embedded default: the blob directory's disk fills in the middle of a write."""
    import customization_vault.blobs.local as local

    class FullDisk(io.FileIO):
        def write(self, b: Any) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    settings = make_settings(tmp_path / "var")
    svc = build_services(settings)
    svc.screener = word_screener()
    keys = make_keys(svc)
    try:
        with ApiClient(create_app(settings, svc)) as client:
            assert client.put("/v1/orders/d", headers=keys.a).status_code == 201
            before = leftovers(svc)
            with monkeypatch.context() as m:
                m.setattr(local.os, "fdopen", lambda fd, *a, **k: FullDisk(fd, "wb", closefd=True))
                r = client.post(
                    "/v1/orders/d/items", headers=keys.a, files={"file": ("a.png", png_bytes(), "image/png")}
                )
            _outage(r)
            assert "disk is full" in r.json()["detail"]
            assert leftovers(svc) == before
            assert [p for p in settings.blob_dir.rglob("*") if p.is_file()] == []
            ok = client.post(
                "/v1/orders/d/items", headers=keys.a, files={"file": ("a.png", png_bytes(), "image/png")}
            )
            assert ok.status_code == 201, ok.text
    finally:
        svc.close()


def _checkpoints(api: Api) -> int:
    """Signed audit checkpoints live in the blob store too; they are not the order's."""
    return len(list(api.services.blobs.list("_audit/")))
