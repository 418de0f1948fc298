"""JSON nested past the decoder's depth (the issue: 2,000 `[`) is a malformed request (400), never a 500,
on the upload route (parsed by us) and on the routes FastAPI parses into models."""

from __future__ import annotations

import pytest

from api.bodies import FRAMING_ALLOWANCE
from api.guards import CONTROL_BODY_LIMIT, size_limit
from tests.api.conftest import Api, assert_problem

DEPTH = 2000
BOMB = b"[" * DEPTH + b"]" * DEPTH
IN_FIELD = b'{"kind": "text", "text": ' + BOMB + b"}"
OBJECTS = b'{"a":' * DEPTH + b"1" + b"}" * DEPTH
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("body", [BOMB, IN_FIELD, OBJECTS], ids=["arrays", "in-a-field", "objects"])
def test_a_nested_upload_body_is_malformed(embedded_api: Api, body: bytes) -> None:
    api = embedded_api
    api.client.put("/v1/orders/o-1", headers=api.keys.a)
    r = api.client.post("/v1/orders/o-1/items", headers={**api.keys.a, **JSON}, content=body)
    assert_problem(r, 400, "malformed_request")


@pytest.mark.parametrize("body", [BOMB, OBJECTS], ids=["arrays", "objects"])
def test_a_nested_body_on_a_model_route_is_malformed(embedded_api: Api, body: bytes) -> None:
    api = embedded_api
    reviewer = api.keys.auth(api.keys.reviewer)
    for path, headers in (
        ("/v1/review/claims", reviewer),
        ("/v1/review/cases/c-1/decision", reviewer),
        ("/v1/orders/o-1/items/i-1/appeal", api.keys.a),
    ):
        r = api.client.post(path, headers={**headers, **JSON}, content=body)
        assert_problem(r, 400, "malformed_request")


def test_a_control_route_refuses_a_body_larger_than_any_of_its_own(embedded_api: Api) -> None:
    """FastAPI reads a JSON body whole before validating it, and before authentication."""
    api = embedded_api
    huge = b'{"statement": "' + b"x" * (1 << 20) + b'"}'
    for path, headers in (
        ("/v1/orders/o-1/items/i-1/appeal", api.keys.a),
        ("/v1/review/claims", api.keys.auth(api.keys.reviewer)),
        ("/v1/review/claims", {}),
    ):
        r = api.client.post(path, headers={**headers, **JSON}, content=huge)
        assert_problem(r, 413, "too_large")
    # An upload is bounded by the upload limits instead: a text item of the same size is its own 413.
    api.client.put("/v1/orders/o-1", headers=api.keys.a)
    r = api.client.post("/v1/orders/o-1/items", headers={**api.keys.a, **JSON}, content=huge)
    assert_problem(r, 413, "upload_too_large")


@pytest.mark.parametrize(
    ("method", "path", "limit"),
    [
        ("POST", "/v1/orders/o-1/items", None),  # bounded by the upload limits as it streams
        ("POST", "/v1/admin/lists/terms", None),  # bounded by the list limit as it streams
        ("POST", "/review/lists", 1000 + FRAMING_ALLOWANCE),  # the form parser reads it whole first
        ("POST", "/v1/orders/o-1/items/i-1/appeal", CONTROL_BODY_LIMIT),
        ("POST", "/review/sign-in", CONTROL_BODY_LIMIT),
        ("PUT", "/v1/orders/o-1/items", CONTROL_BODY_LIMIT),
        ("POST", "/v1/orders/o-1/items/extra", CONTROL_BODY_LIMIT),
    ],
)
def test_only_routes_that_take_files_may_send_large_bodies(method: str, path: str, limit: int | None) -> None:
    assert size_limit({"method": method, "path": path}, 1000) == limit


def test_a_large_list_import_reaches_its_route(embedded_api: Api) -> None:
    """200 KB is far over the control limit and far under the list limit: the route, not the guard,
    answers (here: the loader refuses the junk)."""
    api = embedded_api
    junk = b"not,a\nlist\n" * 20_000
    r = api.client.post(
        "/v1/admin/lists/terms",
        headers=api.keys.auth(api.keys.admin),
        files={"file": ("terms.csv", junk, "text/csv")},
    )
    assert r.status_code != 413, r.text
    assert r.status_code < 500, r.text
