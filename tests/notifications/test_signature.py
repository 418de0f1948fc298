"""Signatures, bodies and webhook URLs: the pure parts of seller notifications."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from customization_vault.errors import InvalidInput
from customization_vault.notifications import (
    check_webhook_url,
    new_secret,
    notification_body,
    sign,
    verify,
)

T = 1_700_000_000
BODY = b'{"id":"1"}'


def test_signature_matches_an_independent_hmac() -> None:
    # printf '%s' '1700000000.{"id":"1"}' | openssl dgst -sha256 -hmac 'whsec_test'
    expected = "11bf4466ea17c3df3fd743af0b435368e16b7a05eb8eced85e8c4670767bdec5"
    assert sign("whsec_test", T, BODY) == f"t={T},v1={expected}"
    assert sign("whsec_test", T, BODY.decode()) == sign("whsec_test", T, BODY)


def test_verify_accepts_its_own_signature_within_the_tolerance() -> None:
    header = sign("whsec_a", T, BODY)
    assert verify("whsec_a", header, BODY, now=T)
    assert verify("whsec_a", header, BODY, now=T + 300)
    assert verify("whsec_a", header, BODY, now=T - 300)
    assert not verify("whsec_a", header, BODY, now=T + 301)  # a replay of an old delivery
    assert not verify("whsec_a", header, BODY, now=T - 301)


@pytest.mark.parametrize(
    ("secret", "header", "body"),
    [
        ("whsec_b", sign("whsec_a", T, BODY), BODY),  # another secret
        ("whsec_a", sign("whsec_a", T, BODY), b'{"id":"2"}'),  # another body
        ("whsec_a", sign("whsec_a", T, BODY) + " ", BODY + b" "),  # a byte more
        ("whsec_a", sign("whsec_a", T, BODY).replace(f"t={T}", f"t={T + 1}"), BODY),  # another time
        ("whsec_a", sign("whsec_a", T, BODY).split(",")[1], BODY),  # no t
        ("whsec_a", sign("whsec_a", T, BODY).split(",")[0], BODY),  # no v1
        ("whsec_a", sign("whsec_a", T, BODY).replace(f"t={T}", "t=-1"), BODY),
        ("whsec_a", "", BODY),
        ("whsec_a", "garbage", BODY),
    ],
)
def test_verify_refuses_anything_else(secret: str, header: str, body: bytes) -> None:
    assert not verify(secret, header, body, now=T)


def test_any_one_of_several_signatures_may_match() -> None:
    """A receiver rolling its secret may be handed two v1 values; one valid one suffices."""
    good = sign("whsec_a", T, BODY).split(",")[1]
    bad = sign("whsec_b", T, BODY).split(",")[1]
    assert verify("whsec_a", f"t={T},{bad},{good}", BODY, now=T)
    assert not verify("whsec_a", f"t={T},{bad}", BODY, now=T)


def test_secrets_are_prefixed_256_bit_and_fresh() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for s in secrets:
        assert re.fullmatch(r"whsec_[A-Za-z0-9_-]{43}", s)


def test_the_body_is_compact_json_in_the_fixed_order() -> None:
    body = notification_body(
        message_id="m-1",
        type="item.decided",
        order_external_id="A-1001",
        item_id="i-1",
        decision="reject",
        reason="trademark",
        created_at=datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=UTC),
    )
    assert body == (
        '{"id":"m-1","type":"item.decided","order_id":"A-1001","item_id":"i-1",'
        '"decision":"reject","reason":"trademark","created_at":"2026-11-27T12:00:00.123Z"}'
    )
    approved = notification_body(
        message_id="m-2",
        type="item.screened",  # the type is open-ended: asynchronous verdicts come next
        order_external_id="Ä-1",
        item_id="i-2",
        decision="approve",
        reason=None,
        created_at=datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
    )
    assert json.loads(approved)["reason"] is None
    assert approved.isascii()  # the seller's order id is escaped, so the signed bytes are ASCII
    assert json.loads(approved)["order_id"] == "Ä-1"


@pytest.mark.parametrize(
    ("type_", "decision", "reason"),
    [
        ("item.decided", "Reject", None),
        ("item.decided", "reject", "it says happy birthday grandma"),  # free text is not a code
        ("item.decided", "reject", "x" * 33),
        ("item.decided", "", None),
        ("decided", "reject", None),
        ("item.Decided", "reject", None),
    ],
)
def test_the_body_refuses_anything_but_codes(type_: str, decision: str, reason: str | None) -> None:
    with pytest.raises(ValueError, match=r"code|type") as err:
        notification_body(
            message_id="m",
            type=type_,
            order_external_id="A-1",
            item_id="i",
            decision=decision,
            reason=reason,
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
    assert "grandma" not in str(err.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/cv",
        "http://127.0.0.1:8080/hook?token=abc",
        "https://[::1]:8443/",
        "HTTPS://EXAMPLE.COM",
    ],
)
def test_webhook_urls_accepted(url: str) -> None:
    assert check_webhook_url(url) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hook", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("example.com/hook", "http:// or https://"),
        ("https://", "host"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://example.com/#frag", "fragment"),
        ("https://example.com:99999/", "port"),
        ("https://example.com:http/", "port"),
        ("https://exämple.com/", "ASCII"),
        ("https://example.com/a b", "ASCII"),
        ("https://example.com/\n", "ASCII"),
        ("", "1-2000"),
        ("https://example.com/" + "a" * 2000, "1-2000"),
    ],
)
def test_webhook_urls_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        check_webhook_url(url)


def test_the_recipe_in_the_api_docs_verifies_a_real_signature() -> None:
    """docs/api.md's receiver recipe is run as written, so it cannot drift from what we send."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    section = docs[docs.index("### Seller notifications") :]
    recipe = section[section.index("```python\n") + len("```python\n") :]
    recipe = recipe[: recipe.index("```")]
    namespace: dict[str, object] = {}
    exec(recipe, namespace)
    doc_verify = namespace["verify"]
    assert callable(doc_verify)
    header = sign("whsec_doc", int(time.time()), BODY)
    assert doc_verify("whsec_doc", header, BODY)
    assert not doc_verify("whsec_other", header, BODY)
    assert not doc_verify("whsec_doc", header, BODY + b" ")
    assert not doc_verify("whsec_doc", sign("whsec_doc", int(time.time()) - 3600, BODY), BODY)
