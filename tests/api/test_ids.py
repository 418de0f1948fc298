"""Client-chosen ids (order ids, seller ids) and ids in paths follow one documented rule, checked before
any route acts; URLs the API builds are percent-encoded, so no response can fail after its change
committed and no `Location` can name another order."""

from __future__ import annotations

import pytest

from customization_vault.catalog.types import new_id
from customization_vault.ids import InvalidId, check_id, is_valid_id
from customization_vault.keys.base import KeyContext
from customization_vault.lifecycle import OrderState
from tests.api.conftest import Api, assert_problem, leftovers

H_TEXT = {"Content-Type": "application/json"}


@pytest.mark.parametrize("good", ["A-1001", "2026:DE:000123", "a.b_c-d", "0", "x" * 128, new_id()])
def test_the_id_rule_accepts(good: str) -> None:
    assert check_id(good, "an order id") == good


@pytest.mark.parametrize(
    "bad", ["", ".", "..", ".hidden", "-1", "€-1", "a?b", "a/b", "a%3Fb", "a b", "a#b", "x" * 129, "a\nb"]
)
def test_the_id_rule_refuses_without_echoing(bad: str) -> None:
    assert not is_valid_id(bad)
    with pytest.raises(InvalidId) as err:
        check_id(bad, "an order id")
    assert err.value.code == "invalid_id"
    if len(bad) > 2:  # the message never quotes the value (one or two characters occur in any text)
        assert bad not in str(err.value)


# As the issue found them: a non-ASCII id, an escaped '?', a path step, one character too long.
BAD_PATHS = ["%E2%82%AC-1", "a%3Fb", "%2E%2E", "." + "x" * 10, "x" * 129]


@pytest.mark.parametrize("raw", BAD_PATHS)
def test_an_order_id_outside_the_rule_is_refused_before_anything_is_stored(
    embedded_api: Api, raw: str
) -> None:
    api = embedded_api
    r = api.client.put(f"/v1/orders/{raw}", headers=api.keys.a)
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["path", "order_id"]
    with api.services.catalog.unit() as u:
        assert u.session.execute(_count_orders()).scalar_one() == 0


def _count_orders():  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from customization_vault.catalog.models import Order

    return select(func.count()).select_from(Order)


def _legacy_order(api: Api, external_id: str) -> str:
    """An order stored before the id rule existed (through the repositories, as the old code did)."""
    svc = api.services
    seller = svc.vault.orders.seller_id("seller-a")
    assert seller is not None
    oid, now = new_id(), svc.clock()
    _dek, wrapped = svc.keys.generate(KeyContext(seller, oid), now)
    with svc.catalog.unit() as u:
        u.orders.add(order_id=oid, seller_id=seller, external_id=external_id, epoch=wrapped.epoch, now=now)
        u.keys.add(oid, wrapped, now)
    return oid


def test_no_change_commits_for_a_request_whose_answer_could_not_be_built(embedded_api: Api) -> None:
    """The issue's cases: an upload to `€-1` stored the item and answered 500; a fulfilment answered
    500 yet purged. Now the id is refused first, and nothing changes."""
    api = embedded_api
    oid = _legacy_order(api, "€-1")
    r = api.client.post(
        "/v1/orders/%E2%82%AC-1/items", headers={**api.keys.a, **H_TEXT}, json={"kind": "text", "text": "hi"}
    )
    assert_problem(r, 422, "validation_error")
    assert leftovers(api.services).items == 0
    f = api.client.post("/v1/orders/%E2%82%AC-1/fulfilment", headers=api.keys.a)
    assert_problem(f, 422, "validation_error")
    assert api.services.vault.orders.get(oid).state == OrderState.OPEN


def test_urls_in_answers_are_encoded_and_name_the_same_order(embedded_api: Api) -> None:
    api = embedded_api
    order = "2026:DE.7"
    assert api.client.put(f"/v1/orders/{order}", headers=api.keys.a).status_code == 201
    r = api.client.post(f"/v1/orders/{order}/items", headers=api.keys.a, json={"kind": "text", "text": "Ana"})
    assert r.status_code == 201, r.text
    item = r.json()["id"]
    assert r.headers["location"] == f"/v1/orders/2026%3ADE.7/items/{item}/content"
    assert r.json()["content_url"] == r.headers["location"]
    got = api.client.get(r.headers["location"], headers=api.keys.a)
    assert got.status_code == 200
    assert got.content == b"Ana"
    f = api.client.post(f"/v1/orders/{order}/fulfilment", headers=api.keys.a)
    assert f.status_code == 200
    assert f.headers["location"] == "/v1/orders/2026%3ADE.7/receipt"
    receipt = api.client.get(f.headers["location"], headers=api.keys.a)
    assert receipt.json()["body"]["order"]["external_id"] == order


def test_item_and_case_ids_in_paths_follow_the_rule(embedded_api: Api) -> None:
    api = embedded_api
    api.client.put("/v1/orders/o-1", headers=api.keys.a)
    r = api.client.get("/v1/orders/o-1/items/%E2%82%AC/content", headers=api.keys.a)
    assert_problem(r, 422, "validation_error")
    c = api.client.get("/v1/review/cases/a%3Fb", headers=api.keys.auth(api.keys.reviewer))
    assert_problem(c, 422, "validation_error")


def test_an_unauthenticated_caller_learns_nothing_from_the_id_check(embedded_api: Api) -> None:
    assert_problem(embedded_api.client.put("/v1/orders/%E2%82%AC-1"), 401, "unauthenticated")


@pytest.mark.parametrize("bad", ["€", "..", "a/b", ""])
def test_seller_ids_follow_the_rule(embedded_api: Api, bad: str) -> None:
    with pytest.raises(InvalidId):
        embedded_api.services.vault.orders.ensure_seller(bad)


def test_the_domain_refuses_an_order_id_outside_the_rule(embedded_api: Api) -> None:
    seller = embedded_api.services.vault.orders.seller_id("seller-a")
    assert seller is not None
    with pytest.raises(InvalidId):
        embedded_api.services.vault.orders.create(seller, "a?b", actor="test")
