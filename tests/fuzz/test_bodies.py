"""Property-based bodies for the upload route (hypothesis): multipart framings and JSON documents built
from strategies, mutated real images and fonts among them. Whatever arrives, the answer is a 201 whose
item fetches back, or a 4xx problem after which nothing new is stored; never a 5xx. Bounded by
`max_examples`; derandomized so CI runs the same examples every time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.wiring import build_services
from tests.api.conftest import Api, ApiClient, assert_problem, leftovers, make_keys, word_screener
from tests.conftest import make_settings
from tests.hostile.corpus import font, gif, jpeg, png, webp

BOUNDARY = "fuzzb0undary"
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def fuzz_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings_ = make_settings(tmp_path_factory.mktemp("bodies") / "var")
    svc = build_services(settings_)
    svc.screener = word_screener()
    keys = make_keys(svc)
    with ApiClient(create_app(settings_, svc)) as client:
        yield Api(client, svc, keys)
    svc.close()


SEEDS = [png(), jpeg(), gif(), webp(), font(), font(cff=True), font("woff"), font("woff2")]


@st.composite
def mutated_file(draw: st.DrawFn) -> bytes:
    """A real file of an accepted type, then a few byte flips, a cut, or an insertion."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[at:]
        else:
            data[at:at] = draw(st.binary(max_size=64))
    return bytes(data)


header_text = st.text(st.characters(codec="latin-1", exclude_characters='\r\n"'), max_size=40)


@st.composite
def multipart_body(draw: st.DrawFn) -> bytes:
    out = b""
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(["file", "file", "note", ""]) | header_text)
        disposition = f'form-data; name="{name}"'
        if draw(st.booleans()):
            disposition += f'; filename="{draw(header_text)}"'
        head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
        if draw(st.booleans()):
            ctype = draw(
                st.sampled_from(["image/png", "image/jpeg", "font/ttf", "text/html", ""]) | header_text
            )
            head += f"Content-Type: {ctype}\r\n"
        data = draw(mutated_file() | st.binary(max_size=256))
        out += head.encode("latin-1") + b"\r\n" + data + b"\r\n"
    tail = draw(st.sampled_from([f"--{BOUNDARY}--\r\n", f"--{BOUNDARY}--", "", f"--{BOUNDARY}"]))
    return out + tail.encode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def json_body(draw: st.DrawFn) -> bytes:
    shape = draw(st.sampled_from(["text", "text", "text", "any", "raw"]))
    if shape == "text":
        doc: Any = {
            "kind": draw(st.sampled_from(["text", "text", "text", "image", "TEXT", ""])),
            "text": draw(st.text(max_size=300)),
        }
        if draw(st.integers(0, 3)) == 0:
            doc[draw(st.text(max_size=8))] = draw(json_values)
        return json.dumps(doc, ensure_ascii=draw(st.booleans())).encode()
    if shape == "any":
        return json.dumps(draw(json_values)).encode()
    return draw(st.binary(max_size=300))


SEEN: dict[str, set[int]] = {}


def _check(api: Api, kind: str, content_type: str, body: bytes) -> None:
    """Each example gets its own order, so the per-order item limit never shapes the answers."""
    order = f"fz-{sum(len(v) for v in SEEN.values())}-{len(body)}-{hash(body) & 0xFFFF:x}"
    assert api.client.put(f"/v1/orders/{order}", headers=api.keys.a).status_code in (200, 201)
    before = leftovers(api.services)
    r = api.client.post(
        f"/v1/orders/{order}/items", headers={**api.keys.a, "Content-Type": content_type}, content=body
    )
    SEEN.setdefault(kind, set()).add(r.status_code)
    assert r.status_code < 500, r.text
    if r.status_code == 201:
        got = api.client.get(r.json()["content_url"], headers=api.keys.a)
        assert got.status_code == 200, got.text
        assert leftovers(api.services).items == before.items + 1
        return
    assert_problem(r, r.status_code)
    assert 400 <= r.status_code < 500
    assert leftovers(api.services) == before


@given(body=multipart_body())
@SETTINGS
def test_any_multipart_body_is_stored_whole_or_refused_cleanly(fuzz_api: Api, body: bytes) -> None:
    _check(fuzz_api, "multipart", f"multipart/form-data; boundary={BOUNDARY}", body)


@given(body=json_body())
@SETTINGS
def test_any_json_body_is_stored_whole_or_refused_cleanly(fuzz_api: Api, body: bytes) -> None:
    _check(fuzz_api, "json", "application/json", body)


def test_the_strategies_reached_both_outcomes() -> None:
    """Runs after the two above (definition order): a strategy that only ever produced refusals (or
    only acceptances) would prove little."""
    for kind in ("multipart", "json"):
        statuses = SEEN.get(kind, set())
        assert 201 in statuses, (kind, statuses)
        assert any(400 <= s < 500 for s in statuses), (kind, statuses)
