"""`customization-vault serve`: the HTTP API under uvicorn, plus the in-process purge worker.

On the first start of a development data directory it creates an admin key and a fulfilment key for
seller `demo-seller`, prints them, and keeps them in `<data_dir>/demo-keys.txt` (0600) so `make run`
leads straight into the README's curl session.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import typer

from api.commands._common import DataDirOption, load_settings
from api.settings import Settings
from api.wiring import Services, build_services
from customization_vault.apikeys import Role
from customization_vault.errors import VaultError
from customization_vault.files import publish_private_file

DEMO_SELLER = "demo-seller"
DEMO_KEYS_FILE = "demo-keys.txt"

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def bootstrap_demo_keys(settings: Settings, services: Services) -> dict[str, str] | None:
    """First start in development only: an admin key and a demo seller's fulfilment key.

    "First start" means no demo-keys file and no API key at all, so an operator's own keys are never
    joined by demo ones, and a restart never mints more.
    """
    if settings.environment != "development" or not settings.bootstrap_demo:
        return None
    path = settings.data_dir / DEMO_KEYS_FILE
    if path.exists() or services.api_keys.list():
        return None
    admin, _ = services.api_keys.create(Role.ADMIN, label="demo admin", actor="serve:bootstrap")
    seller_id = services.vault.orders.ensure_seller(DEMO_SELLER)
    fulfilment, _ = services.api_keys.create(
        Role.FULFILMENT, seller_id=seller_id, label="demo fulfilment", actor="serve:bootstrap"
    )
    keys = {"CV_ADMIN_KEY": admin, "CV_KEY": fulfilment}
    # 0600 from the start (no window where another user could read the keys), published whole.
    publish_private_file(
        path,
        (
            "# Demo API keys created on first start (development only). `source` this file.\n"
            + "".join(f"export {k}={v}\n" for k, v in keys.items())
        ).encode(),
    )
    return keys


def start_background(services: Services) -> list[Any]:
    """What runs beside the API in one process (`make run`): the purge worker and, when a queue is
    configured (CV_RETENTION__SQS_QUEUE_URL), the OrderFulfilled/OrderCancelled consumer. Each has
    `stop()`; stop them in reverse order."""
    started: list[Any] = []
    worker = getattr(services, "worker", None)
    if worker is not None:
        worker.start()
        started.append(worker)
    purger = getattr(services, "purger", None)
    if purger is not None:
        from api.commands.retention import sqs_consumer

        consumer = sqs_consumer(services, purger)
        if consumer is not None:
            consumer.start()
            started.append(consumer)
    return started


def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Bind address (env CV_HOST; default 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="TCP port (env CV_PORT; default 8000)")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run the HTTP API (OpenAPI at /docs); first start in development prints demo API keys."""
    import uvicorn

    from api.app import create_app

    settings = load_settings(data_dir, host=host, port=port)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        services = build_services(settings)
    except VaultError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    background: list[Any] = []
    try:
        demo = bootstrap_demo_keys(settings, services)
        if demo is not None:
            typer.echo(f"Demo keys (also in {settings.data_dir / DEMO_KEYS_FILE}, mode 0600):")
            typer.echo(f"  admin:                     {demo['CV_ADMIN_KEY']}")
            typer.echo(f"  fulfilment ({DEMO_SELLER}): {demo['CV_KEY']}")
        if settings.retention.worker_in_process:
            background = start_background(services)
        app = create_app(settings, services)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level.lower())
    finally:
        for task in reversed(background):
            task.stop()
        services.close()
