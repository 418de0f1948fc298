"""A reviewer's day in Chromium against a real server: sign in, work the queue by keyboard, read the
evidence side by side, decide, appeal, escalate, lease and leave, the dashboard and the audit log,
sign out. Assertions are on what a person sees (roles, labels, text) and on the DOM, never only on
the HTML string; each main page is saved as a screenshot under test-artifacts/workbench/."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from customization_vault.catalog import ReviewView
from customization_vault.lifecycle import ReviewState
from customization_vault.review import QueueFilter
from tests.browser.conftest import LOGO_SEEDS, XSS, Site, screenshot
from tests.screening.image.logos import encode, glyph, placed

pytestmark = pytest.mark.browser

ORDER_TEXT = "T-1"
# Order ids follow the id rule (customization_vault/ids.py), so none can carry markup any more; the
# seller's name below is one stored before the rule, and still shown as text.
ORDER_IMAGE = "I-1"

ORDER_OFFENSIVE = "O-1"
ORDER_ESCALATE = "E-1"
ORDER_LEASE = "L-1"
TEXT = f"Engrave: {XSS} Netflixx mug"


def expect() -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


@pytest.fixture(scope="module")
def cases(site: Site) -> dict[str, ReviewView]:
    """One flagged item per order, uploaded by the seller over HTTP, oldest first in this order."""
    uploads: list[tuple[str, dict[str, Any]]] = [
        (ORDER_TEXT, {"json": {"kind": "text", "text": TEXT}}),
        (ORDER_IMAGE, {"files": {"file": ("p.jpg", _logo_photo(), "image/jpeg")}}),
        (ORDER_OFFENSIVE, {"json": {"kind": "text", "text": "Happy birthday Ana, you apeshit"}}),
        (ORDER_ESCALATE, {"json": {"kind": "text", "text": "Shell logo please"}}),
        (ORDER_LEASE, {"json": {"kind": "text", "text": "Spotifi party"}}),
    ]
    by_order: dict[str, ReviewView] = {}
    with site.api() as api:
        for order, body in uploads:
            assert api.put(f"/v1/orders/{order}").status_code == 201
            item = api.post(f"/v1/orders/{order}/items", **body)
            assert item.status_code == 201, item.text
            assert item.json()["verdict"] == "flagged", (order, item.json())
            if order == ORDER_TEXT:  # the order's other item, listed beside the case
                api.post(f"/v1/orders/{order}/items", json={"kind": "text", "text": "Ana"})
            time.sleep(0.01)  # distinct creation times: the queue's order is the upload order
    assert site.services.review is not None
    live, _ = site.services.review.queue(QueueFilter())
    names = site.services.review.names(live)
    for c in live:
        by_order[names[c.id][0] or ""] = c
    assert set(by_order) == {o for o, _ in uploads}
    return by_order


def _logo_photo() -> bytes:
    image, _ = placed(glyph(LOGO_SEEDS[0]), 9)
    return encode(image, "JPEG", quality=90)


def case_state(site: Site, case_id: str) -> ReviewView:
    """Read straight from the catalog: the desk would audit the test's look as a reviewer's view."""
    with site.services.catalog.unit() as u:
        case = u.reviews.get(case_id)
    assert case is not None
    return case


def sign_in(page: Any, site: Site, key: str) -> None:
    """Keyboard only: the key field has focus, Enter submits."""
    page.goto(f"{site.url}/review/")
    expect()(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.keyboard.type(key)
    page.keyboard.press("Enter")
    expect()(page.get_by_role("heading", name="Queue")).to_be_visible()


def claim(page: Any) -> None:
    """`c` on a case page, then wait for the claimed page (and its script) before the next key."""
    page.wait_for_load_state("load")
    page.keyboard.press("c")
    expect()(page.get_by_role("status")).to_have_text("Claimed: the case is yours for the lease.")
    page.wait_for_load_state("load")


def assert_no_markup_ran(page: Any) -> None:
    """The payloads are on the page as text: no element came from them and no handler ran."""
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0


def test_sign_in_and_claim_the_oldest_case_by_keyboard(
    site: Site, cases: dict[str, ReviewView], new_page: Any
) -> None:
    page = new_page()
    page.goto(f"{site.url}/review/sign-in")
    screenshot(page, "sign-in")
    sign_in(page, site, site.reviewer)
    rows = page.locator("table.queue tbody tr")
    expect()(rows).to_have_count(5)
    expect()(rows.first).to_contain_text(ORDER_TEXT)
    expect()(rows.nth(1)).to_contain_text(ORDER_IMAGE)
    expect()(rows.first).to_contain_text(site.seller_name)
    expect()(rows.first.locator(".sla")).to_have_text("on time")
    assert_no_markup_ran(page)
    screenshot(page, "queue")

    page.keyboard.press("n")
    expect()(page.get_by_role("heading", name=f"Trademark (text) · order {ORDER_TEXT}")).to_be_visible()
    assert page.url.endswith(f"/review/cases/{cases[ORDER_TEXT].id}")
    text = page.get_by_label("The customer's text")
    expect()(text).to_contain_text(XSS)  # the customer's markup, as text
    expect()(text.locator("mark")).to_have_text("Netflixx")
    finding = page.get_by_role("article", name="1 Trademark (text) review")
    expect()(finding.locator(".reference-label")).to_have_text("Netflix")
    expect()(finding).to_contain_text("0.88")
    expect()(finding.locator("dd").filter(has_text="1").first).to_be_visible()
    expect()(finding.locator(".matched")).to_have_text("Netflixx")
    others = page.get_by_role("region", name="The order's other items")
    expect()(others.locator("tbody tr")).to_have_count(1)
    assert_no_markup_ran(page)
    screenshot(page, "case-text")

    page.keyboard.press("r")
    expect()(page.locator("#reasons")).to_have_class("reasons armed")
    page.keyboard.press("1")
    expect()(page.get_by_role("status")).to_have_text("Rejected.")
    decided = case_state(site, cases[ORDER_TEXT].id)
    assert (decided.decision, decided.reason_code) == ("reject", "trademark")


def test_an_image_case_outlines_the_region_beside_the_registered_logo(
    site: Site, cases: dict[str, ReviewView], new_page: Any
) -> None:
    page = new_page()
    sign_in(page, site, site.reviewer)
    page.get_by_role("link", name=f"Open the case of order {ORDER_IMAGE}").click()
    page.wait_for_url(f"**/review/cases/{cases[ORDER_IMAGE].id}")
    claim(page)

    design = page.get_by_role("img", name="The customer's image")
    logo = page.get_by_role("img", name=f"Registered logo: Glyph {LOGO_SEEDS[0]} {XSS}")
    for img in (design, logo):
        expect()(img).to_be_visible()
        img.evaluate("i => i.decode()")
        assert img.evaluate("i => i.complete && i.naturalWidth > 0")
    with site.services.catalog.unit() as u:
        order_id = cases[ORDER_IMAGE].order_id
        assert order_id is not None
        item = u.items.get(cases[ORDER_IMAGE].item_id, order_id=order_id)
    assert item is not None
    (finding,) = item.findings
    assert finding.region is not None
    x, y, w, h = finding.region
    assert (item.width, item.height) == (1200, 900)
    box = design.bounding_box()
    overlay = page.locator("svg.regions").bounding_box()
    # The outline's geometry without its stroke, in the overlay's pixels.
    outline = page.locator("svg.regions rect.region").evaluate(
        "r => { const b = r.getBBox(); return {x: b.x, y: b.y, width: b.width, height: b.height}; }"
    )
    scale_x, scale_y = box["width"] / item.width, box["height"] / item.height
    assert scale_x == pytest.approx(scale_y, rel=0.01)  # shown at its own proportions
    assert overlay["x"] + outline["x"] == pytest.approx(box["x"] + x * scale_x, abs=1)
    assert overlay["y"] + outline["y"] == pytest.approx(box["y"] + y * scale_y, abs=1)
    assert outline["width"] == pytest.approx(w * scale_x, abs=1)
    assert outline["height"] == pytest.approx(h * scale_y, abs=1)
    card = page.get_by_role("article", name="1 Logo (image) review")
    expect()(card.locator(".reference-label")).to_have_text(f"Glyph {LOGO_SEEDS[0]} {XSS}")
    expect()(card.locator(".region-pixels")).to_have_text(f"x {x}, y {y}, {w} × {h} px")
    assert_no_markup_ran(page)
    screenshot(page, "case-image")

    page.keyboard.press("a")
    expect()(page.get_by_role("status")).to_have_text("Approved: the item is released to fulfilment.")
    assert case_state(site, cases[ORDER_IMAGE].id).decision == "approve"


def test_the_seller_appeals_and_a_second_reviewer_decides(
    site: Site, cases: dict[str, ReviewView], new_page: Any
) -> None:
    case = cases[ORDER_TEXT]
    statement = f"It is our shop's name. {XSS}"
    with site.api() as api:
        appeal = api.post(
            f"/v1/orders/{ORDER_TEXT}/items/{case.item_id}/appeal", json={"statement": statement}
        )
        assert appeal.status_code == 201, appeal.text
        content = f"/v1/orders/{ORDER_TEXT}/items/{case.item_id}/content"
        assert api.get(content).status_code == 451

    first = new_page()
    sign_in(first, site, site.reviewer)
    first.goto(f"{site.url}/review/cases/{case.id}")
    expect()(first.get_by_role("heading", name="Decision", exact=True)).to_be_visible()
    assert first.locator("#claim").count() == 0  # the first decider is never offered the appeal

    second = new_page()
    sign_in(second, site, site.reviewer_2)
    second.goto(f"{site.url}/review/cases/{case.id}")
    claim(second)
    expect()(second.locator(".appeal-statement")).to_have_text(statement)
    history = second.get_by_role("region", name="Earlier decisions")
    expect()(history).to_contain_text("trademark")
    assert_no_markup_ran(second)
    screenshot(second, "case-appeal")
    second.keyboard.press("a")
    expect()(second.get_by_role("status")).to_have_text("Approved: the item is released to fulfilment.")
    with site.api() as api:
        fetched = api.get(content)
        assert fetched.status_code == 200
        assert fetched.text == TEXT


def test_an_offensive_term_shows_its_category_and_is_rejected_by_keyboard(
    site: Site, cases: dict[str, ReviewView], new_page: Any
) -> None:
    page = new_page()
    sign_in(page, site, site.reviewer)
    page.goto(f"{site.url}/review/cases/{cases[ORDER_OFFENSIVE].id}")
    claim(page)
    card = page.get_by_role("article", name="1 Offensive term review")
    expect()(card.locator(".reference-term")).to_have_text("apeshit")
    expect()(card).to_contain_text("profanity")
    expect()(page.locator("#customer-text mark")).to_have_text("apeshit")
    page.keyboard.press("r")
    page.keyboard.press("Escape")  # changed their mind: nothing is decided
    expect()(page.locator("#reasons")).to_have_class("reasons")
    page.locator("#note").fill("insult on a birthday mug")
    page.locator("#note").press("a")  # typing a note never decides
    assert case_state(site, cases[ORDER_OFFENSIVE].id).state == ReviewState.CLAIMED
    page.locator("#note").press("Escape")
    page.keyboard.press("r")
    page.keyboard.press("3")
    expect()(page.get_by_role("status")).to_have_text("Rejected.")
    decided = case_state(site, cases[ORDER_OFFENSIVE].id)
    assert (decided.reason_code, decided.note) == ("offensive", "insult on a birthday mug" + "a")


def test_escalation_goes_to_an_admin(site: Site, cases: dict[str, ReviewView], new_page: Any) -> None:
    case_id = cases[ORDER_ESCALATE].id
    reviewer = new_page()
    sign_in(reviewer, site, site.reviewer)
    reviewer.goto(f"{site.url}/review/cases/{case_id}")
    claim(reviewer)
    reviewer.keyboard.press("e")
    expect()(reviewer.get_by_role("status")).to_have_text("Escalated: an admin decides it now.")
    assert reviewer.locator("#claim").count() == 0
    admin = new_page()
    sign_in(admin, site, site.admin)
    admin.goto(f"{site.url}/review/cases/{case_id}")
    claim(admin)
    admin.keyboard.press("a")
    expect()(admin.get_by_role("status")).to_have_text("Approved: the item is released to fulfilment.")
    assert case_state(site, case_id).decided_by is not None


def test_the_lease_renews_while_open_and_is_released_on_leaving(
    site: Site, cases: dict[str, ReviewView], new_page: Any
) -> None:
    case_id = cases[ORDER_LEASE].id
    page = new_page()
    sign_in(page, site, site.reviewer)
    page.goto(f"{site.url}/review/cases/{case_id}")
    claim(page)
    expect()(page.get_by_role("button", name="Approve a")).to_be_visible()
    before = case_state(site, case_id).lease_until
    assert before is not None
    with _renewed(page):
        page.evaluate("window.dispatchEvent(new Event('focus'))")
    after = case_state(site, case_id).lease_until
    assert after is not None
    assert after > before
    page.goto(f"{site.url}/review/dashboard")  # leaves the case page: its beacon releases the lease
    _eventually(lambda: case_state(site, case_id).state == ReviewState.OPEN)


class _renewed:
    """Waits for the page's own `lease-renewed` event (dispatched after the renew request answered)."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def __enter__(self) -> None:
        # A function returning nothing: evaluating the assignment itself would wait for the promise.
        self.page.evaluate(
            "() => { window.__renewed = new Promise(r => document.body.addEventListener("
            "'lease-renewed', e => r(e.detail.ok), {once: true})); }"
        )

    def __exit__(self, *exc: object) -> None:
        assert self.page.evaluate("window.__renewed") is True


