"""The workbench's pages over HTTP: sessions, CSRF, who may see and decide what, HTML errors, headers.

The browser suite (`tests/browser/`) drives the same pages in Chromium; these checks need no browser
and run on both backend families.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from customization_vault.apikeys import Role
from customization_vault.lifecycle import ReviewState
from tests.api.conftest import FLAG_WORD, Api, png_bytes
from tests.api.workbench_client import PageClient

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def pages(api: Api) -> Iterator[Any]:
    opened: list[PageClient] = []

    def open_client(base_url: str = "http://api.test") -> PageClient:
        client = PageClient(api.client, base_url)
        opened.append(client)
        return client

    yield open_client
    for c in opened:
        c.close()


def flagged_case(api: Api, order: str = "W-1", text: str | None = None) -> str:
    h = api.keys.a
    api.client.put(f"/v1/orders/{order}", headers=h)
    body = {"kind": "text", "text": text or f"Mug {XSS} {FLAG_WORD.decode()}"}
    item = api.client.post(f"/v1/orders/{order}/items", headers=h, json=body).json()
    assert item["verdict"] == "flagged"
    cases = api.services.review.queue(_all())[0]
    return next(c.id for c in cases if c.item_id == item["id"])


def _all() -> Any:
    from customization_vault.review import QueueFilter

    return QueueFilter()


def is_html(resp: Any) -> bool:
    return str(resp.headers.get("content-type", "")).startswith("text/html")


def test_every_page_image_and_form_needs_a_session(api: Api, pages: Any) -> None:
    case_id = flagged_case(api)
    anonymous = pages()
    for path in (
        "/review/",
        "/review/dashboard",
        "/review/audit",
        "/review/audit/verify",
        f"/review/cases/{case_id}",
    ):
        visit = anonymous.page(path)
        assert visit.status_code == 303, path
        assert visit.headers["location"].startswith("/review/sign-in?next=")
        fetched = anonymous.request("GET", path)  # not a page visit (htmx, an image): 401, in HTML
        assert fetched.status_code == 401, path
        assert is_html(fetched)
    for path in (f"/review/cases/{case_id}/content", "/review/references/images/anything"):
        resp = anonymous.request("GET", path)
        assert resp.status_code == 401
        assert FLAG_WORD.decode() not in resp.text
    for path in (
        "/review/claim",
        f"/review/cases/{case_id}/claim",
        f"/review/cases/{case_id}/decision",
        f"/review/cases/{case_id}/lease",
        f"/review/cases/{case_id}/release",
        "/review/sign-out",
    ):
        resp = anonymous.post(path, {"decision": "approve"})
        assert resp.status_code == 401, path
        assert is_html(resp)
    assert api.services.review.detail(case_id, _reviewer(api)).case.state == ReviewState.OPEN


def _reviewer(api: Api) -> Any:
    from customization_vault.review import Reviewer

    return Reviewer("reviewer:test")


def test_a_fulfilment_key_cannot_sign_in(api: Api, pages: Any) -> None:
    browser = pages()
    for key in (api.keys.seller_a, api.keys.revoked, "cv_made_up"):
        resp = browser.sign_in(key)
        assert resp.status_code in (401, 403)
        assert is_html(resp)
        assert "cv_session" not in resp.headers.get("set-cookie", "")
        assert browser.page("/review/").status_code == 303


def test_the_session_cookie_is_strict_and_secure_over_tls(api: Api, pages: Any) -> None:
    plain = pages().sign_in(api.keys.reviewer)
    cookie = plain.headers["set-cookie"]
    session = next(c for c in cookie.split(", cv_") if "cv_session=" in c)
    assert "HttpOnly" in session
    assert "SameSite=strict" in session
    assert "Path=/review" in session
    assert "Secure" not in session
    tls = pages("https://api.test").sign_in(api.keys.reviewer)
    assert "Secure" in next(c for c in tls.headers["set-cookie"].split(", cv_") if "cv_session=" in c)


def test_sign_in_needs_the_forms_own_token(api: Api, pages: Any) -> None:
    browser = pages()
    browser.page("/review/sign-in")
    forged = browser.request(
        "POST", "/review/sign-in", data={"api_key": api.keys.reviewer, "csrf_token": "guessed"}
    )
    assert forged.status_code == 403
    assert "cv_session" not in forged.headers.get("set-cookie", "")


def test_a_post_without_the_csrf_token_is_refused(api: Api, pages: Any) -> None:
    case_id = flagged_case(api)
    reviewer, other = pages(), pages()
    reviewer.sign_in(api.keys.reviewer)
    other.sign_in(api.keys.admin)
    assert reviewer.post(f"/review/cases/{case_id}/claim").status_code == 303
    for token in (None, "", other.csrf):
        data = {"decision": "approve"} if token is None else {"decision": "approve", "csrf_token": token}
        resp = reviewer.post(f"/review/cases/{case_id}/decision", data, csrf=False)
        assert resp.status_code == 403
        assert is_html(resp)
    lease = reviewer.request("POST", f"/review/cases/{case_id}/lease", headers={"X-CSRF-Token": other.csrf})
    assert lease.status_code == 403
    assert reviewer.post("/review/sign-out", csrf=False).status_code == 403
    case = api.services.review.detail(case_id, _reviewer(api)).case
    assert (case.state, case.decision) == (ReviewState.CLAIMED, None)
    ok = reviewer.request("POST", f"/review/cases/{case_id}/lease", headers={"X-CSRF-Token": reviewer.csrf})
    assert ok.status_code == 204


def test_another_reviewers_lease_cannot_be_decided_through_a_forged_form(api: Api, pages: Any) -> None:
    case_id = flagged_case(api)
    token, _ = api.services.api_keys.create(Role.REVIEWER)
    holder, intruder = pages(), pages()
    holder.sign_in(api.keys.reviewer)
    intruder.sign_in(token)
    assert holder.post("/review/claim").headers["location"] == f"/review/cases/{case_id}"
    # A well-formed form with the intruder's own valid token, naming the holder's case.
    for path, data in (
        (f"/review/cases/{case_id}/decision", {"decision": "reject", "reason": "trademark"}),
        (f"/review/cases/{case_id}/release", {"then": "queue"}),
        (f"/review/cases/{case_id}/claim", {}),
    ):
        resp = intruder.post(path, data)
        assert resp.status_code == 409, path
        assert is_html(resp)
    case = api.services.review.detail(case_id, _reviewer(api)).case
    assert case.state == ReviewState.CLAIMED
    assert case.decision is None
    assert holder.post(f"/review/cases/{case_id}/decision", {"decision": "approve"}).status_code == 303


def test_content_is_never_cached_and_every_view_is_audited(api: Api, pages: Any) -> None:
    h = api.keys.a
    api.client.put("/v1/orders/W-2", headers=h)
    flagged_case(api, "W-2")
    image = api.client.post(
        "/v1/orders/W-2/items", headers=h, files={"file": ("p.png", png_bytes(), "image/png")}
    )
    with api.services.catalog.unit() as u:
        stored = u.items.get(image.json()["id"], order_id=u.orders.by_external_id("W-2")[0].id)
    assert stored is not None
    assert (stored.width, stored.height) == (32, 24)  # kept for the region overlay
    browser = pages()
    browser.sign_in(api.keys.reviewer)
    case_id = browser.post("/review/claim").headers["location"].rsplit("/", 1)[1]
    page = browser.page(f"/review/cases/{case_id}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)  # no inline script at all
    assert ' style="' not in page.text
    content = browser.request("GET", f"/review/cases/{case_id}/content")
    assert content.status_code == 200
    assert content.headers["cache-control"] == "no-store"
    assert content.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert FLAG_WORD.decode() in content.text
    actions = [(e.action, e.purpose) for e in api.services.audit.history(case_id)]
    assert ("review.view", None) in actions
    detail = api.services.review.detail(case_id, _reviewer(api))
    reads = [e for e in api.services.audit.history(detail.item.id) if e.action == "item.read"]
    # The screening job's decryption, then the page's text and the content fetch.
    assert [e.purpose for e in reads] == ["screening", "review", "review"]
    for path in ("/review/", "/review/dashboard"):
        assert browser.page(path).headers["cache-control"] == "no-store"
    assert browser.request("GET", "/review/static/workbench.js").status_code == 200


def test_markup_in_customer_text_and_appeals_is_escaped(api: Api, pages: Any) -> None:
    case_id = flagged_case(api)
    reviewer = pages()
    reviewer.sign_in(api.keys.reviewer)
    reviewer.post(f"/review/cases/{case_id}/claim")
    reviewer.post(
        f"/review/cases/{case_id}/decision", {"decision": "reject", "reason": "trademark", "note": XSS}
    )
    item_id = api.services.review.detail(case_id, _reviewer(api)).item.id
    appeal = api.client.post(
        f"/v1/orders/W-1/items/{item_id}/appeal", headers=api.keys.a, json={"statement": XSS}
    )
    assert appeal.status_code == 201
    admin = pages()
    admin.sign_in(api.keys.admin)
    for browser, path in (
        (reviewer, f"/review/cases/{case_id}"),
        (admin, f"/review/cases/{case_id}"),
        (admin, "/review/audit"),
    ):
        html = browser.page(path).text
        assert "<script>alert" not in html
        assert "<img src=x" not in html
    html = admin.page(f"/review/cases/{case_id}").text
    assert html.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") >= 3  # text, note, appeal


def test_errors_are_html_pages(api: Api, pages: Any) -> None:
    browser = pages()
    browser.sign_in(api.keys.reviewer)
    missing = browser.page("/review/cases/no-such-case")
    assert missing.status_code == 404
    assert is_html(missing)
    assert "Not found" in missing.text
    unknown = browser.page("/review/no-such-page")
    assert (unknown.status_code, is_html(unknown)) == (404, True)
    assert browser.page("/review/audit").status_code == 403  # admins only
    bad = browser.post("/review/claim", {"kind": "x" * 500})
    assert (bad.status_code, is_html(bad)) == (422, True)


def test_idle_sessions_end_and_sign_out_closes_every_page(api: Api, pages: Any) -> None:
    case_id = flagged_case(api)
    browser = pages()
    browser.sign_in(api.keys.reviewer)
    assert browser.page("/review/").status_code == 200
    idle = api.services.sessions.idle
    api.services.clock.advance(idle + timedelta(seconds=1))
    assert browser.page("/review/").status_code == 303
    browser.sign_in(api.keys.reviewer)
    assert browser.post("/review/sign-out").status_code == 303
    for path in ("/review/", "/review/dashboard", f"/review/cases/{case_id}"):
        assert browser.page(path).status_code == 303
    assert browser.request("GET", f"/review/cases/{case_id}/content").status_code == 401


def test_claim_next_and_release_walk_the_queue(api: Api, pages: Any) -> None:
    first = flagged_case(api, "Q-1")
    api.services.clock.advance(timedelta(seconds=1))
    second = flagged_case(api, "Q-2")
    browser = pages()
    browser.sign_in(api.keys.reviewer)
    queue = browser.page("/review/").text
    assert queue.index("Q-1") < queue.index("Q-2")  # oldest first
    assert browser.post("/review/claim").headers["location"] == f"/review/cases/{first}"
    # "next" while holding the first: the second is claimed, then the first goes back.
    moved = browser.post("/review/claim", {"current": first})
    assert moved.headers["location"] == f"/review/cases/{second}"
    assert api.services.review.detail(first, _reviewer(api)).case.state == ReviewState.OPEN
    released = browser.post(f"/review/cases/{second}/release", {"then": "queue"})
    assert released.headers["location"] == "/review/?done=released"
    beacon_after_release = browser.post(f"/review/cases/{second}/release")
    assert beacon_after_release.status_code == 204
    filtered = browser.post("/review/claim", {"seller": "nobody"})
    assert filtered.headers["location"] == "/review/?seller=nobody&done=empty"


def test_dashboard_and_audit_show_the_days_work(api: Api, pages: Any) -> None:
    case_id = flagged_case(api)
    admin = pages()
    admin.sign_in(api.keys.admin)
    admin.post(f"/review/cases/{case_id}/claim")
    admin.post(f"/review/cases/{case_id}/decision", {"decision": "reject", "reason": "trademark"})
    dash = admin.page("/review/dashboard").text
    assert '<dd id="figure-queue">0</dd>' in dash
    assert "1 decisions in 14 days, 1 today" in dash
    assert "acmecola" in dash  # the most matched entry
    audit = admin.page("/review/audit?order=W-1").text
    assert "<td>review.decide</td>" in audit
    assert "<td>item.put</td>" in audit
    assert "<td>session.sign_in</td>" not in audit  # not about this order
    assert "<td>session.sign_in</td>" in admin.page("/review/audit?action=session.sign_in").text
    verify = admin.request("GET", "/review/audit/verify", headers={"HX-Request": "true"})
    assert "The chain is intact" in verify.text
    assert "<html" not in verify.text  # a fragment for htmx


def test_the_audit_page_checks_the_chain_against_its_signed_checkpoints(api: Api, pages: Any) -> None:
    """A consistent rewrite passes the bare chain; the page must give `audit verify`'s verdict."""
    from tests.retention.test_anchor import _rewrite

    flagged_case(api)
    assert api.services.anchor is not None
    assert api.services.anchor.checkpoint() is not None
    admin = pages()
    admin.sign_in(api.keys.admin)
    verify = admin.request("GET", "/review/audit/verify", headers={"HX-Request": "true"})
    assert "The chain is intact" in verify.text
    _rewrite(api.services, edit_seq=1)
    assert api.services.audit.verify().ok  # the chain alone can not tell
    broken = admin.request("GET", "/review/audit/verify", headers={"HX-Request": "true"})
    assert "The chain is broken" in broken.text
    assert "signed checkpoint" in broken.text


