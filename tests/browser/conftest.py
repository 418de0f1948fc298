"""The browser suite's parts: one real server per module (uvicorn on 127.0.0.1, a random port, the
embedded backend and the real screening engines over a small generated logo registry) and the
Debian `chromium` driven by Playwright.

Without Chromium (or Playwright) the suite says so and skips; under CV_REQUIRE_ALL_BACKENDS (CI)
it fails instead, because CI installs Chromium and every test must run there.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.wiring import Services, build_services
from customization_vault.apikeys import Role
from tests.conftest import REQUIRE_ALL, make_settings
from tests.processes import free_port
from tests.screening.image.logos import encode, glyph, on_white

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SKIP_REASON = "Chromium not installed: browser tests skipped (apt-get install chromium)"
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "workbench"
# Markup in every place a customer, a seller or a list author controls; the pages must show it as text.
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
LOGO_SEEDS = (3, 4)


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CV_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _missing(reason: str) -> None:
    if REQUIRE_ALL:
        pytest.fail(f"required for the browser tests: {reason}")
    pytest.skip(reason)


@dataclass
class Site:
    url: str
    services: Services
    reviewer: str
    reviewer_2: str
    admin: str
    seller: str
    seller_name: str

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.seller}"}, timeout=60)


def _registry(root: Path) -> Path:
    """A small logo registry: generated glyphs, one labelled with markup (a list author's text)."""
    root.mkdir(parents=True)
    rows = ["id,path,label,owner"]
    for seed in LOGO_SEEDS:
        (root / f"logo{seed}.png").write_bytes(encode(on_white(glyph(seed))))
        label = f"Glyph {seed} {XSS}" if seed == LOGO_SEEDS[0] else f"Glyph {seed}"
        quoted = label.replace('"', '""')
        rows.append(f'logo{seed},logo{seed}.png,"{quoted}",Test Owner')
    path = root / "registry.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    import uvicorn

    root = tmp_path_factory.mktemp("workbench")
    settings = make_settings(
        root / "var",
        screening={"registry_path": _registry(root / "registry"), "ocr": False},
        retention={"worker_in_process": False},
    )
    services = build_services(settings)
    # A seller stored before the id rule (customization_vault/ids.py) refused markup in seller ids:
    # written through the repository, as the old code did, so the pages must still show it as text.
    seller_name = f"seller {XSS}"
    with services.catalog.unit() as u:
        seller_id = u.sellers.add(seller_name, services.clock())
    seller, _ = services.api_keys.create(Role.FULFILMENT, seller_id=seller_id)
    reviewer, _ = services.api_keys.create(Role.REVIEWER, label="reviewer one")
    reviewer_2, _ = services.api_keys.create(Role.REVIEWER, label="reviewer two")
    admin, _ = services.api_keys.create(Role.ADMIN, label="admin")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, services), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="workbench-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120  # the engines load before the first request is served
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the workbench server did not start")
        time.sleep(0.05)
    try:
        yield Site(f"http://127.0.0.1:{port}", services, reviewer, reviewer_2, admin, seller, seller_name)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        services.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        _missing(SKIP_REASON)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed: browser tests skipped (make install)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Problems:
    """Console errors (CSP violations land there) and uncaught page errors seen by one page."""

    def __init__(self, page: Any) -> None:
        self.seen: list[str] = []
        page.on("console", lambda m: self.seen.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.seen.append(str(e)))


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Any]:
    """Opens pages in fresh contexts (no shared cookies) at 1280x800; checks none logged an error."""
    contexts: list[Any] = []
    problems: list[Problems] = []

    def open_page() -> Any:
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        page = context.new_page()
        problems.append(Problems(page))
        return page

    yield open_page
    for c in contexts:
        c.close()
    unexpected = [
        p
        for seen in problems
        for p in seen.seen
        # The pages that answer 401/403/404/409 on purpose show up as failed loads, not as bugs.
        if "the server responded with a status of" not in p
    ]
    assert unexpected == []


def screenshot(page: Any, name: str) -> Path:
    """Saves the page as shown at 1280x800, which it must fit across: no sideways scrolling (checked after
    the shot, so the artefact shows what overflowed)."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name}: {overflow} px wider than the 1280 px window"
    return path
