"""`serve`'s first-start bootstrap: demo keys once, in development only, in a 0600 file."""

from __future__ import annotations

import stat
from pathlib import Path

from api.commands.serve import DEMO_KEYS_FILE, DEMO_SELLER, bootstrap_demo_keys
from api.wiring import build_services
from customization_vault.apikeys import Role
from tests.conftest import make_settings


def test_first_start_in_development_mints_two_working_keys_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "var", environment="development", bootstrap_demo=True)
    svc = build_services(settings)
    try:
        keys = bootstrap_demo_keys(settings, svc)
        assert keys is not None
        path = settings.data_dir / DEMO_KEYS_FILE
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert f"export CV_KEY={keys['CV_KEY']}" in path.read_text()
        admin = svc.api_keys.authenticate(keys["CV_ADMIN_KEY"])
        fulfilment = svc.api_keys.authenticate(keys["CV_KEY"])
        assert admin.role == Role.ADMIN
        assert fulfilment.role == Role.FULFILMENT
        assert fulfilment.seller_external_id == DEMO_SELLER
        # A restart never mints more, even if the file was deleted: keys exist.
        assert bootstrap_demo_keys(settings, svc) is None
        path.unlink()
        assert bootstrap_demo_keys(settings, svc) is None
        assert len(svc.api_keys.list()) == 2
    finally:
        svc.close()


def test_no_demo_keys_outside_development_or_when_disabled(tmp_path: Path) -> None:
    for i, overrides in enumerate(
        (
            {"environment": "test", "bootstrap_demo": True},
            {"environment": "development", "bootstrap_demo": False},
        )
    ):
        settings = make_settings(tmp_path / f"var{i}", **overrides)
        svc = build_services(settings)
        try:
            assert bootstrap_demo_keys(settings, svc) is None
            assert svc.api_keys.list() == []
            assert not (settings.data_dir / DEMO_KEYS_FILE).exists()
        finally:
            svc.close()


def test_serve_runs_the_purge_worker_and_the_event_consumer_beside_the_api(
    tmp_path: Path, aws_env: dict[str, str]
) -> None:
    """`make run` purges by itself: an OrderFulfilled event on the configured queue is consumed by the
    in-process consumer, and the order ends up purged with a receipt, with no request to the API."""
    import json
    import time

    import boto3
    from moto import mock_aws

    from api.commands.serve import start_background
    from tests.retention.helpers import seed_order

    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue = sqs.create_queue(QueueName="order-events")["QueueUrl"]
        settings = make_settings(tmp_path / "var", retention={"sqs_queue_url": queue})
        svc = build_services(settings)
        background = start_background(svc)
        try:
            assert [type(t).__name__ for t in background] == [
                "PurgeWorker",
                "WebhookDeliverer",
                "SqsConsumer",
            ]
            order, _ = seed_order(svc.vault, "EV-1", seller="shop-ev")
            sqs.send_message(
                QueueUrl=queue,
                MessageBody=json.dumps(
                    {"type": "OrderFulfilled", "order_id": "EV-1", "seller_id": "shop-ev"}
                ),
            )
            deadline = time.monotonic() + 60  # a bound on waiting, not a speed claim
            while svc.vault.orders.get(order.id).state != "purged" and time.monotonic() < deadline:
                time.sleep(0.05)
            assert svc.vault.orders.get(order.id).state == "purged"
            assert svc.purger is not None
            assert svc.purger.receipt(order.id) is not None
        finally:
            for task in reversed(background):
                task.stop()
            svc.close()


def test_without_a_queue_the_worker_and_the_deliverer_run(tmp_path: Path) -> None:
    from api.commands.serve import start_background

    svc = build_services(make_settings(tmp_path / "var"))
    background = start_background(svc)
    try:
        assert [type(t).__name__ for t in background] == ["PurgeWorker", "WebhookDeliverer"]
    finally:
        for task in reversed(background):
            task.stop()
        svc.close()


def test_the_banner_says_where_the_api_docs_keys_and_workbench_are(tmp_path: Path) -> None:
    from api.commands.serve import banner

    settings = make_settings(tmp_path / "var")
    text = banner(settings, "http://127.0.0.1:8000", None)
    lines = text.splitlines()
    assert lines[0] == "customization-vault is serving http://127.0.0.1:8000"
    assert "  API docs   http://127.0.0.1:8000/docs" in lines
    assert any("keys api list" in line for line in lines)  # no demo keys: the operator's own
    assert lines[-1].startswith("  reviewer   customization-vault keys api create --role reviewer")
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / DEMO_KEYS_FILE).write_text("")
    text = banner(settings, "http://127.0.0.1:8000", "/review/")
    assert f"source {settings.data_dir / DEMO_KEYS_FILE}" in text
    assert text.splitlines()[-1] == "  workbench  http://127.0.0.1:8000/review/"
    assert len(text.splitlines()) == 5


