"""A cookie-keeping client for the workbench pages over the in-process app (one per reviewer)."""

from __future__ import annotations

import functools
import re
from typing import Any

import httpx

from tests.api.conftest import ApiClient

_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class PageClient:
    """Its own cookie jar over the app `ApiClient` already started (lifespan entered once)."""

    def __init__(self, api: ApiClient, base_url: str = "http://api.test") -> None:
        self._portal = api.portal
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app), base_url=base_url)
        self.csrf = ""

    def close(self) -> None:
        self._portal.call(self.client.aclose)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(functools.partial(self.client.request, method, url, **kwargs))

    def page(self, url: str) -> httpx.Response:
        """A top-level page visit, as a browser asks for it."""
        return self.request("GET", url, headers={"Accept": "text/html"})

    def post(self, url: str, data: dict[str, str] | None = None, *, csrf: bool = True) -> httpx.Response:
        body = dict(data or {})
        if csrf:
            body.setdefault("csrf_token", self.csrf)
        return self.request("POST", url, data=body)

    def sign_in(self, api_key: str) -> httpx.Response:
        form = self.page("/review/sign-in")
        match = _FORM_TOKEN.search(form.text)
        assert match is not None
        resp = self.request(
            "POST", "/review/sign-in", data={"api_key": api_key, "csrf_token": match[1], "next": "/review/"}
        )
        if resp.status_code == 303:
            queue = self.page("/review/")
            found = _CSRF.search(queue.text)
            assert found is not None
            self.csrf = found[1]
        return resp
