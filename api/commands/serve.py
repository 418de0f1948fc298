"""`customization-vault serve`: the HTTP API under uvicorn, with the purge worker, the webhook deliverer,
the re-screen worker and the list reload that keeps screening on the newest stored list versions.

On the first start of a development data directory it creates an admin key and a fulfilment key for
seller `demo-seller`, keeps them in `<data_dir>/demo-keys.txt` (0600) and, at a terminal only, prints
them, so `make run` leads straight into the README's curl session. Start-up ends with a short banner:
where the API, its docs, the keys and the reviewer workbench are. Production refuses to start while
any demo key is still active.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.commands._common import DataDirOption, load_settings

if TYPE_CHECKING:
    from pathlib import Path

    from api.settings import Settings
    from api.wiring import Services

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
    from customization_vault.apikeys import DEMO_LABELS, Role
    from customization_vault.files import publish_private_file

    admin_label, fulfilment_label = DEMO_LABELS
    admin, _ = services.api_keys.create(Role.ADMIN, label=admin_label, actor="serve:bootstrap", demo=True)
    seller_id = services.vault.orders.ensure_seller(DEMO_SELLER)
    fulfilment, _ = services.api_keys.create(
        Role.FULFILMENT, seller_id=seller_id, label=fulfilment_label, actor="serve:bootstrap", demo=True
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


def announce_demo_keys(keys: dict[str, str], path: Path, *, tty: bool) -> None:
    """Show fresh demo keys to a person at a terminal; anywhere else (a log collector, a file, a pipe)
    only say where they are: a key printed into a log is a key in every copy of that log."""
    if not tty:
        typer.echo(f"Demo keys created; they are in {path} (mode 0600): source it.", err=True)
        return
    typer.echo(f"Demo keys (also in {path}, mode 0600):")
    typer.echo(f"  admin:                     {keys['CV_ADMIN_KEY']}")
    typer.echo(f"  fulfilment ({DEMO_SELLER}): {keys['CV_KEY']}")


def start_background(services: Services) -> list[Any]:
    """What runs beside the API in one process (`make run`): the purge worker and, when a queue is
    configured (CV_RETENTION__SQS_QUEUE_URL), the OrderFulfilled/OrderCancelled consumer (both unless
    CV_RETENTION__WORKER_IN_PROCESS=false), and the webhook deliverer (unless
    CV_WEBHOOKS__DELIVER_IN_PROCESS=false). Each has `stop()`; stop them in reverse order."""
    started: list[Any] = []
    settings = services.settings
    worker = services.worker if settings.retention.worker_in_process else None
    if worker is not None:
        worker.start()
        started.append(worker)
    deliverer = services.deliverer if settings.webhooks.deliver_in_process else None
    if deliverer is not None:
        deliverer.start()
        started.append(deliverer)
    purger = services.purger if settings.retention.worker_in_process else None
    if purger is not None:
        from api.commands.retention import sqs_consumer

        consumer = sqs_consumer(services, purger)
        if consumer is not None:
            consumer.start()
            started.append(consumer)
    return started


def start_list_tasks(services: Services, *, rescreen: bool) -> list[Any]:
    """Every serving process follows new list versions (`ListReloader`); with `rescreen` it also runs
    waiting re-screen jobs. Each has `stop()`; stop them in reverse order."""
    started: list[Any] = []
    if services.reloader is not None:
        services.reloader.start()
        started.append(services.reloader)
    if rescreen:
        from customization_vault.rescreen import RescreenWorker

        worker = RescreenWorker(services.rescreener(), interval=services.settings.screening.reload_seconds)
        worker.start()
        started.append(worker)
    return started


def base_url(host: str, port: int) -> str:
    """The URL to open for a bind address: a wildcard bind is reached on loopback."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def workbench_path(app: Any) -> str | None:
    """Where the reviewer workbench (web pages, not the /v1 API) is mounted: the mount named so."""
    for route in getattr(app, "routes", ()):
        if getattr(route, "name", None) == "workbench":
            return f"{getattr(route, 'path', '').rstrip('/')}/"
    return None


