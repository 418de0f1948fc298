"""Every route of the app against every kind of caller, from the app's own route table.

Callers: a fulfilment key of the order's own seller, of another seller, a reviewer key, an admin key, a
revoked key, no key, and a malformed one. Each route declares what each caller gets; a route the table
does not list fails `test_every_route_has_an_entry`, so a new route can not ship without deciding who
may call it. Statuses are exact for refusals; "ok" (anything but 401, 403 or a 5xx) where the allowed
answer depends on state other rows change (a claim may find the queue empty).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Mount

from api.app import create_app
from api.wiring import Services, build_services
from tests.api.conftest import BLOCK_WORD, FLAG_WORD, ApiClient, Keys, make_keys, word_screener
from tests.conftest import make_settings

ROLES = ("revoked", "none", "malformed", "other", "reviewer", "admin", "own")  # the order they call in
OK = "ok"
Expect = dict[str, int | str]
DENIED: Expect = {"revoked": 401, "none": 401, "malformed": 401}
FULFILMENT: Expect = {**DENIED, "other": 404, "reviewer": 403, "admin": 403, "own": OK}
REVIEW: Expect = {**DENIED, "own": 403, "other": 403, "reviewer": OK, "admin": OK}
ADMIN: Expect = {**DENIED, "own": 403, "other": 403, "reviewer": 403, "admin": OK}
# The workbench signs reviewers in to a session of its own: no API key opens a page with a bearer header.
WORKBENCH: Expect = dict.fromkeys(ROLES, 401)
PUBLIC: Expect = dict.fromkeys(ROLES, 200)


@dataclass
class World:
    client: ApiClient
    services: Services
    keys: Keys
    ids: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        token = {
            "own": self.keys.seller_a,
            "other": self.keys.seller_b,
            "reviewer": self.keys.reviewer,
            "admin": self.keys.admin,
            "revoked": self.keys.revoked,
            "malformed": "not-a-key",
        }.get(role)
        return {} if token is None else {"Authorization": f"Bearer {token}"}


# (method, path template) -> (what each caller gets, the path's ids, extra request arguments)
Row = tuple[Expect, Callable[[World], dict[str, str]], dict[str, Any]]


def _order(name: str) -> Callable[[World], dict[str, str]]:
    return lambda w: {"order_id": w.ids[name]}


def _item(order: str, item: str) -> Callable[[World], dict[str, str]]:
    return lambda w: {"order_id": w.ids[order], "item_id": w.ids[item]}


def _case(w: World) -> dict[str, str]:
    return {"case_id": w.ids["case"]}


def _none(_w: World) -> dict[str, str]:
    return {}


TEXT = {"json": {"kind": "text", "text": "Happy birthday"}}
MATRIX: dict[tuple[str, str], Row] = {
    ("PUT", "/v1/orders/{order_id}"): ({**FULFILMENT, "other": 201, "own": 200}, _order("put"), {}),
    ("GET", "/v1/orders/{order_id}"): ({**FULFILMENT, "own": 200}, _order("get"), {}),
    ("POST", "/v1/orders/{order_id}/items"): ({**FULFILMENT, "own": 201}, _order("upload"), TEXT),
    ("GET", "/v1/orders/{order_id}/items/{item_id}"): (
        {**FULFILMENT, "own": 200},
        _item("content", "clear"),
        {},
    ),
    ("GET", "/v1/orders/{order_id}/items/{item_id}/content"): (
        {**FULFILMENT, "own": 200},
        _item("content", "clear"),
        {},
    ),
    ("POST", "/v1/orders/{order_id}/fulfilment"): ({**FULFILMENT, "own": 200}, _order("fulfil"), {}),
    ("POST", "/v1/orders/{order_id}/cancellation"): ({**FULFILMENT, "own": 200}, _order("cancel"), {}),
    ("GET", "/v1/orders/{order_id}/receipt"): ({**FULFILMENT, "own": 200}, _order("purged"), {}),
    ("POST", "/v1/orders/{order_id}/items/{item_id}/appeal"): (
        {**FULFILMENT, "own": 201},
        _item("appeal", "blocked"),
        {"json": {"statement": "It is our family name."}},
    ),
    ("GET", "/v1/receipts/public-key"): (PUBLIC, _none, {}),
    ("GET", "/healthz"): (PUBLIC, _none, {}),
    ("GET", "/readyz"): (PUBLIC, _none, {}),
    ("GET", "/metrics"): (PUBLIC, _none, {}),  # public outside production (test_metrics_access.py)
    ("GET", "/openapi.json"): (PUBLIC, _none, {}),
    ("GET", "/docs"): (PUBLIC, _none, {}),
    ("GET", "/docs/oauth2-redirect"): (PUBLIC, _none, {}),
    ("GET", "/redoc"): (PUBLIC, _none, {}),
    ("GET", "/v1/review/cases"): ({**REVIEW, "reviewer": 200, "admin": 200}, _none, {}),
    ("POST", "/v1/review/claims"): (REVIEW, _none, {"json": {}}),
    ("GET", "/v1/review/cases/{case_id}"): ({**REVIEW, "reviewer": 200, "admin": 200}, _case, {}),
    ("GET", "/v1/review/cases/{case_id}/content"): ({**REVIEW, "reviewer": 200, "admin": 200}, _case, {}),
    ("POST", "/v1/review/cases/{case_id}/decision"): (REVIEW, _case, {"json": {"decision": "approve"}}),
    ("POST", "/v1/review/cases/{case_id}/lease"): (REVIEW, _case, {}),
    ("DELETE", "/v1/review/cases/{case_id}/lease"): (REVIEW, _case, {}),
    ("GET", "/v1/review/references/images/{entry_id}"): (REVIEW, lambda _w: {"entry_id": "nike"}, {}),
    ("GET", "/v1/admin/lists"): ({**ADMIN, "admin": 200}, _none, {}),
    ("POST", "/v1/admin/lists/{kind}"): (ADMIN, lambda _w: {"kind": "terms"}, {"json": {}}),
    ("GET", "/v1/admin/rescreens"): ({**ADMIN, "admin": 200}, _none, {}),
    ("POST", "/v1/admin/rescreens"): (ADMIN, _none, {"json": {}}),
    ("GET", "/v1/admin/rescreens/{job_id}"): (ADMIN, lambda _w: {"job_id": "no-such-job"}, {}),
    ("MOUNT", "/review"): (WORKBENCH, _none, {}),
}


def _routes(routes: list[BaseRoute]) -> Iterator[tuple[str, str]]:
    """(method, path) of every endpoint, through included routers (FastAPI's own walk, the one its
    OpenAPI uses); a mounted app or a websocket is listed whole, so it needs an entry too."""
    for context in iter_route_contexts(routes):
        path = str(context.path)
        if isinstance(context.original_route, Mount):
            yield "MOUNT", path
            continue
        methods = context.methods
        if not methods:
            yield "OTHER", path
            continue
        for method in sorted(methods):
            if method != "HEAD":  # answered by GET
                yield method, path


def test_every_route_has_an_entry(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path / "var"))
    assert set(_routes(app.routes)) == set(MATRIX)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    svc = build_services(make_settings(tmp_path_factory.mktemp("authz") / "var"))
    svc.screener = word_screener()
    keys = make_keys(svc)
    a = {"Authorization": f"Bearer {keys.seller_a}"}
    ids: dict[str, str] = {}
    try:
        with ApiClient(create_app(svc.settings, svc)) as client:
            for name in (
                "put",
                "get",
                "upload",
                "content",
                "fulfil",
                "cancel",
                "purged",
                "appeal",
                "flagged",
            ):
                ids[name] = f"AZ-{name}"
                assert client.put(f"/v1/orders/{ids[name]}", headers=a).status_code == 201

            def upload(order: str, text: str) -> str:
                r = client.post(
                    f"/v1/orders/{ids[order]}/items", headers=a, json={"kind": "text", "text": text}
                )
                assert r.status_code == 201, r.text
                return str(r.json()["id"])

            ids["clear"] = upload("content", "Happy birthday")
            ids["blocked"] = upload("appeal", BLOCK_WORD.decode())
            flagged = upload("flagged", f"Best {FLAG_WORD.decode()} fan")
            upload("purged", "For Ana")
            assert client.post(f"/v1/orders/{ids['purged']}/fulfilment", headers=a).status_code == 200
            with svc.catalog.unit() as u:
                case = u.reviews.latest_for_items([flagged]).get(flagged)
            assert case is not None
            ids["case"] = case.id
            yield World(client, svc, keys, ids)
    finally:
        svc.close()


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX), ids=[f"{m} {p}" for m, p in sorted(MATRIX)])
def test_each_caller_gets_what_the_route_declares(world: World, method: str, path: str) -> None:
    expect, path_ids, kwargs = MATRIX[(method, path)]
    url = path.format(**path_ids(world))
    if method == "MOUNT":  # a mounted app: its front page
        method, url = "GET", url + "/"
    got = {}
    for role in ROLES:
        r = world.client.request(method, url, headers=world.headers(role), **kwargs)
        got[role] = r.status_code
    for role in ROLES:
        if expect[role] == OK:
            assert got[role] not in (401, 403), (role, got)
            assert got[role] < 500, (role, got)
        else:
            assert got[role] == expect[role], (role, got)
