"""Child process for the crash tests: purge orders and stop dead at a given step and phase.

    python -m tests.retention.crash_child ORDER_ID[,ORDER_ID...] STEP PHASE MARKER

One order is purged as the fulfilment call does (`Purger.run`); several in one `run_batch`, as the
sweep does with the batch it claimed.

Settings come from the environment (CV_*). At (STEP, PHASE) it writes MARKER and sleeps; the parent
then SIGKILLs it, so the purge stops exactly there, with whatever transaction was open left uncommitted.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from api.commands.retention import receipt_signer
from api.settings import Settings
from api.wiring import build_services
from retention.purge import Purger


def _publish(marker: Path, text: str) -> None:
    """Write-then-rename: the parent never reads a half-written marker."""
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, marker)


def main() -> None:
    order_ids, step, phase, marker = sys.argv[1].split(","), int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])

    def hook(at: int, at_phase: str) -> None:
        if (at, at_phase) == (step, phase):
            _publish(marker, "stopped")
            while True:
                time.sleep(60)

    settings = Settings()
    svc = build_services(settings)
    purger = Purger(svc.vault, receipt_signer(settings), config=settings.retention, on_step=hook)
    # A batch is claimed once every order of it is marked: the earlier ones are marked without the hook,
    # so a stop after step 1 finds all of them marked.
    quiet = Purger(svc.vault, receipt_signer(settings), config=settings.retention)
    for order_id in order_ids[:-1]:
        quiet.mark(svc.vault.orders.get(order_id), "fulfilled", actor="crash-child")
    purger.mark(svc.vault.orders.get(order_ids[-1]), "fulfilled", actor="crash-child")
    if len(order_ids) == 1:
        purger.run(order_ids[0], actor="crash-child")
    else:
        purger.run_batch(order_ids, actor="crash-child")
    _publish(marker, "finished")  # the hook never fired: the parent fails the test on this


if __name__ == "__main__":
    main()
