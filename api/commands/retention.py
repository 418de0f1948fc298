"""Worker and retention commands: `worker` (screening jobs, purge sweep, webhooks), `receipts`, `holds`."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from api.commands._common import DataDirOption, load_settings, services
from api.commands.serve import start_list_tasks
from api.observability import configure_logging
from api.settings import Settings
from api.wiring import Services, build_receipt_signer, build_screening_worker, screening_processes
from customization_vault.delivery import WebhookDeliverer
from customization_vault.errors import OrderNotFound
from retention.errors import SigningKeyError
from retention.holds import LegalHolds
from retention.purge import Purger
from retention.receipts import ReceiptSigner, verify_receipt
from retention.worker import PurgeWorker

receipts_app = typer.Typer(help="Signed purge receipts.", no_args_is_help=True)
holds_app = typer.Typer(
    help="Legal holds: the only thing that pauses a purge (audited).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.add_typer(receipts_app, name="receipts")
    app.add_typer(holds_app, name="holds")


def receipt_signer(settings: Settings) -> ReceiptSigner:
    """The service's receipt key: from CV_SIGNING__RECEIPT_KEY_PEM, else the 0600 file (made on first use)."""
    return build_receipt_signer(settings)


def purger_for(svc: Services) -> Purger:
    """The wired purger if `build_services` made one, else one over the same vault and settings."""
    wired = getattr(svc, "purger", None)
    if isinstance(wired, Purger):
        return wired
    return Purger(svc.vault, receipt_signer(svc.settings), clock=svc.clock, config=svc.settings.retention)


def sqs_consumer(svc: Services, purger: Purger) -> Any | None:
    """The event consumer when CV_RETENTION__SQS_QUEUE_URL is set (used by `worker` and `serve`)."""
    cfg = svc.settings.retention
    if not cfg.sqs_queue_url:
        return None
    import boto3

    from retention.events import SqsConsumer

    client = boto3.client("sqs", region_name=cfg.sqs_region, endpoint_url=cfg.sqs_endpoint_url)
    return SqsConsumer(client, cfg.sqs_queue_url, purger, svc.vault)


def worker(
    data_dir: DataDirOption = None,
    once: Annotated[
        bool,
        typer.Option("--once", help="Screen every due upload, one full sweep (with maintenance), then exit"),
    ] = False,
    interval: Annotated[
        float | None,
        typer.Option(
            "--interval", min=0.01, help="Seconds between sweeps (env CV_RETENTION__SWEEP_INTERVAL_SECONDS)"
        ),
    ] = None,
    screening: Annotated[
        bool,
        typer.Option("--screening/--no-screening", help="Screen uploads (durable screening jobs)"),
    ] = True,
    purge: Annotated[
        bool,
        typer.Option("--purge/--no-purge", help="Run the purge sweep, webhook delivery and event consumer"),
    ] = True,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            min=1,
            help="Screening child processes (env CV_SCREENING__PROCESSES; default: cores)",
        ),
    ] = None,
) -> None:
    """Screen uploads, drive every order that must be purged to "purged" (also expiry, orphans and
    KEK epochs) and deliver the seller webhooks waiting in the outbox.

    Any number of workers may run against PostgreSQL, on any number of machines: screening jobs and
    purges are claimed with SKIP LOCKED and leases. Run one on SQLite. Each screens with `--processes`
    isolated child processes. With CV_RETENTION__SQS_QUEUE_URL set it also consumes
    OrderFulfilled/OrderCancelled events. Without --once it also runs waiting re-screen jobs
    (`lists rescreen`) on the newest list versions.
    """
    settings = load_settings(data_dir)
    if interval is not None:
        settings.retention.sweep_interval_seconds = interval
    configure_logging(settings.log_level, settings.log_format)
    with services(settings) as svc:
        try:
            purger = purger_for(svc)
        except SigningKeyError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=1) from exc
        sweeper = PurgeWorker(purger, anchor=getattr(svc, "anchor", None))
        deliverer = svc.deliverer or WebhookDeliverer(
            svc.catalog, config=settings.webhooks, clock=svc.clock, metrics=svc.webhook_metrics
        )
        if once:
            screened = _drain_screening(svc, processes) if screening and settings.screening.enabled else {}
            report = sweeper.run_once(maintenance=True)
            delivery = deliverer.run_once()
            typer.echo(
                json.dumps(
                    {**asdict(report), "webhooks": asdict(delivery), "screening": screened}, sort_keys=True
                )
            )
            # A receiver that does not answer is the seller's outage, not the worker's failure.
            raise typer.Exit(code=1 if report.failed else 0)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        screener = None
        if screening and settings.screening.enabled:
            screener = build_screening_worker(svc, processes=processes)
            screener.warm()
            screener.start()
            n = screening_processes(settings, processes)
            typer.echo(f"{screener.name}: screening with {n} isolated processes", err=True)
        consumer = sqs_consumer(svc, purger) if purge else None
        lists = start_list_tasks(svc, rescreen=True)  # re-screen jobs run here too, on the newest lists
        if purge:
            sweeper.start()
            deliverer.start()
            typer.echo(
                f"{sweeper.name}: sweeping every {settings.retention.sweep_interval_seconds:g}s, "
                f"delivering webhooks every {settings.webhooks.interval_seconds:g}s",
                err=True,
            )
        if consumer is not None:
            consumer.start()
        try:
            stop.wait()
        finally:
            if consumer is not None:
                consumer.stop()
            if purge:
                deliverer.stop()
                sweeper.stop()
            if screener is not None:
                screener.stop()
            for task in reversed(lists):
                task.stop()
        counters = {**purger.metrics.snapshot(), **deliverer.metrics.snapshot()}
        typer.echo(f"{sweeper.name}: stopped ({json.dumps(counters, sort_keys=True)})", err=True)


