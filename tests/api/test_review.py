"""The review API: the whole workflow over HTTP, and every review route × role."""

from __future__ import annotations

from typing import Any

import pytest

from customization_vault.apikeys import Role
from customization_vault.review import QueueFilter
from tests.api.conftest import FLAG_WORD, Api, assert_problem

TEXT = "Mug for Ana: " + FLAG_WORD.decode()


def flagged_item(api: Api, order: str = "R-1", headers: dict[str, str] | None = None) -> dict[str, Any]:
    h = headers or api.keys.a
    assert api.client.put(f"/v1/orders/{order}", headers=h).status_code in (200, 201)
    resp = api.client.post(f"/v1/orders/{order}/items", headers=h, json={"kind": "text", "text": TEXT})
    assert resp.status_code == 201, resp.text
    item: dict[str, Any] = resp.json()
    assert item["verdict"] == "flagged"
    return item


def second_reviewer(api: Api) -> dict[str, str]:
    token, _ = api.services.api_keys.create(Role.REVIEWER)
    return api.keys.auth(token)


def test_flagged_rejected_appealed_approved_fetched(api: Api) -> None:
    c = api.client
    item = flagged_item(api)
    assert item["review"]["state"] == "open"
    assert item["review"]["appeal"] is None
    content = item["content_url"]
    assert_problem(c.get(content, headers=api.keys.a), 409)
    r1, r2 = api.keys.auth(api.keys.reviewer), second_reviewer(api)

    claimed = c.post("/v1/review/claims", headers=r1, json={})
    assert claimed.status_code == 200, claimed.text
    case = claimed.json()["case"]
    assert (case["item_id"], case["order_id"], case["seller"], case["kind"], case["state"]) == (
        item["id"],
        "R-1",
        "seller-a",
        "trademark",
        "claimed",
    )
    assert claimed.json()["lease_expires_at"]
    assert_problem(
        c.post(f"/v1/review/cases/{case['id']}/decision", headers=r2, json={"decision": "approve"}), 409
    )
    assert_problem(
        c.post(f"/v1/review/cases/{case['id']}/decision", headers=r1, json={"decision": "reject"}), 422
    )

    detail = c.get(f"/v1/review/cases/{case['id']}", headers=r1).json()
    (finding,) = detail["findings"]
    start, end = finding["span"]
    body = c.get(detail["item"]["content_url"], headers=r1)
    assert body.status_code == 200
    assert body.headers["cache-control"] == "no-store"
    assert body.text[start:end] == FLAG_WORD.decode()
    assert finding["reference"]["entry"] == FLAG_WORD.decode().lower()

    decided = c.post(
        f"/v1/review/cases/{case['id']}/decision",
        headers=r1,
        json={"decision": "reject", "reason": "trademark", "note": "the brand's name"},
    )
    assert decided.status_code == 200
    assert (decided.json()["state"], decided.json()["decision"]) == ("decided", "reject")
    assert_problem(c.get(content, headers=api.keys.a), 451)

    appeal = c.post(
        f"/v1/orders/R-1/items/{item['id']}/appeal", headers=api.keys.a, json={"statement": "Our name."}
    )
    assert appeal.status_code == 201, appeal.text
    assert appeal.json()["appeal"]["state"] == "pending"
    assert_problem(
        c.post(f"/v1/orders/R-1/items/{item['id']}/appeal", headers=api.keys.a, json={"statement": "again"}),
        409,
    )
    assert c.post("/v1/review/claims", headers=r1, json={}).status_code == 204  # not the first decider
    assert_problem(c.post("/v1/review/claims", headers=r1, json={"case_id": case["id"]}), 403)
    again = c.post("/v1/review/claims", headers=r2, json={})
    assert again.json()["case"]["id"] == case["id"]
    assert again.json()["case"]["appeal_statement"] == "Our name."
    assert (
        c.post(
            f"/v1/review/cases/{case['id']}/decision", headers=r2, json={"decision": "approve"}
        ).status_code
        == 200
    )

    fetched = c.get(content, headers=api.keys.a)
    assert fetched.status_code == 200
    assert fetched.text == TEXT
    order = c.get("/v1/orders/R-1", headers=api.keys.a).json()
    review = order["items"][0]["review"]
    assert (review["decision"], review["reason"]) == ("reject", "trademark")
    assert review["appeal"]["decision"] == "approve"
    assert review["appeal"]["state"] == "decided"
    assert "note" not in review  # reviewer notes stay with the reviewers


def test_queue_lists_filters_and_pages(api: Api) -> None:
    flagged_item(api, "Q-1")
    flagged_item(api, "Q-2", api.keys.b)
    r = api.keys.auth(api.keys.reviewer)
    everything = api.client.get("/v1/review/cases", headers=r).json()
    assert everything["total"] == 2
    only_b = api.client.get("/v1/review/cases", headers=r, params={"seller": "seller-b"}).json()
    assert [c["order_id"] for c in only_b["cases"]] == ["Q-2"]
    assert api.client.get("/v1/review/cases", headers=r, params={"seller": "nobody"}).json()["total"] == 0
    page = api.client.get("/v1/review/cases", headers=r, params={"limit": 1, "offset": 1}).json()
    assert (len(page["cases"]), page["total"]) == (1, 2)
    assert_problem(api.client.get("/v1/review/cases", headers=r, params={"limit": 0}), 422)


