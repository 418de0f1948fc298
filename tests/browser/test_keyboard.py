"""The workbench with the keyboard alone: the queue's filters and "claim next", the audit page's filters
and its chain check, the lists page's uploads (a trademark CSV, a reference-image registry zip) and its
re-screen, and sign-out; and a Tab sweep of every page (every control reached in order, none missing,
no trap). Nothing here clicks or fills: every control is reached with Tab/Shift+Tab, set
with arrow keys, Space or typing, and used with Enter or Space; each step asserts where the focus went
(`document.activeElement`) and that the focused control shows a focus ring. The one thing not typed is
the file itself: the operating system's file chooser, which a keyboard user also gets, is answered with
`set_files`. Its own module (so its own server): the list uploads replace the marks and the logos."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from customization_vault.apikeys import Role
from customization_vault.catalog import ReviewView
from customization_vault.lifecycle import ReviewState
from customization_vault.lists import pack_registry_csv
from customization_vault.review import QueueFilter
from tests.browser.conftest import Site, screenshot
from tests.screening.image.logos import encode, glyph, on_white

pytestmark = pytest.mark.browser

SHOP_B = "shop-b"
# Seller A (the conftest's seller, whose name carries markup) uploads first, so an unfiltered "claim
# next" would take its case: only the filters lead to shop-b's.
UPLOADS_A = (("KA-1", "Netflixx mug"), ("KA-2", "Happy birthday Ana, you apeshit"))
UPLOADS_B = (("KB-1", "Spotifi party"), ("KB-2", "Netflixx cup"), ("KB-3", "apeshit on a cup"))
INTACT = re.compile(r"The chain is intact: \d+ events checked\.")
WORD = "Quorblecorp"  # a mark no shipped list knows: the uploaded trademark CSV makes it match

# What has the focus: a form control by its name, a button or link by its text; and whether the
# page draws a ring around it (the style sheet's :focus-visible).
FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) { return null; }
  const s = getComputedStyle(e);
  return {
    tag: e.tagName.toLowerCase(),
    id: e.id || "",
    name: e.getAttribute("name") || "",
    type: (e.getAttribute("type") || "").toLowerCase(),
    text: (e.innerText || "").trim(),
    value: "value" in e ? String(e.value) : "",
    ring: e.matches(":focus-visible, :focus-within")
      && s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0,
  };
}"""


def expect() -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


@pytest.fixture(scope="module")
def shop_b(site: Site) -> tuple[str, str]:
    """A second seller, with its fulfilment key and that key's audit actor."""
    with site.services.catalog.unit() as u:
        seller_id = u.sellers.add(SHOP_B, site.services.clock())
    key, info = site.services.api_keys.create(Role.FULFILMENT, seller_id=seller_id)
    return key, f"fulfilment:{info.id}"


@pytest.fixture(scope="module")
def cases(site: Site, shop_b: tuple[str, str]) -> dict[str, ReviewView]:
    """One flagged text item per order, oldest first in the order above; plus one clear order the
    uploaded trademark list will flag."""
    import httpx

    key_b, _ = shop_b
    for key, uploads in ((site.seller, UPLOADS_A), (key_b, UPLOADS_B)):
        with httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as api:
            for order, text in uploads:
                assert api.put(f"/v1/orders/{order}").status_code == 201
                item = api.post(f"/v1/orders/{order}/items", json={"kind": "text", "text": text})
                assert item.status_code == 201, item.text
                assert item.json()["verdict"] == "flagged", (order, item.json())
                time.sleep(0.01)  # distinct creation times: the queue's order is the upload order
    with site.api() as api:
        assert api.put("/v1/orders/LK-1").status_code == 201
        clear = api.post("/v1/orders/LK-1/items", json={"kind": "text", "text": f"{WORD} mug"})
        assert clear.json()["verdict"] == "clear"
    assert site.services.review is not None
    live, _ = site.services.review.queue(QueueFilter())
    names = site.services.review.names(live)
    return {names[c.id][0] or "": c for c in live}