def _eventually(check: Any, seconds: float = 20.0) -> None:
    """The beacon is answered after the page has gone: look until it landed (bounded)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the release beacon never arrived"
        time.sleep(0.05)


def test_dashboard_and_audit_for_an_admin(site: Site, cases: dict[str, ReviewView], new_page: Any) -> None:
    page = new_page()
    sign_in(page, site, site.admin)
    page.get_by_role("link", name="Dashboard").click()
    expect()(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    charts = page.get_by_role("img")
    expect()(charts).to_have_count(4)
    expect()(page.locator("#figure-queue")).to_have_text("1")  # the lease case, released back
    expect()(page.locator("#figure-overturn")).to_contain_text("100.0 % (1 of 1)")
    expect()(page.locator("#chart-decisions")).to_contain_text("6 decisions in 14 days, 6 today")
    expect()(page.get_by_role("region", name="Most matched entries, last 7 days")).to_contain_text("Netflix")
    screenshot(page, "dashboard")

    page.get_by_role("link", name="Audit").click()
    expect()(page.locator("#verify-result")).to_have_text(intact())
    order = page.get_by_role("textbox", name="Order")
    order.fill(ORDER_IMAGE)
    order.press("Enter")
    rows = page.locator("table.audit tbody tr")
    expect()(rows.filter(has_text="review.decide")).to_have_count(1)
    expect()(rows.filter(has_text="item.put")).to_have_count(1)
    expect()(rows.filter(has_text="session.sign_in")).to_have_count(0)
    assert_no_markup_ran(page)
    screenshot(page, "audit")


def intact() -> Any:
    return re.compile(r"The chain is intact: \d+ events checked\.")


def test_signing_out_closes_every_page(site: Site, cases: dict[str, ReviewView], new_page: Any) -> None:
    page = new_page()
    sign_in(page, site, site.reviewer)
    page.get_by_role("button", name="Sign out").click()
    expect()(page.get_by_role("status")).to_have_text("Signed out.")
    for path in ("/review/", "/review/dashboard", f"/review/cases/{cases[ORDER_LEASE].id}"):
        page.goto(f"{site.url}{path}")
        expect()(page.get_by_role("heading", name="Sign in")).to_be_visible()
    for path in (
        f"/review/cases/{cases[ORDER_LEASE].id}/content",
        f"/review/references/images/logo{LOGO_SEEDS[0]}",
    ):
        page.goto(f"{site.url}{path}")  # a visit: to the sign-in page, no byte of content
        expect()(page.get_by_role("heading", name="Sign in")).to_be_visible()
        status = page.evaluate("url => fetch(url).then(r => r.status)", f"{site.url}{path}")
        assert status == 401  # as the image element would ask for it


def test_an_admin_uploads_a_term_list_and_watches_the_re_screen_finish(
    site: Site, cases: dict[str, ReviewView], new_page: Any, tmp_path: Any
) -> None:
    """A clear engraving becomes flagged when a new term list names its word; the page shows the
    version and follows the re-screen to the end. (Last in the module: the new list replaces the
    shipped terms, so it would change what the earlier tests' cases match.)"""
    word = "quorblefax"
    with site.api() as api:
        assert api.put("/v1/orders/LIST-1").status_code == 201
        item = api.post("/v1/orders/LIST-1/items", json={"kind": "text", "text": f"For {word}, with love"})
        assert item.json()["verdict"] == "clear"
    terms = tmp_path / 'terms <img src=x onerror="window.__xss=4">.csv'  # a file name is markup too
    terms.write_text(f"id,term,category,severity\n{word},{word},other,review\n")

    page = new_page()
    sign_in(page, site, site.admin)
    page.get_by_role("link", name="Lists").click()
    expect()(page.get_by_role("heading", name="Screening lists")).to_be_visible()
    page.get_by_role("combobox", name="List").select_option("terms")
    page.get_by_label("File").set_input_files(str(terms))
    page.get_by_role("button", name="Import").click()
    expect()(page.get_by_role("status")).to_contain_text("Imported")
    versions = page.locator("table.versions tbody tr")
    expect()(versions.first).to_contain_text("terms")
    expect()(versions.first).to_contain_text("1")  # entries
    job = page.locator("table.jobs tbody tr").first
    expect()(job.locator(".job-state")).to_have_text("pending")
    assert_no_markup_ran(page)  # the uploaded file's name is on the page as text

    assert site.services.rescreener().run() is not None  # what the worker in `serve` does in the background
    expect()(job.locator(".job-state")).to_have_text("done", timeout=15_000)  # the page polls it
    done = site.services.rescreener().latest(1)[0]
    expect()(job).to_contain_text(f"{done.total} of {done.total}")
    expect()(job.get_by_role("progressbar")).to_have_attribute("value", "100.0")
    with site.api() as api:
        after = api.get("/v1/orders/LIST-1").json()["items"][0]
    assert (after["state"], after["review"]["state"]) == ("flagged", "open")
    screenshot(page, "lists")