def test_the_banner_url_is_one_to_open() -> None:
    from api.commands.serve import base_url

    assert base_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert base_url("0.0.0.0", 80) == "http://127.0.0.1:80"
    assert base_url("::", 8000) == "http://[::1]:8000"
    assert base_url("fd00::5", 8000) == "http://[fd00::5]:8000"
    assert base_url("vault.internal", 8443) == "http://vault.internal:8443"


def test_the_workbench_is_found_where_it_is_mounted(tmp_path: Path) -> None:
    from fastapi import FastAPI

    from api.app import create_app
    from api.commands.serve import workbench_path

    assert workbench_path(create_app(make_settings(tmp_path / "var"))) == "/review/"
    api_only = FastAPI()
    api_only.get("/v1/review/cases")(lambda: None)
    assert workbench_path(api_only) is None  # the JSON review API is not the workbench
    elsewhere = FastAPI()
    elsewhere.mount("/desk", FastAPI(), name="workbench")
    assert workbench_path(elsewhere) == "/desk/"


def test_each_background_task_can_be_left_to_a_separate_worker(tmp_path: Path) -> None:
    from api.commands.serve import start_background

    for i, (overrides, expected) in enumerate(
        (
            ({"webhooks": {"deliver_in_process": False}}, ["PurgeWorker"]),
            ({"retention": {"worker_in_process": False}}, ["WebhookDeliverer"]),
        )
    ):
        svc = build_services(make_settings(tmp_path / f"var{i}", **overrides))
        background = start_background(svc)
        try:
            assert [type(t).__name__ for t in background] == expected
        finally:
            for task in reversed(background):
                task.stop()
            svc.close()


def test_serve_delivers_seller_webhooks_in_process(tmp_path: Path) -> None:
    """`make run` notifies sellers by itself: a queued decision reaches the seller's receiver, signed."""
    import json
    import time

    from api.commands.serve import start_background
    from tests.notifications.helpers import decide
    from tests.notifications.receiver import running_receiver

    svc = build_services(make_settings(tmp_path / "var", webhooks={"interval_seconds": 0.05}))
    assert svc.webhooks is not None
    with running_receiver() as receiver:
        seller_id = svc.vault.orders.ensure_seller("shop-serve")
        secret = svc.webhooks.set(seller_id, receiver.url, actor="t")
        background = start_background(svc)
        try:
            decide(svc.catalog, svc.clock(), seller_id, order="S-1", reason="offensive")
            assert receiver.arrived.wait(60)  # a bound on waiting, not a speed claim
            deadline = time.monotonic() + 60
            while svc.webhooks.backlog().pending and time.monotonic() < deadline:
                time.sleep(0.05)
            assert svc.webhooks.backlog().pending == 0  # recorded as delivered
        finally:
            for task in reversed(background):
                task.stop()
            svc.close()
    [post] = receiver.posts
    assert post.verifies(secret, now=time.time())
    assert json.loads(post.body)["order_id"] == "S-1"


def test_serve_follows_new_list_versions_and_runs_rescreens_in_the_background(tmp_path: Path) -> None:
    """The reload loop and the re-screen worker `serve` starts: an import reaches the running screener
    and a requested re-screen finishes, with no call into either."""
    import time

    from api.commands.serve import start_list_tasks
    from customization_vault.lists import ListKind

    svc = build_services(make_settings(tmp_path / "var", screening={"reload_seconds": 0.05}))
    tasks = start_list_tasks(svc, rescreen=True)
    try:
        assert [type(t).__name__ for t in tasks] == ["ListReloader", "RescreenWorker"]
        svc.screener.engine("text")  # serve warms every engine at start-up
        terms = b"id,term,category,severity\nt:flurbo,flurbo,profanity,review\n"
        svc.lists.import_list(ListKind.TERMS, terms, source="terms.csv", actor="test")
        job = svc.rescreener().request(reason="test", actor="test")
        assert svc.reloader is not None
        deadline = time.monotonic() + 60  # a bound on waiting, not a speed claim
        while time.monotonic() < deadline and (
            svc.reloader.in_use() != {ListKind.TERMS: 1} or svc.rescreener().get(job.id).state != "done"
        ):
            time.sleep(0.05)
        assert svc.reloader.in_use() == {ListKind.TERMS: 1}
        assert svc.rescreener().get(job.id).state == "done"
        assert svc.screener.screen(b"a flurbo cake", "text/plain").kind == "flagged"
    finally:
        for task in reversed(tasks):
            task.stop()
        svc.close()