def banner(settings: Settings, url: str, workbench: str | None) -> str:
    """The few lines that end `serve`'s start-up: what to open, and where the keys come from."""
    data_dir = settings.data_dir
    keys_file = data_dir / DEMO_KEYS_FILE
    if keys_file.exists():
        keys = f"source {keys_file}  (CV_KEY: fulfilment for {DEMO_SELLER}, CV_ADMIN_KEY: admin)"
    else:
        keys = f"customization-vault keys api list --data-dir {data_dir}"
    lines = [
        f"customization-vault is serving {url}",
        f"  API docs   {url}/docs",
        f"  API keys   {keys}",
        f"  reviewer   customization-vault keys api create --role reviewer --data-dir {data_dir}",
    ]
    if workbench is not None:
        lines.append(f"  workbench  {url}{workbench}")
    return "\n".join(lines)


def run_uvicorn_workers(settings: Settings, workers: int) -> None:
    """`--workers N`: uvicorn starts N processes, each building its app from the environment (an
    import string is the only way into them), so our resolved options go there first. Each runs the
    same guarded edge as one process does (`api/server.py`)."""
    from uvicorn.supervisors import Multiprocess

    from api.server import uvicorn_config

    os.environ.update(
        {"CV_HOST": settings.host, "CV_PORT": str(settings.port), "CV_DATA_DIR": str(settings.data_dir)}
    )
    config = uvicorn_config("api.app:app_from_environment", settings, factory=True, workers=workers)
    Multiprocess(config, sockets=[config.bind_socket()]).run()


def run_uvicorn(app: Any, settings: Settings) -> None:
    """uvicorn as `api/server.py` configures it (h11, limits on each request's head, our logging) and
    the banner once the socket listens (the port as bound, so `--port 0` shows the real one)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if not self.started:
                return
            port = self.servers[0].sockets[0].getsockname()[1] if self.servers else settings.port
            url = base_url(settings.host, port)
            if settings.log_format == "json":
                log.info("serving %s", url, extra={"url": url, "docs_url": f"{url}/docs"})
            else:
                typer.echo(banner(settings, url, workbench_path(app)))

    from api.server import uvicorn_config

    server = Server(uvicorn_config(app, settings))
    server.run()
    if not server.started:
        raise typer.Exit(code=3)


def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Bind address (env CV_HOST; default 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="TCP port (env CV_PORT; default 8000)")] = None,
    data_dir: DataDirOption = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="HTTP worker processes on this machine (uvicorn); each is a full API over the same "
            "backends, and background work stays in this one",
        ),
    ] = 1,
) -> None:
    """Run the HTTP API (OpenAPI at /docs); first start in development creates demo API keys."""
    from api.app import create_app
    from api.observability import configure_logging
    from api.wiring import DemoKeysActive, build_services, refuse_demo_keys_in_production
    from customization_vault.errors import VaultError

    settings = load_settings(data_dir, host=host, port=port)
    configure_logging(settings.log_level, settings.log_format)
    try:
        services = build_services(settings)
    except VaultError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    background: list[Any] = []
    try:
        try:
            refuse_demo_keys_in_production(services)
        except DemoKeysActive as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=1) from exc
        demo = bootstrap_demo_keys(settings, services)
        if demo is not None:
            announce_demo_keys(demo, settings.data_dir / DEMO_KEYS_FILE, tty=sys.stdout.isatty())
        background = start_list_tasks(services, rescreen=settings.retention.worker_in_process)
        background += start_background(services)
        if workers > 1:
            run_uvicorn_workers(settings, workers)
        else:
            run_uvicorn(create_app(settings, services), settings)
    finally:
        for task in reversed(background):
            task.stop()
        services.close()