def test_lease_renew_and_release(api: Api) -> None:
    flagged_item(api)
    r1, r2 = api.keys.auth(api.keys.reviewer), second_reviewer(api)
    case = api.client.post("/v1/review/claims", headers=r1, json={}).json()["case"]
    assert_problem(api.client.post("/v1/review/claims", headers=r2, json={"case_id": case["id"]}), 409)
    assert api.client.post("/v1/review/claims", headers=r2, json={}).status_code == 204  # held: not waiting
    assert_problem(api.client.post(f"/v1/review/cases/{case['id']}/lease", headers=r2), 409)
    assert api.client.post(f"/v1/review/cases/{case['id']}/lease", headers=r1).status_code == 200
    assert_problem(api.client.request("DELETE", f"/v1/review/cases/{case['id']}/lease", headers=r2), 409)
    released = api.client.request("DELETE", f"/v1/review/cases/{case['id']}/lease", headers=r1)
    assert released.json()["state"] == "open"
    assert api.client.post("/v1/review/claims", headers=r2, json={"case_id": case["id"]}).status_code == 200


def test_appeals_are_the_sellers_own(api: Api) -> None:
    item = flagged_item(api)
    other = api.client.post(
        f"/v1/orders/R-1/items/{item['id']}/appeal", headers=api.keys.b, json={"statement": "x"}
    )
    assert_problem(other, 404)  # another seller's order looks missing
    assert_problem(
        api.client.post(
            f"/v1/orders/R-1/items/{item['id']}/appeal", headers=api.keys.a, json={"statement": "x"}
        ),
        409,
    )
    too_long = {"statement": "x" * 2001}
    assert_problem(
        api.client.post(f"/v1/orders/R-1/items/{item['id']}/appeal", headers=api.keys.a, json=too_long), 422
    )


ROUTES = [
    ("GET", "/v1/review/cases", None),
    ("POST", "/v1/review/claims", {}),
    ("GET", "/v1/review/cases/{case}", None),
    ("GET", "/v1/review/cases/{case}/content", None),
    ("POST", "/v1/review/cases/{case}/decision", {"decision": "approve"}),
    ("POST", "/v1/review/cases/{case}/lease", None),
    ("DELETE", "/v1/review/cases/{case}/lease", None),
    ("GET", "/v1/review/references/images/x", None),
]


def test_review_routes_refuse_everyone_but_reviewers(api: Api) -> None:
    """Every review route × every non-reviewer caller (one app, so the matrix is cheap)."""
    item = flagged_item(api)
    case = api.services.review.queue(QueueFilter())[0][0]
    assert case.item_id == item["id"]
    callers = {
        "seller_a": (api.keys.a, 403),
        "seller_b": (api.keys.b, 403),
        "revoked": (api.keys.auth(api.keys.revoked), 401),
        "none": ({}, 401),
        "malformed": ({"Authorization": "Bearer nope"}, 401),
    }
    for method, path, body in ROUTES:
        for who, (headers, status) in callers.items():
            resp = api.client.request(method, path.format(case=case.id), headers=headers, json=body)
            assert resp.status_code == status, (method, path, who)
            assert_problem(resp, status)


@pytest.mark.parametrize("who", ["reviewer", "admin"])
def test_reviewers_and_admins_may_work_the_queue(api: Api, who: str) -> None:
    flagged_item(api)
    h = api.keys.auth(api.keys.reviewer if who == "reviewer" else api.keys.admin)
    case = api.client.post("/v1/review/claims", headers=h, json={}).json()["case"]
    assert api.client.get(f"/v1/review/cases/{case['id']}", headers=h).status_code == 200
    assert api.client.get(f"/v1/review/cases/{case['id']}/content", headers=h).status_code == 200
    assert (
        api.client.post(
            f"/v1/review/cases/{case['id']}/decision", headers=h, json={"decision": "approve"}
        ).status_code
        == 200
    )
    assert_problem(api.client.get("/v1/review/cases/nope", headers=h), 404)
    assert_problem(api.client.get("/v1/review/references/images/nope", headers=h), 404)
    assert_problem(api.client.post("/v1/review/claims", headers=h, json={"bogus": 1}), 422)


def test_review_reads_are_audited_and_fulfilment_closes_the_case(api: Api) -> None:
    item = flagged_item(api)
    r = api.keys.auth(api.keys.reviewer)
    case = api.client.post("/v1/review/claims", headers=r, json={}).json()["case"]
    api.client.get(f"/v1/review/cases/{case['id']}/content", headers=r)
    reads = [e for e in api.services.audit.history(item["id"]) if e.action == "item.read"]
    assert [e.purpose for e in reads] == ["screening", "review"]
    assert api.client.post("/v1/orders/R-1/fulfilment", headers=api.keys.a).status_code == 200
    assert_problem(api.client.get(f"/v1/review/cases/{case['id']}/content", headers=r), 410)
    closed = api.client.get(f"/v1/review/cases/{case['id']}", headers=r)
    assert closed.status_code == 200
    assert closed.json()["case"]["state"] == "closed"
    assert closed.json()["case"]["closed_reason"] == "purged"
