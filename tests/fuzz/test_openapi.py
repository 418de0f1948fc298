"""schemathesis against the app's own live OpenAPI (`/openapi.json` of the ASGI app), once per role:
every generated request, valid or not, must answer a status and a body the schema documents, and never
5xx. Bounded: a few examples per operation and role, no shrinking of long runs (see `SETTINGS`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks

from api.app import create_app
from api.wiring import Services, build_services
from tests.api.conftest import Keys, make_keys, word_screener
from tests.conftest import make_settings

ROLES = ("seller", "other_seller", "reviewer", "admin", "none")
CHECKS = (
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
)
SETTINGS = settings(
    max_examples=4,
    deadline=None,
    derandomize=True,  # the same requests every run: a failure reproduces, CI time is steady
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _services(data_dir: Path) -> tuple[Services, Keys]:
    svc = build_services(make_settings(data_dir))
    svc.screener = word_screener()
    keys = make_keys(svc)
    return svc, keys


_STATE: dict[str, Any] = {}


@pytest.fixture(scope="module", autouse=True)
def _close_services() -> Iterator[None]:
    yield
    _STATE["services"].close()


def _app() -> Any:
    """The app is built lazily (schemathesis loads the schema at collection, before fixtures)."""
    if "app" not in _STATE:
        import tempfile

        svc, keys = _services(Path(tempfile.mkdtemp(prefix="cv-fuzz-")) / "var")
        _STATE.update(services=svc, keys=keys, app=create_app(svc.settings, svc))
    return _STATE["app"]


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


def _headers(role: str) -> dict[str, str]:
    keys: Keys = _STATE["keys"]
    token = {
        "seller": keys.seller_a,
        "other_seller": keys.seller_b,
        "reviewer": keys.reviewer,
        "admin": keys.admin,
    }.get(role)
    return {} if token is None else {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@SETTINGS
def test_every_answer_is_documented_and_none_is_a_5xx(case: Any, role: str) -> None:
    response = case.call_and_validate(headers=_headers(role), checks=CHECKS)
    _STATE.setdefault("statuses", {}).setdefault(role, set()).add(response.status_code)


def test_the_keys_were_accepted() -> None:
    """The run above reached past authentication for every role with a key (a wrong key would have
    made it a run of 401s that proves little). Runs after it: pytest keeps definition order."""
    statuses: dict[str, set[int]] = _STATE.get("statuses", {})
    past_authentication = {201, 202, 204, 403, 404, 409, 410}
    for role in ROLES:
        assert statuses.get(role), role
        reached = statuses[role] & past_authentication
        assert bool(reached) == (role != "none"), (role, statuses[role])
