"""JSON nested past the decoder's depth (the issue: 2,000 `[`) is a malformed request (400), never a 500,
on the upload route (parsed by us) and on the routes FastAPI parses into models."""

from __future__ import annotations

import pytest

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
