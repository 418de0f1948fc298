"""A trademark register over HTTP: imported as a CSV, screened with the order's or the item's product,
and its facts (serial, status, classes, owner) in the findings. On both backend families."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.app import create_app
from api.wiring import Services
from tests.api.conftest import Api, ApiClient, assert_problem, make_keys
from tests.api.workbench_client import PageClient

REGISTER = (
    b"mark,classes,status,owner,kind,serial,registration\n"
    b"Vexnoria,25,registered,Vex Holdings,word,88000001,6000001\n"
)


@pytest.fixture
def api(services: Services) -> Iterator[Api]:
    keys = make_keys(services)
    with ApiClient(create_app(services.settings, services)) as client:
        yield Api(client, services, keys)


def test_the_product_decides_block_or_review_and_findings_name_the_owner(api: Api) -> None:
    c, a = api.client, api.keys.a
    r = c.post(
        "/v1/admin/lists/register",
        headers=api.keys.auth(api.keys.admin),
        files={"file": ("reg.csv", REGISTER, "text/csv")},
    )
    assert r.status_code == 201, r.text
    assert r.json()["version"]["list"] == "register@1"
    assert api.services.reloader is not None
    api.services.reloader.run_once()

    r = c.put("/v1/orders/P-1", headers=a, json={"product": "T-Shirt"})
    assert (r.status_code, r.json()["product"]) == (201, "T-Shirt")
    r = c.post("/v1/orders/P-1/items", headers=a, json={"kind": "text", "text": "Vexnoria crew 2026"})
    assert r.json()["verdict"] == "blocked"
    (f,) = r.json()["findings"]
    assert (f["list"], f["entry"], f["label"]) == ("register@1", "88000001", "Vexnoria")
    assert f["trademark"] == {
        "serial": "88000001",
        "registration": "6000001",
        "status": "registered",
        "status_code": 700,
        "classes": [25],
        "owner": "Vex Holdings",
        "famous": False,
        "outside_classes": False,
    }

    # The same text on a mug (the item's own product wins over the order's): reviewed, not blocked.
    r = c.post("/v1/orders/P-1/items?product=mug", headers=a, json={"kind": "text", "text": "Vexnoria crew"})
    assert (r.json()["verdict"], r.json()["product"]) == ("flagged", "mug")
    assert r.json()["findings"][0]["trademark"]["outside_classes"] is True
    r = c.post("/v1/orders/P-1/items", headers=a, json={"kind": "text", "text": "Vexnoria", "product": "mug"})
    assert r.json()["verdict"] == "flagged"

    # An order without a product, then given one by a second PUT (200): its later uploads use it.
    assert c.put("/v1/orders/P-2", headers=a).status_code == 201
    r = c.post("/v1/orders/P-2/items", headers=a, json={"kind": "text", "text": "Vexnoria"})
    assert r.json()["verdict"] == "blocked"  # no product: every class
    r = c.put("/v1/orders/P-2", headers=a, json={"product": "mug"})
    assert (r.status_code, r.json()["product"]) == (200, "mug")
    r = c.post("/v1/orders/P-2/items", headers=a, json={"kind": "text", "text": "Vexnoria"})
    assert r.json()["verdict"] == "flagged"
    order = c.get("/v1/orders/P-2", headers=a).json()
    assert order["product"] == "mug"
    assert [i["findings"][0]["trademark"]["owner"] for i in order["items"]] == ["Vex Holdings"] * 2

    # The reviewer's case page shows whose mark it is, its numbers, status and classes.
    browser = PageClient(c)
    try:
        browser.sign_in(api.keys.reviewer)
        case_id = browser.post("/review/claim").headers["location"].rsplit("/", 1)[1]
        page = browser.page(f"/review/cases/{case_id}").text
    finally:
        browser.close()
    assert '<dd class="tm-owner">Vex Holdings</dd>' in page
    assert "88000001 / 6000001" in page
    assert '<dd class="tm-status">registered (700)</dd>' in page
    assert "outside the product&#39;s classes" in page or "outside the product's classes" in page


@pytest.mark.parametrize("bad", ["", "../etc", "x" * 65, "mug;drop"])
def test_a_malformed_product_is_a_422_problem_and_stores_nothing(api: Api, bad: str) -> None:
    c, a = api.client, api.keys.a
    r = c.put("/v1/orders/P-3", headers=a, json={"product": bad})
    assert_problem(r, 422)
    assert c.get("/v1/orders/P-3", headers=a).status_code == 404
    assert c.put("/v1/orders/P-3", headers=a).status_code == 201
    r = c.post(
        "/v1/orders/P-3/items", headers=a, params={"product": bad}, json={"kind": "text", "text": "hi"}
    )
    assert_problem(r, 422)
    assert c.get("/v1/orders/P-3", headers=a).json()["items"] == []
