"""The admin list and re-screen endpoints over HTTP: import, re-screen, status, problems and roles.

On both backend families; the app screens with its real engines here (not the word screener), so an
imported list changes what is flagged.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.app import create_app
from api.wiring import Services
from customization_vault.rescreen import RescreenWorker
from tests.api.conftest import Api, ApiClient, assert_problem, make_keys

TERMS = b"id,term,category,severity\nt:flurbo,flurbo,profanity,review\n"


@pytest.fixture
def api(services: Services) -> Iterator[Api]:
    keys = make_keys(services)
    with ApiClient(create_app(services.settings, services)) as client:
        yield Api(client, services, keys)


def _admin(api: Api) -> dict[str, str]:
    return api.keys.auth(api.keys.admin)


def test_an_imported_list_rescreens_open_orders_in_the_background(api: Api) -> None:
    c, a = api.client, api.keys.a
    c.put("/v1/orders/L-1", headers=a)
    r = c.post("/v1/orders/L-1/items", headers=a, json={"kind": "text", "text": "a flurbo cake"})
    assert r.json()["verdict"] == "clear"

    r = c.post(
        "/v1/admin/lists/terms?rescreen=true",
        headers=_admin(api),
        files={"file": ("terms.csv", TERMS, "text/csv")},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert {k: body["version"][k] for k in ("kind", "version", "list", "entries", "source")} == {
        "kind": "terms",
        "version": 1,
        "list": "terms@1",
        "entries": 1,
        "source": "upload:terms.csv",
    }
    job = body["rescreen"]
    assert (job["state"], job["total"], job["done"]) == ("pending", 1, 0)

    # What `serve`'s in-process worker does on its next check, driven here without waiting for it.
    assert RescreenWorker(api.services.rescreener()).run_pending() == 1

    r = c.get(job["status_url"], headers=_admin(api))
    assert r.status_code == 200
    status = r.json()
    assert (status["state"], status["done"], status["flagged"], status["cleared"]) == ("done", 1, 1, 0)
    assert status["rate"] is None  # the test clock stands still: no time has passed to divide by
    item = c.get("/v1/orders/L-1", headers=a).json()["items"][0]
    assert (item["state"], [f["list"] for f in item["findings"]]) == ("flagged", ["terms@1"])

    lists = c.get("/v1/admin/lists", headers=_admin(api)).json()
    assert [(v["list"], v["processes"]) for v in lists["versions"]] == [("terms@1", 1)]
    assert lists["in_use"] == {
        "marks": None,
        "terms": 1,
        "allow": None,
        "images": None,
        "fonts": None,
        "register": None,
    }
    assert [p["versions"] for p in lists["processes"]] == [{"terms": 1}]
    assert [j["id"] for j in c.get("/v1/admin/rescreens", headers=_admin(api)).json()] == [job["id"]]


def test_rescreen_requests_join_the_waiting_job(api: Api) -> None:
    r = api.client.post("/v1/admin/rescreens", headers=_admin(api), json={"reason": "new marks"})
    assert r.status_code == 202, r.text
    assert r.headers["location"] == r.json()["status_url"]
    again = api.client.post("/v1/admin/rescreens", headers=_admin(api))
    assert again.status_code == 202
    assert again.json()["id"] == r.json()["id"]
    assert again.json()["reason"] == "new marks"


def test_bad_input_gets_a_problem_and_stores_nothing(api: Api) -> None:
    c, h = api.client, _admin(api)
    r = c.post("/v1/admin/lists/marks", headers=h, files={"file": ("m.csv", b"id,mark\nok,Fine\nbad,\n")})
    body = assert_problem(r, 422, "list_rejected")
    assert body["detail"] == "upload:m.csv:3: empty 'mark'"
    assert_problem(c.post("/v1/admin/lists/marks", headers=h, content=b"id,mark\n"), 415, "unsupported_type")
    assert_problem(
        c.post("/v1/admin/lists/marks", headers=h, files={"other": ("m.csv", b"id,mark\n")}),
        400,
        "malformed_request",
    )
    assert_problem(
        c.post("/v1/admin/lists/colours", headers=h, files={"file": ("m.csv", b"id,mark\n")}),
        422,
        "validation_error",
    )
    api.services.settings.screening.max_list_bytes = 64
    assert_problem(
        c.post(
            "/v1/admin/lists/marks", headers=h, files={"file": ("m.csv", b"id,mark\n" + b"x,Mark\n" * 20)}
        ),
        413,
    )
    assert_problem(
        c.post("/v1/admin/rescreens", headers=h, json={"reason": "x", "extra": 1}), 422, "validation_error"
    )
    assert_problem(c.get("/v1/admin/rescreens/no-such-job", headers=h), 404, "rescreen_job_not_found")
    assert c.get("/v1/admin/lists", headers=h).json()["versions"] == []


def test_only_admin_keys_reach_the_list_endpoints(api: Api) -> None:
    c = api.client
    endpoints = [
        ("GET", "/v1/admin/lists", {}),
        ("POST", "/v1/admin/lists/allow", {"files": {"file": ("a.txt", b"pussy willow\n")}}),
        ("POST", "/v1/admin/rescreens", {}),
        ("GET", "/v1/admin/rescreens", {}),
        ("GET", "/v1/admin/rescreens/x", {}),
    ]
    callers = {
        "none": ({}, 401),
        "revoked": (api.keys.auth(api.keys.revoked), 401),
        "reviewer": (api.keys.auth(api.keys.reviewer), 403),
        "fulfilment": (api.keys.a, 403),
    }
    for headers, status in callers.values():
        for method, path, kwargs in endpoints:
            assert_problem(
                c.request(method, path, headers=headers, **kwargs),
                status,
                "unauthenticated" if status == 401 else "forbidden",
            )
    assert c.get("/v1/admin/lists", headers=_admin(api)).json()["versions"] == []  # nothing was imported
    for method, path, kwargs in endpoints:
        r = c.request(method, path, headers=_admin(api), **kwargs)
        assert r.status_code in (200, 201, 202, 404), (method, path, r.text)