@pytest.mark.parametrize(
    "path", ["/review/cases/a%3Fb", "/review/cases/%E2%82%AC", "/review/lists/rescreens/a%3Fb"]
)
def test_workbench_ids_in_paths_follow_the_id_rule(api: Api, pages: Any, path: str) -> None:
    admin = pages()
    admin.sign_in(api.keys.admin)
    assert admin.page(path).status_code == 422


def test_an_admin_uploads_a_trademark_csv_and_reference_images_on_the_lists_page(
    api: Api, pages: Any, tmp_path: Any
) -> None:
    """The browser suite uploads a term list; here the other two the issue names go through the same
    form: a trademark CSV and reference images (the registry zip), each becoming a stored version."""
    from customization_vault.lists import pack_registry_csv
    from tests.screening.image.logos import encode, glyph, on_white

    (tmp_path / "art").mkdir()
    (tmp_path / "art" / "logo.png").write_bytes(encode(on_white(glyph(3))))
    (tmp_path / "registry.csv").write_text("id,path,label\nlogo,art/logo.png,A logo\n")
    admin = pages()
    admin.sign_in(api.keys.admin)
    uploads = [
        ("marks", "marks.csv", b"id,mark,distinctiveness\nq,Quuxcorp,coined\nz,Zorbly,coined\n"),
        ("images", "registry.zip", pack_registry_csv(tmp_path / "registry.csv")),
    ]
    for kind, name, data in uploads:
        resp = admin.request(
            "POST",
            "/review/lists",
            data={"kind": kind, "csrf_token": admin.csrf},
            files={"file": (name, data)},
        )
        assert resp.status_code == 303, resp.text
        assert resp.headers["location"].endswith("/lists?done=imported")
    stored = {(v.kind, v.version, v.entries, v.source) for v in api.services.lists.history()}
    assert ("marks", 1, 2, "upload:marks.csv") in stored
    assert ("images", 1, 1, "upload:registry.zip") in stored
    page = admin.page("/review/lists").text
    assert "upload:marks.csv" in page
    assert "upload:registry.zip" in page
    refused = admin.request(
        "POST",
        "/review/lists",
        data={"kind": "marks", "csrf_token": admin.csrf},
        files={"file": ("bad.csv", b"id,mark\nx,\n")},
    )
    assert refused.status_code == 422
    assert is_html(refused)
    assert len(api.services.lists.history()) == 2  # nothing stored from the refused file
