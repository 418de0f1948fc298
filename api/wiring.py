"""Builds the backends named by Settings; the only place that knows every implementation."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.settings import Settings
from customization_vault.apikeys import ApiKeys
from customization_vault.audit import AuditLog
from customization_vault.blobs.base import BlobStore
from customization_vault.catalog import Catalog, create_db_engine, migrate
from customization_vault.clock import Clock, system_clock
from customization_vault.keys.base import KeyProvider
from customization_vault.review import ReviewDesk
from customization_vault.vault import Vault
from retention.metrics import PurgeMetrics
from retention.purge import Purger
from retention.receipts import ReceiptSigner
from retention.worker import PurgeWorker
from screening.composite import CompositeScreener, null_composite
from screening.screener import NullScreener, Screener

__all__ = [
    "Services",
    "build_blob_store",
    "build_key_provider",
    "build_receipt_signer",
    "build_screener",
    "build_services",
    "create_db_engine",
]

log = logging.getLogger(__name__)


def _kms_client(region: str, endpoint_url: str | None) -> Any:
    import boto3  # imported lazily: the embedded default never needs it loaded

    return boto3.client("kms", region_name=region, endpoint_url=endpoint_url)


def _s3_client(region: str, endpoint_url: str | None) -> Any:
    import boto3

    return boto3.client("s3", region_name=region, endpoint_url=endpoint_url)


def build_key_provider(settings: Settings, clock: Clock = system_clock) -> KeyProvider:
    cfg = settings.keys
    if cfg.backend == "kms":
        from customization_vault.keys.kms import AwsKmsKeyProvider

        client = _kms_client(cfg.kms_region, cfg.kms_endpoint_url)
        return AwsKmsKeyProvider(client, alias_prefix=cfg.kms_alias_prefix, clock=clock)
    from customization_vault.keys.local import LocalKeyring

    return LocalKeyring(settings.key_dir, clock=clock)


def build_blob_store(settings: Settings) -> BlobStore:
    cfg = settings.storage
    if cfg.backend == "s3":
        from customization_vault.blobs.s3 import S3BlobStore

        if not cfg.s3_bucket:
            raise ValueError("CV_STORAGE__S3_BUCKET is required with the s3 backend")
        client = _s3_client(cfg.s3_region, cfg.s3_endpoint_url)
        store = S3BlobStore(client, cfg.s3_bucket, prefix=cfg.s3_prefix)
        store.ensure_bucket()
        return store
    from customization_vault.blobs.local import LocalBlobStore

    return LocalBlobStore(settings.blob_dir)


def _engine(module: str, kind: str, build: Callable[[Any], Screener], needs: tuple[str, ...]) -> Screener:
    """The engine from `module`, or NullScreener (logged loudly) while that engine is not installed.

    Only absence falls back: an engine that is present but fails to build (a broken list, a missing
    registry) raises, so a misconfigured process never starts with screening silently off.
    """
    try:
        mod = importlib.import_module(module)
        for name in needs:
            getattr(mod, name)
    except (ImportError, AttributeError):
        log.warning("%s screening engine not available: %s items are NOT screened (NullScreener)", kind, kind)
        return NullScreener()
    return build(mod)


def _text_screener(settings: Settings) -> Screener:
    cfg = settings.screening
    return _engine(
        "screening.text",
        "text",
        lambda m: m.build_text_screener(cfg.marks_path, cfg.terms_path, cfg.allow_path),
        ("build_text_screener",),
    )


def _ocr_engine(settings: Settings) -> Any:
    if not settings.screening.ocr:
        return None
    try:
        return importlib.import_module("screening.image.ocr").default_ocr_engine()
    except Exception as exc:  # OCR is an extra signal: without it images are still hash-matched
        log.warning("OCR unavailable (%s): text inside images is not screened", type(exc).__name__)
        return None


def _image_screener(settings: Settings) -> Screener:
    path = settings.screening.registry_path

    def build(m: Any) -> Screener:
        registry = m.ImageRegistry.from_csv(path) if path is not None else m.ImageRegistry.default()
        # Text found by OCR goes through the same text lists as a text item.
        screener: Screener = m.ImageScreener(registry, _ocr_engine(settings), _text_screener(settings))
        return screener

    return _engine("screening.image", "image", build, ("ImageRegistry", "ImageScreener"))


def _font_screener(settings: Settings) -> Screener:
    path = settings.screening.restricted_fonts_path

    def build(m: Any) -> Screener:
        restricted = m.load_restricted_fonts(path) if path is not None else None
        screener: Screener = m.FontScreener(restricted)
        return screener

    return _engine("screening.fonts", "font", build, ("FontScreener", "load_restricted_fonts"))


def build_screener(settings: Settings) -> CompositeScreener:
    """Engines are built on first use (or `warm()`), not here: lists and indexes take time to load."""
    if not settings.screening.enabled:
        log.info("screening disabled by settings: every item clears")
        return null_composite()
    return CompositeScreener(
        text=lambda: _text_screener(settings),
        image=lambda: _image_screener(settings),
        font=lambda: _font_screener(settings),
    )


def build_receipt_signer(settings: Settings) -> ReceiptSigner:
    pem = settings.signing.receipt_key_pem
    if pem is not None:
        return ReceiptSigner.from_pem(pem.get_secret_value())
    return ReceiptSigner.load_or_create(settings.receipt_key_path)


@dataclass
class Services:
    """Everything a process needs, built once from Settings and handed to the app, CLI and workers."""

    settings: Settings
    catalog: Catalog
    audit: AuditLog
    keys: KeyProvider
    blobs: BlobStore
    vault: Vault
    api_keys: ApiKeys
    clock: Clock
    screener: CompositeScreener = field(default_factory=null_composite)
    # Retention: built here, started only by `serve` (worker) or driven by the API (purger).
    signer: ReceiptSigner | None = None
    purger: Purger | None = None
    worker: PurgeWorker | None = None
    purge_metrics: PurgeMetrics = field(default_factory=PurgeMetrics)
    review: ReviewDesk | None = None

    def close(self) -> None:
        self.catalog.engine.dispose()


def build_services(settings: Settings, *, clock: Clock = system_clock, migrate_db: bool = True) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.database_url, echo=settings.database.echo)
    if migrate_db:
        migrate(engine)
    catalog = Catalog.of(engine)
    audit = AuditLog(catalog, clock)
    keys = build_key_provider(settings, clock)
    blobs = build_blob_store(settings)
    vault = Vault(
        catalog,
        keys,
        blobs,
        audit,
        clock=clock,
        segment_size=settings.storage.segment_size,
        max_items_per_order=settings.limits.max_items_per_order,
    )
    signer = build_receipt_signer(settings)
    purge_metrics = PurgeMetrics()
    purger = Purger(vault, signer, clock=clock, config=settings.retention, metrics=purge_metrics)
    worker = PurgeWorker(purger, config=settings.retention, clock=clock, metrics=purge_metrics)
    return Services(
        settings,
        catalog,
        audit,
        keys,
        blobs,
        vault,
        ApiKeys(catalog, audit, clock),
        clock,
        screener=build_screener(settings),
        signer=signer,
        purger=purger,
        worker=worker,
        purge_metrics=purge_metrics,
        review=ReviewDesk(vault.content, audit, clock=clock),
    )
