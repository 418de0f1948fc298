"""The error table and the metrics registry, in isolation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.errors import Forbidden, MalformedRequest, status_for, vault_problem
from api.metrics import Counter, Histogram, Metrics
from customization_vault import errors as ve
from customization_vault.apikeys import Unauthenticated
from customization_vault.intake import errors as ie
from retention.errors import HoldConflict, VerificationFailed


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (Unauthenticated("x"), 401),
        (Forbidden("x"), 403),
        (ve.OrderNotFound("x"), 404),
        (ve.ItemNotFound("x"), 404),
        (ve.ContentGone("x"), 410),
        (ve.KeyDestroyed("x"), 410),
        (ve.ContentHeld("x"), 409),
        (ve.ContentRefused("x"), 451),
        (ve.StateConflict("x"), 409),
        (HoldConflict("x"), 409),
        (MalformedRequest("x"), 400),
        (ie.EmptyInput("x"), 400),
        (ie.UploadTooLarge("x"), 413),
        (ie.TooManyPixels("x"), 413),
        (ie.DecompressionBomb("x"), 413),
        (ie.TextTooLong("x"), 413),
        (ie.TypeMismatch("x"), 415),
        (ie.UnknownFormat("x"), 415),
        (ie.CorruptImage("x"), 422),
        (ie.CorruptFont("x"), 422),
        (ie.InvalidText("x"), 422),
        (ve.InvalidInput("x"), 422),
        (ve.KeyUnavailable("x"), 503),
        (ve.BackendError("x"), 503),
        (ve.IntegrityError(), 500),
        (VerificationFailed("x"), 500),
    ],
)
def test_every_domain_error_has_its_status(exc: ve.VaultError, status: int) -> None:
    assert status_for(exc)[0] == status
    body = json.loads(bytes(vault_problem(exc).body))
    assert body["status"] == status
    assert body["type"].endswith(body["code"])


def test_server_errors_hide_their_message_and_code() -> None:
    body = json.loads(bytes(vault_problem(ve.IntegrityError("segment 3 of order 42 failed")).body))
    assert body == {
        "type": "https://customization-vault.dev/problems/internal_error",
        "title": "Internal error",
        "status": 500,
        "code": "internal_error",
    }


def test_unauthenticated_carries_the_bearer_challenge() -> None:
    assert vault_problem(Unauthenticated("x")).headers["www-authenticate"] == "Bearer"


def test_counter_and_histogram_render_prometheus_text() -> None:
    c = Counter("x_total", "help", ("route",))
    c.inc('/a"b\\')
    c.inc('/a"b\\', amount=2)
    assert list(c.render())[-1] == 'x_total{route="/a\\"b\\\\"} 3'
    h = Histogram("lat_seconds", "help", ("route",), buckets=(0.1, 1.0))
    for v in (0.05, 0.5, 5.0):
        h.observe(v, "/r")
    lines = list(h.render())
    assert 'lat_seconds_bucket{route="/r",le="0.1"} 1' in lines
    assert 'lat_seconds_bucket{route="/r",le="1"} 2' in lines
    assert 'lat_seconds_bucket{route="/r",le="+Inf"} 3' in lines
    assert 'lat_seconds_count{route="/r"} 3' in lines
    assert h.count("/r") == 3
    with pytest.raises(ValueError, match="labels"):
        c.inc()


def test_metrics_render_every_family_with_help_and_type() -> None:
    text = Metrics().render()
    for family in ("cv_http_requests_total", "cv_uploads_total", "cv_verdicts_total", "cv_purges_total"):
        assert f"# TYPE {family} counter" in text
    assert "# TYPE cv_http_request_duration_seconds histogram" in text


def test_openapi_documents_every_endpoint(tmp_path: Path) -> None:
    from api.app import create_app
    from tests.conftest import make_settings

    schema = create_app(make_settings(tmp_path / "var")).openapi()
    assert set(schema["paths"]) == {
        "/v1/orders/{order_id}",
        "/v1/orders/{order_id}/items",
        "/v1/orders/{order_id}/items/{item_id}",
        "/v1/orders/{order_id}/items/{item_id}/content",
        "/v1/orders/{order_id}/fulfilment",
        "/v1/orders/{order_id}/cancellation",
        "/v1/orders/{order_id}/receipt",
        "/v1/orders/{order_id}/items/{item_id}/appeal",
        "/v1/review/cases",
        "/v1/review/claims",
        "/v1/review/cases/{case_id}",
        "/v1/review/cases/{case_id}/content",
        "/v1/review/cases/{case_id}/decision",
        "/v1/review/cases/{case_id}/lease",
        "/v1/review/references/images/{entry_id}",
        "/v1/receipts/public-key",
        "/v1/admin/lists",
        "/v1/admin/lists/{kind}",
        "/v1/admin/rescreens",
        "/v1/admin/rescreens/{job_id}",
        "/healthz",
        "/readyz",
        "/metrics",
    }
    upload = schema["paths"]["/v1/orders/{order_id}/items"]["post"]
    assert {"multipart/form-data", "application/json"} <= set(upload["requestBody"]["content"])
    assert {"201", "200", "400", "409", "413", "415", "422"} <= set(upload["responses"])
    content = schema["paths"]["/v1/orders/{order_id}/items/{item_id}/content"]["get"]["responses"]
    assert {"200", "409", "410", "451", "404"} <= set(content)
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    claims = schema["paths"]["/v1/review/claims"]["post"]["responses"]
    assert {"200", "204", "409", "403"} <= set(claims)
    decision = schema["paths"]["/v1/review/cases/{case_id}/decision"]["post"]["responses"]
    assert {"200", "409"} <= set(decision)
    appeal = schema["paths"]["/v1/orders/{order_id}/items/{item_id}/appeal"]["post"]["responses"]
    assert {"201", "409"} <= set(appeal)
    lists = schema["paths"]["/v1/admin/lists/{kind}"]["post"]
    assert "multipart/form-data" in lists["requestBody"]["content"]
    assert {"201", "400", "401", "403", "413", "415", "422"} <= set(lists["responses"])
