"""Child process for the concurrency test: build the services, wait for the start signal, sweep once.

    python -m tests.retention.worker_child NAME GO_FILE

Prints the SweepReport as JSON on stdout. Settings come from the environment (CV_*).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from api.commands.retention import receipt_signer
from api.settings import Settings
from api.wiring import build_services
from retention.purge import Purger
from retention.worker import PurgeWorker


def main() -> None:
    name, go = sys.argv[1], Path(sys.argv[2])
    settings = Settings()
    svc = build_services(settings, migrate_db=False)
    worker = PurgeWorker(Purger(svc.vault, receipt_signer(settings), config=settings.retention), name=name)
    Path(f"{go}.{name}.ready").write_text("ready")
    while not go.exists():  # a barrier, so the workers really overlap
        time.sleep(0.01)
    report = worker.run_once(maintenance=False)
    print(json.dumps({**asdict(report), "failures": worker.metrics.get("purge_failures")}))
    svc.close()


if __name__ == "__main__":
    main()
