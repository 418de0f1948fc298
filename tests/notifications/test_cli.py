"""`customization-vault sellers set-webhook|show-webhook|remove-webhook` on an embedded data directory,
and `worker --once` delivering what the outbox holds."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_cli import cli, data_dir, svc
from tests.notifications.helpers import decide
from tests.notifications.receiver import Receiver

__all__ = ["data_dir", "svc"]  # fixtures used through the module namespace


def test_set_webhook_prints_the_secret_alone_and_creates_the_seller(data_dir: Path, svc: Any) -> None:
    assert svc.vault.orders.seller_id("shop-new") is None
    code, out, err = cli(data_dir, "sellers", "set-webhook", "shop-new", "https://hooks.example.com/cv?k=v")
    assert code == 0, err
    secret = out.strip()
    assert out == secret + "\n"  # alone on stdout: SECRET=$(customization-vault sellers set-webhook ...)
    assert re.fullmatch(r"whsec_[A-Za-z0-9_-]{43}", secret)
    assert "shown only once" in err
    seller_id = svc.vault.orders.seller_id("shop-new")
    assert seller_id is not None
    with svc.catalog.unit() as u:
        hook = u.webhooks.get(seller_id)
        audit = u.audit.for_target(seller_id)
    assert hook is not None
    assert (hook.url, hook.secret) == ("https://hooks.example.com/cv?k=v", secret)
    assert [(e.action, e.actor) for e in audit] == [("seller.webhook_set", "cli:admin")]
    assert secret not in json.dumps(audit[0].details)

    code, out, err = cli(data_dir, "sellers", "show-webhook", "shop-new")
    assert code == 0, err
    assert out == "https://hooks.example.com/cv?k=v\n"
    assert "0 pending, 0 given up" in err
    assert secret not in out + err

    code, again, _ = cli(data_dir, "sellers", "set-webhook", "shop-new", "https://hooks.example.com/v2")
    assert code == 0
    assert again.strip() != secret  # a new secret each time

    code, _, err = cli(data_dir, "sellers", "remove-webhook", "shop-new", "--actor", "ops:ana")
    assert code == 0, err
    assert cli(data_dir, "sellers", "show-webhook", "shop-new")[0] == 1
    code, _, err = cli(data_dir, "sellers", "remove-webhook", "shop-new")
    assert code == 1
    assert "has no webhook" in err
    with svc.catalog.unit() as u:
        assert [e.action for e in u.audit.for_target(seller_id)][-1] == "seller.webhook_removed"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("https://user:pw@example.com/", "credentials"),
        ("not a url", "ASCII without spaces"),
    ],
)
def test_set_webhook_refuses_a_bad_url_with_exit_code_2(
    data_dir: Path, svc: Any, url: str, message: str
) -> None:
    code, out, err = cli(data_dir, "sellers", "set-webhook", "shop-x", url)
    assert code == 2
    assert out == ""
    assert message in err
    assert svc.vault.orders.seller_id("shop-x") is None  # refused before anything was created


def test_show_and_remove_name_an_unknown_seller(data_dir: Path, svc: Any) -> None:
    for command in ("show-webhook", "remove-webhook"):
        code, out, err = cli(data_dir, "sellers", command, "nobody")
        assert (code, out) == (1, "")
        assert "no seller 'nobody'" in err


def test_worker_once_delivers_the_outbox(data_dir: Path, svc: Any, receiver: Receiver) -> None:
    code, out, _ = cli(data_dir, "sellers", "set-webhook", "shop-w", receiver.url + "/w")
    assert code == 0
    secret = out.strip()
    seller_id = svc.vault.orders.seller_id("shop-w")
    decide(svc.catalog, svc.clock(), seller_id, order="W-1", decision="approve", reason=None, appeal=True)
    code, out, err = cli(data_dir, "worker", "--once")
    assert code == 0, err
    assert json.loads(out)["webhooks"] == {
        "claimed": 1,
        "delivered": 1,
        "failed": 0,
        "given_up": 0,
        "pruned": 0,
    }
    [post] = receiver.posts
    assert post.verifies(secret, now=svc.clock().timestamp())
    body = json.loads(post.body)
    assert (body["type"], body["order_id"], body["decision"]) == ("item.appeal_decided", "W-1", "approve")