def focused(page: Any) -> dict[str, Any]:
    state = page.evaluate(FOCUSED)
    assert state is not None, "the focus fell back to the page itself"
    return dict(state)


def press(page: Any, key: str) -> dict[str, Any]:
    """One key; the element it leaves the focus on, which must show the focus ring."""
    page.keyboard.press(key)
    now = focused(page)
    assert now["ring"], f"no visible focus ring on {now}"
    return now


def tab_to(page: Any, want: Callable[[dict[str, Any]], bool], *, limit: int = 30) -> dict[str, Any]:
    """Tab forward until the wanted control has the focus (every stop on the way shows its ring)."""
    for _ in range(limit):
        now = press(page, "Tab")
        if want(now):
            return now
    raise AssertionError(f"{limit} presses of Tab never reached the control")


def field(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda f: f["name"] == name


def button(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda f: f["tag"] in ("button", "a") and f["text"].startswith(text)


def arrow_to(page: Any, value: str, *, limit: int = 20) -> None:
    """Move a closed <select> through its options with the arrow keys until it shows `value`."""
    now = focused(page)
    assert now["tag"] == "select", now
    was = now["name"]
    for _ in range(limit):
        if now["value"] == value:
            return
        now = press(page, "ArrowDown")
        assert (now["tag"], now["name"]) == ("select", was), now  # the arrows never move the focus away
    raise AssertionError(f"the arrow keys never reached the option {value!r}")


def sign_in(page: Any, site: Site, key: str) -> None:
    """The key field has the focus on arrival; Enter submits."""
    page.goto(f"{site.url}/review/")
    expect()(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert focused(page)["name"] == "api_key"
    page.keyboard.type(key)
    page.keyboard.press("Enter")
    expect()(page.get_by_role("heading", name="Queue")).to_be_visible()


def go(page: Any, link: str, heading: str) -> None:
    """Through the top navigation: Tab to the link, Enter."""
    tab_to(page, lambda f: f["tag"] == "a" and f["text"] == link)
    page.keyboard.press("Enter")
    expect()(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    page.wait_for_load_state("load")


def test_the_queue_is_filtered_and_the_next_case_of_the_filter_claimed_by_keyboard(
    site: Site, cases: dict[str, ReviewView], new_page: Any
) -> None:
    page = new_page()
    sign_in(page, site, site.reviewer)
    page.wait_for_load_state("load")
    heading = page.locator("#queue-heading")
    expect()(heading).to_have_text("5 cases, oldest first")
    list_ref = cases["KB-1"].list_ref
    assert list_ref is not None

    tab_to(page, field("kind"))
    arrow_to(page, "trademark")  # the form follows each change (htmx): the focus must stay put
    expect()(heading).to_have_text("3 cases, oldest first")
    assert focused(page)["name"] == "kind"
    assert press(page, "Tab")["name"] == "list"
    arrow_to(page, list_ref)
    expect()(page).to_have_url(re.compile(r"list="))
    assert press(page, "Tab")["name"] == "seller"
    arrow_to(page, SHOP_B)
    expect()(heading).to_have_text("2 cases, oldest first")
    rows = page.locator("table.queue tbody tr")
    expect()(rows).to_have_count(2)
    expect()(rows.first).to_contain_text("KB-1")
    expect()(rows.nth(1)).to_contain_text("KB-2")
    assert focused(page)["name"] == "seller"
    screenshot(page, "queue-filtered-by-keyboard")

    # Back up the form to "Claim next case" (before the filters in the page's order) and press it.
    assert press(page, "Shift+Tab")["name"] == "list"
    assert press(page, "Shift+Tab")["name"] == "kind"
    assert button("Claim next case")(press(page, "Shift+Tab"))
    page.keyboard.press("Enter")
    expect()(page.get_by_role("heading", name="Trademark (text) · order KB-1")).to_be_visible()
    url = urlsplit(page.url)
    assert url.path == f"/review/cases/{cases['KB-1'].id}"
    assert parse_qs(url.query) == {"kind": ["trademark"], "list": [list_ref], "seller": [SHOP_B]}
    page.wait_for_load_state("load")

    # `n` on the case keeps the filter: shop-b's other trademark case, and from there the first again
    # (given back when the reviewer moved on), never seller A's older ones.
    page.keyboard.press("n")
    expect()(page.get_by_role("heading", name="Trademark (text) · order KB-2")).to_be_visible()
    page.wait_for_load_state("load")
    page.keyboard.press("n")
    expect()(page.get_by_role("heading", name="Trademark (text) · order KB-1")).to_be_visible()
    review = site.services.review
    assert review is not None
    live, _ = review.queue(QueueFilter())
    held = {c.id for c in live if c.state == ReviewState.CLAIMED}
    assert held == {cases["KB-1"].id}  # KB-2 released on leaving it; seller A's never taken


def test_the_audit_log_is_filtered_and_the_chain_checked_by_keyboard(
    site: Site, cases: dict[str, ReviewView], shop_b: tuple[str, str], new_page: Any
) -> None:
    _, actor_b = shop_b
    page = new_page()
    sign_in(page, site, site.admin)
    page.wait_for_load_state("load")
    go(page, "Audit", "Audit log")
    expect()(page.locator("#verify-result")).to_have_text(INTACT)
    rows = page.locator("table.audit tbody tr")
    expect()(rows.filter(has_text="session.sign_in")).not_to_have_count(0)

    tab_to(page, field("order"))
    page.keyboard.type("KB-2")
    assert press(page, "Tab")["name"] == "actor"
    page.keyboard.type(actor_b)
    assert press(page, "Tab")["name"] == "action"
    arrow_to(page, "item.put")
    assert press(page, "Tab")["name"] == "since"
    # A date-and-time field is a Tab stop per part (month, day, year, hour, minute, AM/PM): through
    # both, on to the button, never stuck.
    tab_to(page, field("until"), limit=8)
    tab_to(page, button("Filter"), limit=8)
    page.keyboard.press("Enter")
    expect()(page).to_have_url(re.compile(r"action=item\.put"))
    expect()(rows).to_have_count(1)
    expect()(rows.first).to_contain_text("item.put")
    expect()(rows.first).to_contain_text(actor_b)
    expect()(page.locator("table.audit caption")).to_have_text("1 event, newest first")
    expect()(page.get_by_role("textbox", name="Order")).to_have_value("KB-2")
    expect()(page.get_by_role("combobox", name="Action")).to_have_value("item.put")
    # The check runs again on the filtered page: still the whole chain, still intact.
    expect()(page.locator("#verify-result")).to_have_text(INTACT)

    # Enter in a text field submits the form too: the seller's other order, by the same actor.
    tab_to(page, field("order"))
    page.keyboard.press("Control+A")
    page.keyboard.type("KB-1")
    page.keyboard.press("Enter")
    expect()(page).to_have_url(re.compile(r"order=KB-1"))
    expect()(rows).to_have_count(1)
    expect()(rows.first).to_contain_text("item.put")
    screenshot(page, "audit-filtered-by-keyboard")


def test_signing_out_by_keyboard(site: Site, cases: dict[str, ReviewView], new_page: Any) -> None:
    page = new_page()
    sign_in(page, site, site.reviewer)
    page.wait_for_load_state("load")
    skip = press(page, "Tab")  # the first stop: straight past the header to the page's content
    assert (skip["tag"], skip["text"]) == ("a", "Skip to content")
    expect()(page.get_by_role("link", name="Skip to content")).to_be_in_viewport()
    assert [press(page, "Tab")["text"] for _ in range(3)] == ["Queue", "Dashboard", "Sign out"]
    page.keyboard.press("Enter")
    expect()(page.get_by_role("status")).to_have_text("Signed out.")
    for path in ("/review/", "/review/dashboard", f"/review/cases/{cases['KA-1'].id}"):
        page.goto(f"{site.url}{path}")
        expect()(page.get_by_role("heading", name="Sign in")).to_be_visible()


# Numbers every control a person can use (shown, enabled); a radio group counts once, as Tab visits it
# once and the arrows move within it. The numbers are what the sweep below records as Tab visits them.
CONTROLS = """() => {
  const all = document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])');
  const groups = new Map();
  let n = 0;
  for (const e of all) {
    if (e.disabled || e.getClientRects().length === 0) { continue; }
    const group = e.type === "radio" ? e.name : null;
    if (group !== null && groups.has(group)) { e.dataset.kb = groups.get(group); continue; }
    e.dataset.kb = String(n++);
    if (group !== null) { groups.set(group, e.dataset.kb); }
  }
  return n;
}"""


def sweep(page: Any, name: str) -> None:
    """Tab from the top of the page to its end: every control is reached in the page's order, each
    shows the focus ring while it has the focus, and the focus leaves the last one (no trap holds it)."""
    page.wait_for_load_state("load")
    count = page.evaluate(CONTROLS)
    assert count > 0
    limit = 3 * count + 20  # a date-and-time field is a stop per part
    at = "() => document.activeElement && document.activeElement.dataset.kb"
    if page.evaluate(FOCUSED) is not None:  # a field with autofocus: Tab on to the end, then start over
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(FOCUSED) is None or page.evaluate(at) == "0":
                break
        else:
            raise AssertionError(f"{name}: the focus never left the page's last control")
    reached: list[int] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        state = page.evaluate(FOCUSED)
        if state is None:
            break  # past the last control: the focus went back to the page
        assert state["ring"], f"{name}: no visible focus ring on {state}"
        index = page.evaluate(at)
        if index is None:
            continue  # a stop that is no control (a scrolling box Chromium lets the keys scroll)
        if reached and int(index) == reached[0]:
            break  # round again to the first
        reached.append(int(index))
    else:
        raise AssertionError(f"{name}: the focus never left the page's last control")
    missing = sorted(set(range(count)) - set(reached))
    unreachable = page.evaluate(
        "ks => ks.map(k => document.querySelector('[data-kb=\"' + k + '\"]').outerHTML.slice(0, 120))",
        missing,
    )
    assert unreachable == [], f"{name}: Tab never reaches {unreachable}"
    first = reached.index(min(reached))  # from an autofocused field the round may start midway
    order = reached[first:] + reached[:first]
    assert order == sorted(order), f"{name}: the focus jumps about {reached}"


def test_tab_reaches_every_control_of_every_page_with_a_visible_ring(
    site: Site, cases: dict[str, ReviewView], new_page: Any
) -> None:
    page = new_page()
    page.goto(f"{site.url}/review/sign-in")
    sweep(page, "sign-in")
    sign_in(page, site, site.admin)
    sweep(page, "queue")
    tab_to(
        page,
        lambda f: (
            f["tag"] == "a"
            and f["text"] == "Open"
            and "KA-2" in page.evaluate("() => document.activeElement.getAttribute('aria-label')")
        ),
    )
    page.keyboard.press("Enter")
    expect()(page.get_by_role("heading", name="Offensive term · order KA-2")).to_be_visible()
    page.wait_for_load_state("load")
    page.keyboard.press("c")
    expect()(page.get_by_role("status")).to_have_text("Claimed: the case is yours for the lease.")
    sweep(page, "case")
    for link, heading in (("Dashboard", "Dashboard"), ("Lists", "Screening lists"), ("Audit", "Audit log")):
        go(page, link, heading)
        if link == "Audit":  # the chain check replaces its link once loaded: count what stays
            expect()(page.locator("#verify-result")).to_have_text(INTACT)
        sweep(page, link.lower())


def test_an_admin_uploads_marks_and_reference_images_and_re_screens_by_keyboard(
    site: Site, cases: dict[str, ReviewView], new_page: Any, tmp_path: Path
) -> None:
    """Last in the module: the new marks and logos replace what the cases above matched."""
    marks = tmp_path / "marks.csv"
    marks.write_text(f"id,mark,distinctiveness\nq,{WORD},coined\nz,Zorbly,coined\n")
    (tmp_path / "art").mkdir()
    for seed in (5, 6):
        (tmp_path / "art" / f"logo{seed}.png").write_bytes(encode(on_white(glyph(seed))))
    (tmp_path / "registry.csv").write_text(
        "id,path,label\nlogo5,art/logo5.png,Logo five\nlogo6,art/logo6.png,Logo six\n"
    )
    registry = tmp_path / "registry.zip"
    registry.write_bytes(pack_registry_csv(tmp_path / "registry.csv"))

    page = new_page()
    # Playwright asks the browser to intercept file choosers when the first listener is added, without
    # waiting for the answer: a listener added only around the key press can lose the race to it and
    # the chooser goes unseen. One listener for the whole test keeps the interception on.
    choosers: list[Any] = []
    page.on("filechooser", lambda chooser: choosers.append(chooser))
    sign_in(page, site, site.admin)
    page.wait_for_load_state("load")
    go(page, "Lists", "Screening lists")
    for kind, upload in (("marks", marks), ("images", registry)):
        tab_to(page, field("kind"))
        arrow_to(page, kind)
        chosen = press(page, "Tab")
        assert (chosen["tag"], chosen["type"], chosen["name"]) == ("input", "file", "file")
        with page.expect_file_chooser() as chooser:
            page.keyboard.press("Space")
        chooser.value.set_files(str(upload))
        assert page.evaluate("() => document.activeElement.files[0].name") == upload.name
        box = press(page, "Tab")
        assert (box["type"], box["name"]) == ("checkbox", "rescreen")
        page.keyboard.press("Space")  # no re-screen per file: one for both, started below
        assert page.evaluate("() => document.activeElement.checked") is False
        assert button("Import")(press(page, "Tab"))
        page.keyboard.press("Enter")
        expect()(page.get_by_role("status")).to_contain_text("Imported")
        page.wait_for_load_state("load")

    assert len(choosers) == 2  # one chooser per Space, no more
    versions = page.locator("table.versions tbody tr")
    expect()(versions).to_have_count(2)
    expect()(versions.filter(has_text="upload:marks.csv").locator("td").nth(2)).to_have_text("2")
    expect()(versions.filter(has_text="upload:registry.zip").locator("td").nth(2)).to_have_text("2")
    expect()(versions.filter(has_text="upload:registry.zip").locator("td").first).to_have_text("images")
    expect()(page.locator("table.jobs tbody")).to_contain_text("No re-screen yet.")

    assert button("Re-screen open orders now")(tab_to(page, button("Re-screen")))
    page.keyboard.press("Enter")
    expect()(page.get_by_role("status")).to_contain_text("Re-screen requested")
    job = page.locator("table.jobs tbody tr")
    expect()(job).to_have_count(1)
    expect()(job.locator(".job-state")).to_have_text("pending")
    expect()(job).to_contain_text("started from the workbench")
    assert site.services.rescreener().run() is not None  # what the worker in `serve` does in the background
    expect()(job.locator(".job-state")).to_have_text("done", timeout=15_000)  # the page polls it
    done = site.services.rescreener().latest(1)[0]
    expect()(job).to_contain_text(f"{done.total} of {done.total}")
    expect()(job.get_by_role("progressbar")).to_have_attribute("value", "100.0")
    with site.api() as api:
        after = api.get("/v1/orders/LK-1").json()["items"][0]
    # The new mark matched the order that was clear: an exact coined mark blocks outright.
    assert after["state"] == "blocked"
    assert [(f["list"], f["label"]) for f in after["findings"]] == [("marks@1", WORD)]
    screenshot(page, "lists-by-keyboard")
