"""Seller commands: `sellers set-webhook|show-webhook|remove-webhook` (where decisions are notified)."""

from __future__ import annotations

from typing import Annotated

import typer

from api.commands._common import DataDirOption, load_settings, services
from api.wiring import Services
from customization_vault.errors import InvalidInput
from customization_vault.notifications import WebhookBook, check_webhook_url

sellers_app = typer.Typer(help="Sellers: their decision webhooks.", no_args_is_help=True)

SellerArg = Annotated[str, typer.Argument(help="The seller's id (as in `keys api create --seller`)")]
ActorOption = Annotated[str, typer.Option("--actor", help="Who makes the change (audited)")]


def register(app: typer.Typer) -> None:
    app.add_typer(sellers_app, name="sellers")


def _book(svc: Services) -> WebhookBook:
    return svc.webhooks or WebhookBook(svc.catalog, svc.audit, clock=svc.clock)


def _known_seller(svc: Services, seller: str) -> str:
    seller_id = svc.vault.orders.seller_id(seller)
    if seller_id is None:
        typer.echo(f"error: no seller {seller!r}", err=True)
        raise typer.Exit(code=1)
    return seller_id


@sellers_app.command("set-webhook")
def set_webhook(
    seller: SellerArg,
    url: Annotated[str, typer.Argument(help="http:// or https:// URL that receives the signed POSTs")],
    actor: ActorOption = "cli:admin",
    data_dir: DataDirOption = None,
) -> None:
    """Send the seller's decision notifications to URL; prints the new signing secret alone on stdout.

    The secret is shown only this once. Setting again replaces the URL and the secret.
    """
    try:
        check_webhook_url(url)
    except InvalidInput as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    settings = load_settings(data_dir)
    with services(settings) as svc:
        try:
            seller_id = svc.vault.orders.ensure_seller(seller)
        except InvalidInput as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=2) from exc
        secret = _book(svc).set(seller_id, url, actor=actor)
    typer.echo(secret)
    typer.echo(f"webhook set for seller {seller}; the secret above is shown only once", err=True)


@sellers_app.command("show-webhook")
def show_webhook(seller: SellerArg, data_dir: DataDirOption = None) -> None:
    """Print the seller's webhook URL (never the secret); its backlog on stderr."""
    settings = load_settings(data_dir)
    with services(settings) as svc:
        info = _book(svc).get(_known_seller(svc, seller))
    if info is None:
        typer.echo(f"error: seller {seller} has no webhook", err=True)
        raise typer.Exit(code=1)
    typer.echo(info.url)
    typer.echo(
        f"set {info.set_at:%Y-%m-%d %H:%M}Z; {info.pending} pending, {info.given_up} given up", err=True
    )


@sellers_app.command("remove-webhook")
def remove_webhook(
    seller: SellerArg, actor: ActorOption = "cli:admin", data_dir: DataDirOption = None
) -> None:
    """Stop the seller's notifications; queued ones are kept in the outbox but not sent."""
    settings = load_settings(data_dir)
    with services(settings) as svc:
        removed = _book(svc).remove(_known_seller(svc, seller), actor=actor)
    if not removed:
        typer.echo(f"error: seller {seller} has no webhook", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"webhook removed for seller {seller}", err=True)
