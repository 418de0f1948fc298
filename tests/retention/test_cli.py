"""The retention commands end to end on an embedded data directory: worker --once, receipts, holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from retention.purge import Purger
from retention.receipts import ReceiptSigner
from tests.fixtures_cli import cli, data_dir, svc
from tests.retention.helpers import seed_order

__all__ = ["data_dir", "svc"]  # fixtures used through the module namespace


def test_worker_once_purges_and_the_receipt_verifies(data_dir: Path, svc: Any, tmp_path: Path) -> None:
    order, _ = seed_order(svc.vault, "CLI-1")
    signer = ReceiptSigner.load_or_create(svc.settings.receipt_key_path)
    purger = Purger(
        svc.vault, signer, config=svc.settings.retention.model_copy(update={"handoff_grace_seconds": 0})
    )
    purger.mark(order, "fulfilled", actor="t")

    code, out, err = cli(data_dir, "worker", "--once")
    assert code == 0, err
    report = json.loads(out)
    assert (report["claimed"], report["purged"], report["maintenance"]) == (1, 1, True)
    assert svc.vault.orders.get(order.id).state == "purged"

    receipt = tmp_path / "receipt.json"
    receipt.write_text(json.dumps(purger.receipt(order.id)))
    code, out, _ = cli(data_dir, "receipts", "verify", str(receipt))
    assert code == 0
    assert out.startswith("valid: order CLI-1 of seller seller-1")
    pub = tmp_path / "pub.pem"
    pub.write_text(signer.public_key_pem())
    assert cli(data_dir, "receipts", "verify", str(receipt), "--public-key", str(pub))[0] == 0

    doc = json.loads(receipt.read_text())
    doc["body"]["items"] = doc["body"]["items"][:1]
    receipt.write_text(json.dumps(doc))
    code, out, _ = cli(data_dir, "receipts", "verify", str(receipt))
    assert code == 1
    assert out.startswith("INVALID")


def test_holds_place_list_release(data_dir: Path, svc: Any) -> None:
    order, _ = seed_order(svc.vault, "CLI-2", seller="shop-7")
    code, out, err = cli(
        data_dir, "holds", "place", "CLI-2", "--seller", "shop-7", "--reason", "case 12", "--days", "7"
    )
    assert code == 0, err
    hold_id = out.strip()
    code, out, _ = cli(data_dir, "holds", "list", order.id)
    assert code == 0
    assert out.startswith(hold_id)
    assert "\tactive\t" in out
    assert out.rstrip().endswith("case 12")
    assert cli(data_dir, "holds", "release", hold_id)[0] == 0
    assert "\treleased\t" in cli(data_dir, "holds", "list", order.id)[1]
    code, _, err = cli(data_dir, "holds", "place", "nope", "--reason", "x")
    assert code == 1
    assert "no such order" in err


def test_holds_list_without_an_order_lists_every_active_hold(data_dir: Path, svc: Any) -> None:
    first, _ = seed_order(svc.vault, "CLI-3", seller="shop-8")
    second, _ = seed_order(svc.vault, "CLI-4", seller="shop-8")
    held = {}
    for order, days in ((first, "9"), (second, "3")):
        code, out, err = cli(
            data_dir, "holds", "place", order.id, "--reason", f"case {order.external_id}", "--days", days
        )
        assert code == 0, err
        held[order.id] = out.strip()
    code, out, _ = cli(data_dir, "holds", "list")
    assert code == 0
    rows = [line.split("\t") for line in out.splitlines()]
    # Soonest to lapse first; each row names its order after the hold.
    assert [(r[0], r[1], r[4], r[6]) for r in rows] == [
        (held[second.id], second.id, "active", "case CLI-4"),
        (held[first.id], first.id, "active", "case CLI-3"),
    ]
    assert cli(data_dir, "holds", "release", held[second.id])[0] == 0
    assert [line.split("\t")[0] for line in cli(data_dir, "holds", "list")[1].splitlines()] == [
        held[first.id]
    ]
    code, _, err = cli(data_dir, "holds", "list", "--seller", "shop-8")
    assert code == 2
    assert "give the order too" in err


def test_all_active_leaves_out_released_and_lapsed_holds(svc: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from customization_vault.clock import FrozenClock
    from retention.holds import LegalHolds

    clock = FrozenClock(datetime(2027, 1, 1, tzinfo=UTC))
    holds = LegalHolds(svc.catalog, svc.audit, clock)
    orders = [seed_order(svc.vault, f"H-{i}", seller="shop-9")[0] for i in range(3)]
    lapsing = holds.place(orders[0].id, reason="short", expires_at=clock() + timedelta(hours=1), actor="t")
    released = holds.place(orders[1].id, reason="done", expires_at=clock() + timedelta(days=5), actor="t")
    lasting = holds.place(orders[2].id, reason="long", expires_at=clock() + timedelta(days=9), actor="t")
    holds.release(released.id, actor="t")
    assert [h.id for h in holds.active()] == [lapsing.id, lasting.id]
    clock.advance(timedelta(hours=2))
    assert [h.id for h in holds.active()] == [lasting.id]


def test_worker_once_screens_every_waiting_upload_before_it_exits(data_dir: Path, svc: Any) -> None:
    from customization_vault.content import NewItem

    seller = svc.vault.orders.ensure_seller("seller-s")
    order, _ = svc.vault.orders.create(seller, "CLI-S", actor="t")
    pending = NewItem(kind="text", content_type="text/plain; charset=utf-8", verdict=None)
    ids = [svc.vault.content.put_item(order, [t], pending, actor="t")[0].id for t in (b"one", b"two")]
    assert {svc.vault.content.get_item(order, i).state for i in ids} == {"received"}

    code, out, err = cli(data_dir, "worker", "--once", "--processes", "1")
    assert code == 0, err
    assert json.loads(out)["screening"] == {"clear": 2}
    assert {svc.vault.content.get_item(order, i).verdict for i in ids} == {"clear"}
    code, out, err = cli(data_dir, "worker", "--once", "--processes", "1")
    assert json.loads(out)["screening"] == {}  # nothing left
