"""What the guarded HTTP edge costs: `serve`'s uvicorn (h11 with the header deadline and size count,
`api/server.py`) against uvicorn's default (httptools, no head limits), same app, same load.

Two loads, each for N seconds with C keep-alive clients against a server in this process's thread:
`GET /healthz` (the head is most of the work) and a 200-character text upload (a small JSON body
through the body deadline, the upload route and the vault). Both servers run one after the other in
one invocation; the ratio is guarded / default requests per second.

    .venv/bin/python benchmarks/bench_edge.py [--quick] [--seconds N] [--clients N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from api.server import uvicorn_config  # noqa: E402
from api.settings import Settings  # noqa: E402
from api.wiring import build_services  # noqa: E402
from customization_vault.apikeys import Role  # noqa: E402
from tests.api.live import live_server  # noqa: E402
from tests.processes import free_port  # noqa: E402


def _load(base: str, clients: int, seconds: float, request: Callable[[httpx.Client, int], int]) -> float:
    """Requests per second over `seconds`, every answer checked."""
    done = [0] * clients
    stop = time.monotonic() + seconds

    def client(k: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as c:
            n = 0
            while time.monotonic() < stop:
                status = request(c, n)
                if status not in (200, 201):
                    raise SystemExit(f"unexpected status {status}")
                n += 1
            done[k] = n

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.monotonic() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=None)
    a = ap.parse_args()
    seconds = a.seconds or (3.0 if a.quick else 10.0)
    a.rounds = a.rounds or (1 if a.quick else 3)
    print(
        f"machine: {platform.platform()} | {platform.machine()} | cores={os.cpu_count()} | "
        f"python {platform.python_version()} | {a.clients} clients, {seconds:g} s per run | "
        f"load average before: {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            environment="test", data_dir=Path(tmp) / "var", bootstrap_demo=False, screening={"enabled": False}
        )
        svc = build_services(settings)
        token, _ = svc.api_keys.create(Role.FULFILMENT, seller_id=svc.vault.orders.ensure_seller("bench"))
        auth = {"Authorization": f"Bearer {token}"}
        text = {"kind": "text", "text": ("Happy birthday to the best grandma in the world " * 5)[:200]}
        order_count = [0]

        def health(c: httpx.Client, _n: int) -> int:
            return c.get("/healthz").status_code

        def upload(c: httpx.Client, n: int) -> int:
            if n % 40 == 0:  # an order holds at most 50 items
                order_count[0] += 1
                c.put(f"/v1/orders/B-{threading.get_ident()}-{order_count[0]}", headers=auth)
                c.headers["x-order"] = f"B-{threading.get_ident()}-{order_count[0]}"
            return c.post(f"/v1/orders/{c.headers['x-order']}/items", headers=auth, json=text).status_code

        servers = {
            "default (httptools)": lambda app: uvicorn.Config(
                app, host="127.0.0.1", port=free_port(), log_level="warning"
            ),
            "guarded (h11)": lambda app: uvicorn_config(
                app, settings.model_copy(update={"port": free_port(), "log_level": "warning"})
            ),
        }
        results: dict[tuple[str, str], list[float]] = {}
        try:
            # Alternate the two servers round by round: on a shared machine the load drifts, and the
            # median of interleaved rounds compares like with like.
            for _round in range(a.rounds):
                for name, config in servers.items():
                    with live_server(config(create_app(settings, svc))) as port:
                        base = f"http://127.0.0.1:{port}"
                        for load, request in (("GET /healthz", health), ("POST text item", upload)):
                            rps = _load(base, a.clients, seconds, request)
                            results.setdefault((name, load), []).append(rps)
        finally:
            svc.close()
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    for load in ("GET /healthz", "POST text item"):
        base_rps = statistics.median(results[("default (httptools)", load)])
        ours = statistics.median(results[("guarded (h11)", load)])
        print(
            f"{load:16s} default {base_rps:8.0f} req/s | guarded {ours:8.0f} req/s | "
            f"ratio guarded/default {ours / base_rps:.2f} (median of {a.rounds} interleaved rounds)"
        )


if __name__ == "__main__":
    main()
