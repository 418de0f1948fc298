"""Four worker processes against one PostgreSQL: 2,000 fulfilled orders, each purged exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.settings import Settings
from api.wiring import build_services
from customization_vault.catalog.db import session_scope
from customization_vault.catalog.models import Order, PurgeReceipt, WrappedDataKey
from tests.retention.helpers import audited_orders
from tests.retention.seed import seed_fulfilled

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
ORDERS = 2000


@pytest.mark.slow
@pytest.mark.postgres
def test_four_workers_purge_every_order_exactly_once(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "CV_ENVIRONMENT": "test",
        "CV_BOOTSTRAP_DEMO": "false",
        "CV_DATA_DIR": str(tmp_path / "var"),
        "CV_DATABASE__URL": pg_url,
        "CV_RETENTION__SWEEP_BATCH_SIZE": "50",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    settings = Settings()
    svc = build_services(settings)
    try:
        ids = seed_fulfilled(
            svc.catalog.engine, svc.clock(), ORDERS, items_per_order=1, blob_root=settings.blob_dir
        )
        go = tmp_path / "go"
        children = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.retention.worker_child", f"w{i}", str(go)],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for i in range(WORKERS)
        ]
        deadline = time.monotonic() + 120
        while not all(Path(f"{go}.w{i}.ready").exists() for i in range(WORKERS)):
            assert all(c.poll() is None for c in children), "a worker died while starting"
            assert time.monotonic() < deadline, "workers did not start"
            time.sleep(0.05)
        go.write_text("go")
        reports = []
        for c in children:
            out, err = c.communicate(timeout=600)
            assert c.returncode == 0, err.decode()[-2000:]
            reports.append(json.loads(out.decode().strip().splitlines()[-1]))

        assert sum(r["claimed"] for r in reports) == ORDERS  # no order was claimed twice
        assert sum(r["purged"] for r in reports) == ORDERS
        assert all(r["failed"] == 0 and r["failures"] == 0 for r in reports)
        assert sum(1 for r in reports if r["claimed"] > 0) >= 2, "the workers did not overlap"
        with session_scope(svc.catalog.sessions) as s:
            states = dict(s.execute(select(Order.state, func.count()).group_by(Order.state)).all())
            assert states == {"purged": ORDERS}
            assert s.execute(select(func.count()).select_from(WrappedDataKey)).scalar_one() == 0
            assert s.execute(select(func.count()).select_from(PurgeReceipt)).scalar_one() == ORDERS
            assert set(s.execute(select(PurgeReceipt.order_id)).scalars()) == set(ids)
        for action in ("order.shred", "order.purge"):
            counts = audited_orders(svc.catalog.sessions, action)
            assert set(counts) == set(ids)
            assert set(counts.values()) == {1}
        assert list(svc.blobs.list("")) == []
        assert svc.audit.verify().ok
    finally:
        svc.close()