def _drain_screening(svc: Services, processes: int | None) -> dict[str, int]:
    """Screen every due screening job before the sweep (so a cron-driven `worker --once` leaves no
    upload pending); how many jobs came to each outcome. The screening processes start only if an
    item needs one (text is screened in this process) and are shut down before the sweep."""
    worker = build_screening_worker(svc, processes=processes)
    try:
        outcomes = worker.drain()
    finally:
        worker.stop()
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    return counts


@receipts_app.command("verify")
def receipts_verify(
    file: Annotated[Path, typer.Argument(help="A receipt as returned by GET /v1/orders/{id}/receipt")],
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key", help="PEM public key (GET /v1/receipts/public-key); default: this service's"
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check a receipt's Ed25519 signature; exit 0 if valid, 1 if not."""
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        typer.echo(f"error: cannot read a JSON receipt from {file}", err=True)
        raise typer.Exit(code=2) from exc
    try:
        if public_key is not None:
            pem = public_key.read_text(encoding="ascii")
        else:
            settings = load_settings(data_dir)
            pem = (
                receipt_signer(settings)
                if settings.signing.receipt_key_pem is not None
                else ReceiptSigner.load(settings.receipt_key_path)
            ).public_key_pem()
    except (OSError, SigningKeyError) as exc:
        typer.echo(f"error: no public key to verify with ({exc})", err=True)
        raise typer.Exit(code=2) from exc
    if not verify_receipt(doc, pem):
        typer.echo("INVALID: the signature does not match this key and content")
        raise typer.Exit(code=1)
    body = doc["body"]
    typer.echo(
        f"valid: order {body.get('order', {}).get('external_id')} of seller "
        f"{body.get('seller', {}).get('external_id')} purged at {body.get('purged_at')} (key {doc['key_id']})"
    )


def _resolve_order(svc: Services, order: str, seller: str | None) -> str:
    if seller is None:
        return svc.vault.orders.get(order).id
    seller_id = svc.vault.orders.seller_id(seller)
    if seller_id is None:
        raise OrderNotFound("no such order")
    return svc.vault.orders.find(seller_id, order).id


@holds_app.command("place")
def holds_place(
    order: Annotated[str, typer.Argument(help="Order id (internal), or the seller's order id with --seller")],
    reason: Annotated[str, typer.Option("--reason", help="Why (case number); kept with the hold")],
    days: Annotated[
        float, typer.Option("--days", min=0.001, help="The hold lapses after this many days")
    ] = 30,
    seller: Annotated[
        str | None, typer.Option("--seller", help="The seller's id, to name the order by theirs")
    ] = None,
    actor: Annotated[str, typer.Option("--actor", help="Who places it (audited)")] = "cli:admin",
    data_dir: DataDirOption = None,
) -> None:
    """Place a legal hold: the order's purge pauses (fetch still answers 410 once fulfilled)."""
    settings = load_settings(data_dir)
    with services(settings) as svc:
        order_id = _resolve_order(svc, order, seller)
        holds = LegalHolds(svc.catalog, svc.audit, svc.clock)
        hold = holds.place(
            order_id, reason=reason, expires_at=svc.clock() + timedelta(days=days), actor=actor
        )
    typer.echo(hold.id)
    typer.echo(f"hold {hold.id} on order {order_id} until {hold.expires_at:%Y-%m-%d %H:%M}Z", err=True)


@holds_app.command("release")
def holds_release(
    hold: Annotated[str, typer.Argument(help="Hold id")],
    actor: Annotated[str, typer.Option("--actor", help="Who releases it (audited)")] = "cli:admin",
    data_dir: DataDirOption = None,
) -> None:
    """Release a hold; the next sweep purges the order if it is due."""
    settings = load_settings(data_dir)
    with services(settings) as svc:
        view = LegalHolds(svc.catalog, svc.audit, svc.clock).release(hold, actor=actor)
    typer.echo(f"released hold {view.id} on order {view.order_id}", err=True)


@holds_app.command("list")
def holds_list(
    order: Annotated[
        str | None,
        typer.Argument(
            help="Order id (internal), or the seller's order id with --seller; none: every active hold"
        ),
    ] = None,
    seller: Annotated[str | None, typer.Option("--seller", help="The seller's id")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Every hold of an order (id, placed, expires, state, by, reason); without one, every active hold
    (with its order id after the hold's)."""
    if order is None and seller is not None:
        typer.echo("error: --seller names the seller of ORDER: give the order too", err=True)
        raise typer.Exit(code=2)
    settings = load_settings(data_dir)
    with services(settings) as svc:
        holds = LegalHolds(svc.catalog, svc.audit, svc.clock)
        if order is None:
            for h in holds.active():
                typer.echo(
                    f"{h.id}\t{h.order_id}\t{h.placed_at:%Y-%m-%d}\t{h.expires_at:%Y-%m-%d}\tactive"
                    f"\t{h.placed_by}\t{h.reason}"
                )
            return
        order_id = _resolve_order(svc, order, seller)
        for h in holds.for_order(order_id):
            state = "active" if h.active else ("released" if h.released_at else "lapsed")
            typer.echo(
                f"{h.id}\t{h.placed_at:%Y-%m-%d}\t{h.expires_at:%Y-%m-%d}\t{state}\t{h.placed_by}\t{h.reason}"
            )
