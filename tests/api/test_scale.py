"""Many replicas, one set of backends: two `serve` and two `worker` processes on one PostgreSQL
(pgserver) and one bucket and KMS (moto_server), as a production deployment runs them.

Uploads go through both APIs (most with `Prefer: respond-async`); one worker is SIGKILLed while it
holds a screening job. Every item must end with exactly one verdict (its job's lease lapses and the
other worker screens it), every clear item must fetch byte-identical through either API, and purges
must complete exactly once. OCR is off here: this suite is about the processes, not the engines
(tests/screening has theirs), and two cores must start four processes within the test's bound.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from sqlalchemy import func, select

from api.wiring import build_services
from customization_vault.apikeys import Role
from customization_vault.catalog.db import session_scope
from customization_vault.catalog.models import AuditEvent, Item, ScreeningJob
from tests.conftest import make_settings
from tests.fixtures_aws import aws_fake_credentials, moto_server_url
from tests.fixtures_pg import fresh_pg_database
from tests.processes import free_port, stop

__all__ = ["aws_fake_credentials", "moto_server_url"]  # fixtures used through the module namespace

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.s3]

CLI = [sys.executable, "-c", "from api.cli import main; main()"]
START_TIMEOUT = 120.0
LEASE_SECONDS = 4


@dataclass
class Proc:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Cluster:
    apis: list[str]
    serves: list[Proc]
    workers: list[Proc]
    key: str
    other_key: str
    services: Any


def _env(tmp: Path, db_url: str, moto: str, bucket: str) -> dict[str, str]:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return {
        **os.environ,
        "CV_ENVIRONMENT": "test",
        "CV_DATA_DIR": str(tmp / "var"),
        "CV_DATABASE__URL": db_url,
        "CV_STORAGE__BACKEND": "s3",
        "CV_STORAGE__S3_BUCKET": bucket,
        "CV_STORAGE__S3_ENDPOINT_URL": moto,
        "CV_KEYS__BACKEND": "kms",
        "CV_KEYS__KMS_ENDPOINT_URL": moto,
        "CV_SIGNING__RECEIPT_KEY_PEM": pem.decode(),
        "CV_BOOTSTRAP_DEMO": "false",
        "CV_RETENTION__WORKER_IN_PROCESS": "false",
        "CV_SCREENING__OCR": "false",
        "CV_SCREENING__PROCESSES": "1",
        "CV_SCREENING__JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        "CV_SCREENING__JOB_POLL_SECONDS": "0.1",
        "CV_SCREENING__UPLOAD_DEADLINE_SECONDS": "20",
        "CV_LOG_LEVEL": "info",
    }


def _start(name: str, args: list[str], env: dict[str, str], tmp: Path) -> Proc:
    log = tmp / f"{name}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(CLI + args, env=env, stdout=fh, stderr=subprocess.STDOUT)
    return Proc(name, proc, log)


def _wait_for(what: str, ready: Any, procs: list[Proc], timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        for p in procs:
            if p.proc.poll() is not None:
                pytest.fail(f"{p.name} exited with {p.proc.returncode}: {p.text()[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not ready within {timeout:g} s")
        time.sleep(0.3)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(base + "/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _worker_name(p: Proc) -> str | None:
    found = re.search(r"(screen-[0-9a-f]{8}): screening with", p.text())
    return None if found is None else found.group(1)


@pytest.fixture
def cluster(pg_server_url: str, moto_server_url: str, tmp_path: Path) -> Iterator[Cluster]:
    db_url = fresh_pg_database(pg_server_url)
    bucket = f"cv-scale-{uuid.uuid4().hex[:8]}"
    env = _env(tmp_path, db_url, moto_server_url, bucket)
    # One in-process set of services over the same backends: migrates, makes the bucket and the keys.
    settings = make_settings(
        tmp_path / "setup",
        database={"url": db_url},
        storage={"backend": "s3", "s3_bucket": bucket, "s3_endpoint_url": moto_server_url},
        keys={"backend": "kms", "kms_endpoint_url": moto_server_url},
        signing={"receipt_key_pem": env["CV_SIGNING__RECEIPT_KEY_PEM"]},
    )
    svc = build_services(settings)
    key, _ = svc.api_keys.create(Role.FULFILMENT, seller_id=svc.vault.orders.ensure_seller("seller-a"))
    other, _ = svc.api_keys.create(Role.FULFILMENT, seller_id=svc.vault.orders.ensure_seller("seller-b"))
    with ExitStack() as stack:
        stack.callback(svc.close)
        ports = [free_port(), free_port()]
        serves = [
            _start(f"serve{i}", ["serve", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path)
            for i, port in enumerate(ports)
        ]
        workers = [_start(f"worker{i}", ["worker", "--interval", "0.5"], env, tmp_path) for i in range(2)]
        for p in serves + workers:
            stack.callback(stop, p.proc, 20)
        apis = [f"http://127.0.0.1:{port}" for port in ports]
        everyone = serves + workers
        _wait_for("serve", lambda: all(_healthy(a) for a in apis), everyone)
        _wait_for("workers", lambda: all(_worker_name(w) for w in workers), everyone)
        yield Cluster(apis, serves, workers, key, other, svc)


def _png(seed: int) -> bytes:
    w, h = 120 + seed * 7, 90 + seed * 5
    im = Image.new("RGB", (w, h), (seed * 37 % 256, seed * 91 % 256, 200))
    for x in range(0, w, 9):
        for y in range(0, h, 11):
            im.putpixel((x, y), ((x * seed) % 256, (y * 3) % 256, (x + y) % 256))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _events(svc: Any, action: str) -> dict[str, int]:
    """How many audit events of `action` each target has."""
    with session_scope(svc.catalog.sessions) as s:
        rows = s.execute(
            select(AuditEvent.target_id, func.count())
            .where(AuditEvent.action == action)
            .group_by(AuditEvent.target_id)
        ).all()
    return {str(target): int(n) for target, n in rows}


def _running_on(svc: Any, worker: str) -> bool:
    with session_scope(svc.catalog.sessions) as s:
        held = s.execute(
            select(func.count())
            .select_from(ScreeningJob)
            .where(ScreeningJob.state == "running", ScreeningJob.worker == worker)
        ).scalar_one()
    return int(held) > 0


def test_two_apis_and_two_workers_share_one_queue_and_survive_a_killed_worker(cluster: Cluster) -> None:
    apis, svc = cluster.apis, cluster.services
    h = {"Authorization": f"Bearer {cluster.key}"}
    orders = [f"sc-{n}" for n in range(6)]
    sent: dict[tuple[str, str], bytes] = {}
    with httpx.Client(timeout=60) as c:
        for n, order in enumerate(orders):
            assert c.put(f"{apis[n % 2]}/v1/orders/{order}", headers=h).status_code == 201
        victim = _worker_name(cluster.workers[0])
        assert victim is not None
        killed = False
        for n in range(24):
            api, order = apis[n % 2], orders[n % len(orders)]
            prefer = {"Prefer": "respond-async"}
            if n % 3 == 2:
                text = f"Happy {n}th birthday, dear {['Ana', 'Tom', 'Mia'][n % 3]}!"
                r = c.post(
                    f"{api}/v1/orders/{order}/items",
                    headers={**h, **prefer},
                    json={"kind": "text", "text": text},
                )
                data = text.encode()
            else:
                data = _png(n)
                r = c.post(
                    f"{api}/v1/orders/{order}/items",
                    headers={**h, **prefer},
                    files={"file": (f"p{n}.png", data, "image/png")},
                )
            assert r.status_code == 202, r.text
            body = r.json()
            assert body["verdict"] == "pending"
            assert r.headers["location"] == body["item_url"]
            assert r.headers["preference-applied"] == "respond-async"
            sent[(order, body["id"])] = data
            if not killed and n >= 8 and _running_on(svc, victim):
                os.kill(cluster.workers[0].proc.pid, signal.SIGKILL)
                killed = True
        # The victim may not have held a job at an upload's moment: wait for one, then kill it.
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            if _running_on(svc, victim):
                os.kill(cluster.workers[0].proc.pid, signal.SIGKILL)
                killed = True
            time.sleep(0.02)
        assert killed, "the victim worker never held a job"
        cluster.workers[0].proc.wait(10)
        # A synchronous upload still answers 201 with its verdict, screened by the surviving worker.
        sync = c.post(
            f"{apis[1]}/v1/orders/{orders[0]}/items", headers=h, json={"kind": "text", "text": "Hi Leo"}
        )
        assert sync.status_code == 201, sync.text
        assert sync.json()["verdict"] == "clear"
        sent[(orders[0], sync.json()["id"])] = b"Hi Leo"

        verdicts: dict[tuple[str, str], str] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for order in orders:
                for it in c.get(f"{apis[0]}/v1/orders/{order}", headers=h).json()["items"]:
                    verdicts[(order, it["id"])] = it["verdict"]
            if len(verdicts) == len(sent) and "pending" not in verdicts.values():
                break
            time.sleep(0.5)
        assert set(verdicts) == set(sent)
        assert "pending" not in verdicts.values(), verdicts

        screened = _events(svc, "item.screened")
        with session_scope(svc.catalog.sessions) as s:
            jobs = s.execute(select(ScreeningJob.state, ScreeningJob.crashes, ScreeningJob.worker)).all()
            states = dict(s.execute(select(Item.id, Item.state)).all())
        assert screened == {item: 1 for _, item in sent}  # exactly one verdict
        assert {state for state, _, _ in jobs} == {"done"}
        # The killed worker's job was taken over after its lease lapsed, and counted once as a crash.
        assert sum(crashes for _, crashes, _ in jobs) >= 1
        assert all(states[item] == verdicts[(order, item)] for order, item in sent)

        for (order, item), data in sent.items():
            if verdicts[(order, item)] != "clear":
                continue
            for api in apis:
                got = c.get(f"{api}/v1/orders/{order}/items/{item}/content", headers=h)
                assert got.status_code == 200
                assert got.content == data
        other = {"Authorization": f"Bearer {cluster.other_key}"}
        assert c.get(f"{apis[1]}/v1/orders/{orders[0]}", headers=other).status_code == 404

        fulfilled = orders[:3]
        for n, order in enumerate(fulfilled):
            assert c.post(f"{apis[n % 2]}/v1/orders/{order}/fulfilment", headers=h).status_code == 200
        for order in fulfilled:
            assert c.get(f"{apis[1]}/v1/orders/{order}/receipt", headers=h).status_code == 200
            for o, item in sent:
                if o == order:
                    assert (
                        c.get(f"{apis[0]}/v1/orders/{o}/items/{item}/content", headers=h).status_code == 410
                    )
    assert sorted(_events(svc, "order.purge").values()) == [1, 1, 1]  # each purge completed once
    survivors = [p for p in cluster.serves + cluster.workers[1:] if p.proc.poll() is not None]
    assert survivors == [], [p.text()[-1500:] for p in survivors]
