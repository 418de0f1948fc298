"""Child process for the webhook crash tests: deliver the outbox and be killed in the middle.

    python -m tests.notifications.crash_child MODE MARKER

Settings come from the environment (CV_*). MODE "sending": deliver; the parent's receiver holds the
request open and the parent kills this process while it waits for the answer. MODE "answered": the
receiver's 2xx has arrived; this process writes MARKER and sleeps before it can record the delivery,
and the parent kills it there.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from api.settings import Settings
from api.wiring import build_services
from customization_vault.delivery import PostResult, UrllibTransport, WebhookDeliverer


def _publish(marker: Path, text: str) -> None:
    """Write-then-rename: the parent never reads a half-written marker."""
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, marker)


class _StopAfterAnswer(UrllibTransport):
    def __init__(self, marker: Path) -> None:
        super().__init__()
        self.marker = marker

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> PostResult:
        result = super().post(url, body, headers, timeout)
        _publish(self.marker, f"answered {result.status}")
        while True:
            time.sleep(60)


def main() -> None:
    mode, marker = sys.argv[1], Path(sys.argv[2])
    settings = Settings()
    svc = build_services(settings)
    transport = _StopAfterAnswer(marker) if mode == "answered" else None
    WebhookDeliverer(svc.catalog, config=settings.webhooks, transport=transport).run_once()
    _publish(marker, "finished")  # never killed mid-delivery: the parent fails the test on this


if __name__ == "__main__":
    main()
