"""Operator commands: `init`, `keys rotate`, `keys api create|list|revoke`, `audit verify|checkpoint`,
`db ...`."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from api.commands._common import DataDirOption, load_settings, services


class RoleName(enum.StrEnum):
    """`customization_vault.apikeys.Role`'s values, named here so `--help` need not import the catalog
    (a test keeps the two equal)."""

    fulfilment = "fulfilment"
    reviewer = "reviewer"
    admin = "admin"


keys_app = typer.Typer(help="Key-encryption keys and API keys.", no_args_is_help=True)
api_keys_app = typer.Typer(help="API keys (bearer tokens) for the HTTP API.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
db_app = typer.Typer(help="Catalog database schema.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    keys_app.add_typer(api_keys_app, name="api")
    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")
    app.add_typer(db_app, name="db")


def init(data_dir: DataDirOption = None) -> None:
    """Prepare the data directory: migrate the catalog and check the key provider and blob store."""
    from customization_vault.catalog.db import current_revision

    settings = load_settings(data_dir)
    with services(settings) as svc:
        svc.keys.check()
        svc.blobs.check()
        typer.echo(
            f"initialised {settings.data_dir} (schema {current_revision(svc.catalog.engine)})", err=True
        )


@keys_app.command("rotate")
def keys_rotate(data_dir: DataDirOption = None) -> None:
    """Re-wrap every live order's data key under a new KEK of its epoch; no blob is touched."""
    from customization_vault.rotation import count_live_keys, rewrap_all

    settings = load_settings(data_dir)
    with services(settings) as svc:
        total = count_live_keys(svc.catalog)
        with typer.progressbar(length=total, label="re-wrapping data keys", file=None) as bar:
            report = rewrap_all(svc.catalog, svc.keys, svc.audit, progress=bar.update, clock=svc.clock)
    typer.echo(
        f"re-wrapped {report.rewrapped} data keys; new KEKs: "
        + (", ".join(f"{e}={k}" for e, k in report.new_keks.items()) or "none")
        + f"; retired: {', '.join(report.retired) or 'none'}",
        err=True,
    )


@api_keys_app.command("create")
def api_key_create(
    role: Annotated[RoleName, typer.Option("--role", help="fulfilment, reviewer or admin")],
    seller: Annotated[
        str | None, typer.Option("--seller", help="The seller a fulfilment key acts for")
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="A note to recognise the key by")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create an API key; prints the token alone on stdout (it is shown only once)."""
    from customization_vault.apikeys import Role

    settings = load_settings(data_dir)
    with services(settings) as svc:
        seller_id = svc.vault.orders.ensure_seller(seller) if seller is not None else None
        token, info = svc.api_keys.create(Role(role.value), seller_id=seller_id, label=label)
    typer.echo(token)
    typer.echo(f"created {info.role.value} key {info.prefix} (id {info.id})", err=True)


@api_keys_app.command("list")
def api_key_list(data_dir: DataDirOption = None) -> None:
    """List API keys (prefix, role, seller, state); secrets are never shown again."""
    settings = load_settings(data_dir)
    with services(settings) as svc:
        for k in svc.api_keys.list():
            state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
            typer.echo(f"{k.prefix}\t{k.role.value}\t{k.seller or '-'}\t{state}\t{k.label or ''}\t{k.id}")


@api_keys_app.command("revoke")
def api_key_revoke(
    key: Annotated[str, typer.Argument(help="Key id or prefix")], data_dir: DataDirOption = None
) -> None:
    """Revoke an API key; it stops working at once."""
    settings = load_settings(data_dir)
    with services(settings) as svc:
        info = svc.api_keys.revoke(key)
    typer.echo(f"revoked {info.prefix}", err=True)


@audit_app.command("verify")
def audit_verify(
    public_key: Annotated[
        list[Path] | None,
        typer.Option(
            "--public-key",
            help="PEM public key trusted for checkpoints (repeat for earlier keys); default: this service's",
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Walk the audit chain and check it against its signed checkpoints; exit 1 naming the first edited,
    missing or reordered event, a rewritten stretch, or a checkpoint no trusted key signed."""
    settings = load_settings(data_dir)
    keys = [p.read_text(encoding="ascii") for p in public_key] if public_key else None
    with services(settings) as svc:
        report = svc.verify_audit(keys)
    if report.ok:
        typer.echo(f"audit chain intact: {report.checked} events, {report.anchored} signed checkpoints")
        return
    where = f"at event {report.first_bad_seq}: " if report.first_bad_seq is not None else ""
    typer.echo(f"audit chain BROKEN {where}{report.problem} ({report.checked} events verified before it)")
    raise typer.Exit(code=1)


@audit_app.command("checkpoint")
def audit_checkpoint(data_dir: DataDirOption = None) -> None:
    """Sign the chain's head into the blob store now (workers do it every
    CV_RETENTION__AUDIT_CHECKPOINT_INTERVAL_SECONDS)."""
    settings = load_settings(data_dir)
    with services(settings) as svc:
        written = None if svc.anchor is None else svc.anchor.checkpoint()
    if written is None:
        typer.echo("nothing to sign: the chain is empty or its head is already checkpointed", err=True)
        return
    typer.echo(f"signed checkpoint at event {written.seq} (key {written.key_id})", err=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head", data_dir: DataDirOption = None) -> None:
    """Migrate the catalog up to a revision (default: head)."""
    from customization_vault.catalog.db import current_revision, migrate

    settings = load_settings(data_dir)
    with services(settings) as svc:
        migrate(svc.catalog.engine, revision)
        typer.echo(f"schema at {current_revision(svc.catalog.engine)}", err=True)


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base")],
    data_dir: DataDirOption = None,
) -> None:
    """Migrate the catalog down to a revision."""
    from api.wiring import create_db_engine
    from customization_vault.catalog.db import current_revision, downgrade

    settings = load_settings(data_dir)

    engine = create_db_engine(settings.database_url)
    downgrade(engine, revision)
    typer.echo(f"schema at {current_revision(engine)}", err=True)
    engine.dispose()
