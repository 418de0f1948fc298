"""Builds the backends named by Settings; the only place that knows every implementation."""

from __future__ import annotations

import functools
import importlib
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from api.settings import Environment, Settings
from customization_vault import list_engines
from customization_vault.apikeys import ApiKeys
from customization_vault.audit import AuditLog, ChainReport
from customization_vault.blobs.base import BlobStore
from customization_vault.catalog import Catalog, create_db_engine, migrate
from customization_vault.clock import Clock, system_clock
from customization_vault.config import ScreeningConfig
from customization_vault.dashboard import ReviewStats
from customization_vault.delivery import DeliveryMetrics, WebhookDeliverer
from customization_vault.files import private_dir
from customization_vault.keys.base import KeyProvider
from customization_vault.list_reload import EngineBuilder, ListReloader
from customization_vault.lists import ListBook, StoredLists
from customization_vault.notifications import Notifier, WebhookBook
from customization_vault.rescreen import Rescreener
from customization_vault.review import ReviewDesk
from customization_vault.reviewer_sessions import ReviewerSessions
from customization_vault.screening_jobs import ScreeningWorker, WorkerSettings
from customization_vault.vault import Vault
from retention.anchor import AuditAnchor
from retention.metrics import PurgeMetrics
from retention.purge import Purger
from retention.receipts import ReceiptSigner
from retention.worker import PurgeWorker
from screening.composite import CompositeScreener, null_composite
from screening.findings import Verdict
from screening.isolation import IsolatedScreener, IsolationLimits
from screening.screener import DISABLED, EngineState, EngineStatus, NullScreener, Screener

__all__ = [
    "DemoKeysActive",
    "ScreeningUnavailable",
    "Services",
    "build_blob_store",
    "build_key_provider",
    "build_list_reloader",
    "build_receipt_signer",
    "build_screener",
    "build_screening_worker",
    "build_services",
    "create_db_engine",
    "refuse_demo_keys_in_production",
]

log = logging.getLogger(__name__)


def kms_client(region: str, endpoint_url: str | None) -> Any:
    import boto3  # imported lazily: the embedded default never needs it loaded

    return boto3.client("kms", region_name=region, endpoint_url=endpoint_url)


def s3_client(region: str, endpoint_url: str | None) -> Any:
    import boto3

    return boto3.client("s3", region_name=region, endpoint_url=endpoint_url)


def build_key_provider(settings: Settings, clock: Clock = system_clock) -> KeyProvider:
    cfg = settings.keys
    if cfg.backend == "kms":
        from customization_vault.keys.kms import AwsKmsKeyProvider

        client = kms_client(cfg.kms_region, cfg.kms_endpoint_url)
        return AwsKmsKeyProvider(client, alias_prefix=cfg.kms_alias_prefix, clock=clock)
    from customization_vault.keys.local import LocalKeyring

    return LocalKeyring(settings.key_dir, clock=clock)


def build_blob_store(settings: Settings) -> BlobStore:
    cfg = settings.storage
    if cfg.backend == "s3":
        from customization_vault.blobs.s3 import S3BlobStore

        if not cfg.s3_bucket:
            raise ValueError("CV_STORAGE__S3_BUCKET is required with the s3 backend")
        client = s3_client(cfg.s3_region, cfg.s3_endpoint_url)
        store = S3BlobStore(client, cfg.s3_bucket, prefix=cfg.s3_prefix)
        store.ensure_bucket()
        return store
    from customization_vault.blobs.local import LocalBlobStore

    return LocalBlobStore(settings.blob_dir)


def build_anchor_store(settings: Settings, blobs: BlobStore) -> BlobStore:
    """Where signed audit checkpoints go. On S3 the bucket itself, under `_audit/` (a key outside the
    catalog's reach is the point; a locked bucket or a second one is an operator's choice). On the
    embedded default a directory of its own beside `blobs/`: the content store then holds order content
    and nothing else, so "nothing left after the purge" can be checked by listing it."""
    if settings.storage.backend == "s3":
        return blobs
    from customization_vault.blobs.local import LocalBlobStore

    store = LocalBlobStore(settings.data_dir / "audit")
    move_legacy_checkpoints(blobs, store)
    return store


def move_legacy_checkpoints(content: BlobStore, anchors: BlobStore) -> int:
    """Builds before checkpoints had a directory of their own wrote them into the content store, where
    `audit verify` no longer looks (the chain would verify against fewer anchors) and where they break
    "nothing left after the purge". Each is copied before it is deleted, so a start-up killed half way
    leaves it in one place or both, never in neither; the next start finishes the move."""
    from retention.anchor import CHECKPOINT_PREFIX

    moved = 0
    for key in list(content.list(CHECKPOINT_PREFIX)):
        if not anchors.exists(key):
            anchors.put(key, content.get(key))
        content.delete(key)
        moved += 1
    if moved:
        log.info("moved %d audit checkpoint(s) out of the content store into the audit directory", moved)
    return moved


class DemoKeysActive(RuntimeError):
    """Production refuses to serve while a key the development bootstrap minted still works."""


def refuse_demo_keys_in_production(services: Services) -> None:
    """A data directory started in development keeps its demo keys (one of them admin) in the catalog
    and in `demo-keys.txt`; switching the environment to production must not carry them along."""
    if services.settings.environment != "production":
        return
    active = services.api_keys.active_demo_keys()
    if active:
        prefixes = " ".join(k.prefix for k in active)
        raise DemoKeysActive(
            f"production refuses to serve while demo keys are active: customization-vault keys api revoke "
            f"<key> for each of {prefixes}"
        )


class ScreeningUnavailable(RuntimeError):
    """A screening engine that cannot be loaded or built: only development starts without it."""


def _unavailable(settings: Settings, kind: str, exc: Exception, unscreened: str) -> str:
    """Outside development, fail closed: raise. In development log loudly that `unscreened` clears, and
    return the reason readiness shows (the exception's class name)."""
    if settings.environment != "development":
        raise ScreeningUnavailable(
            f"the {kind} screening engine cannot be loaded ({type(exc).__name__}: {exc}); "
            f"{settings.environment} does not start with {unscreened} left unscreened"
        ) from exc
    log.warning(
        "%s screening engine unavailable (%s): %s left UNSCREENED", kind, type(exc).__name__, unscreened
    )
    return type(exc).__name__


def _engine(
    settings: Settings, module: str, kind: str, build: Callable[[Any], Screener], needs: tuple[str, ...]
) -> Screener:
    """The engine from `module`; while that engine is not installed, see `_unavailable`.

    Only absence can fall back: an engine that is present but fails to build (a broken list, a missing
    registry) raises in every environment, so a misconfigured process never starts with screening off.
    """
    try:
        mod = importlib.import_module(module)
        for name in needs:
            getattr(mod, name)
    except (ImportError, AttributeError) as exc:
        return NullScreener(reason=_unavailable(settings, kind, exc, f"{kind} items"))
    try:
        return build(mod)
    except ScreeningUnavailable:  # an engine this one uses (the image engine reads OCR text with text's)
        raise
    except Exception as exc:
        raise ScreeningUnavailable(f"the {kind} screening engine cannot be built: {exc}") from exc


def _text_screener(settings: Settings, stored: StoredLists) -> Screener:
    return _engine(
        settings,
        "screening.text",
        "text",
        lambda _m: list_engines.text_screener(settings.screening, stored),
        ("build_text_screener",),
    )


def _ocr_engine(settings: Settings, threads: int | None) -> tuple[Any, EngineStatus]:
    """(the OCR engine, or None and why: disabled by settings, or unavailable)."""
    if not settings.screening.ocr:
        return None, DISABLED
    try:
        return importlib.import_module("screening.image.ocr").default_ocr_engine(threads=threads), DISABLED
    except Exception as exc:  # without OCR images are still hash-matched, but text in them goes unread
        reason = _unavailable(settings, "ocr", exc, "text inside images")
        return None, EngineStatus(EngineState.UNAVAILABLE, reason=reason)


class _CurrentText:
    """Text found by OCR goes through the text engine a text item meets now: its lists are loaded once,
    and a new stored version reaches images without rebuilding the image engine."""

    def __init__(self, text: Callable[[], Any]) -> None:
        self._text = text

    @property
    def engine(self) -> Any:
        return self._text()

    def screen_text(self, text: str) -> Verdict:
        verdict: Verdict = self._text().screen_text(text)
        return verdict


def _image_screener(
    settings: Settings, stored: StoredLists, text: Callable[[], Screener], ocr_threads: int | None
) -> Screener:
    def build(m: Any) -> Screener:
        registry = list_engines.image_registry(settings.screening, stored)
        ocr, without_ocr = _ocr_engine(settings, ocr_threads)
        text_screener = _CurrentText(text) if hasattr(text(), "screen_text") else None
        screener: Screener = m.ImageScreener(registry, ocr, text_screener, ocr_status=without_ocr)
        return screener

    return _engine(settings, "screening.image", "image", build, ("ImageRegistry", "ImageScreener"))


def _font_screener(settings: Settings, stored: StoredLists) -> Screener:
    def build(m: Any) -> Screener:
        screener: Screener = m.FontScreener(list_engines.restricted_fonts(settings.screening, stored))
        return screener

    return _engine(settings, "screening.fonts", "font", build, ("FontScreener", "load_restricted_fonts"))


def _engine_builders(
    settings: Settings, text: Callable[[], Screener], ocr_threads: int | None = None
) -> dict[str, EngineBuilder]:
    """Each engine from the lists given (stored versions; a kind absent: its settings file or shipped);
    `ocr_threads` is the OCR engine's thread count (default: up to 4; a screening child uses 1)."""
    return {
        "text": lambda stored: _text_screener(settings, stored),
        "image": lambda stored: _image_screener(settings, stored, text, ocr_threads),
        "font": lambda stored: _font_screener(settings, stored),
    }


def build_screener(settings: Settings) -> CompositeScreener:
    """Engines from the settings files and shipped lists only (no catalog); built on first use (or
    `warm()`), not here: lists and indexes take time to load.

    Settings refuse `screening.enabled=false` in production; outside it, every kind then clears.
    """
    if not settings.screening.enabled:
        log.info("screening disabled by settings: every item clears")
        return null_composite()
    builders = _engine_builders(settings, lambda: composite.engine("text"))
    composite = CompositeScreener(**{kind: functools.partial(build, {}) for kind, build in builders.items()})
    return composite


def build_list_reloader(
    settings: Settings, lists: ListBook, clock: Clock = system_clock, *, ocr_threads: int | None = None
) -> ListReloader | None:
    """A process's screener on the newest stored list versions, kept there (see `ListReloader`); None
    when screening is disabled (every kind then clears)."""
    if not settings.screening.enabled:
        log.info("screening disabled by settings: every item clears")
        return None
    reloader: ListReloader
    reloader = ListReloader(
        lists,
        _engine_builders(settings, lambda: reloader.screener.engine("text"), ocr_threads),
        interval=settings.screening.reload_seconds,
        clock=clock,
    )
    return reloader


def child_screener(screening: dict[str, Any], environment: Environment, database_url: str) -> Screener:
    """The engines of one screening child process, on the newest stored list versions.

    Runs in the child (spawned: it re-imports this module), so it takes plain data that pickles: the
    screening settings and the catalog's URL, from which it follows list imports itself (its own
    `ListReloader` thread), as every other process does. One OCR thread: the child screens one item at
    a time, and N children use N cores.
    """
    settings = Settings.model_construct(
        environment=environment, screening=ScreeningConfig.model_validate(screening)
    )
    catalog = Catalog.of(create_db_engine(database_url))
    lists = ListBook(catalog, AuditLog(catalog), max_bytes=settings.screening.max_list_bytes)
    reloader = build_list_reloader(settings, lists, ocr_threads=1)
    if reloader is None:
        return null_composite()
    reloader.start()
    return reloader.screener


def screening_processes(settings: Settings, override: int | None = None) -> int:
    return override or settings.screening.processes or os.cpu_count() or 1


def build_screening_worker(services: Services, *, processes: int | None = None) -> ScreeningWorker:
    """A worker for the durable screening jobs over these services.

    With `isolation=process` (the default; production's only choice) items are screened in child
    processes under memory, CPU and time limits, each with its own engines; with `thread` they are
    screened by `services.screener` in this process (tests hand in their own screener that way).
    """
    settings = services.settings
    cfg = settings.screening
    n = screening_processes(settings, processes)
    screener: Screener = services.screener
    if cfg.isolation == "process" and cfg.enabled:
        screener = IsolatedScreener(
            functools.partial(
                child_screener, cfg.model_dump(mode="json"), settings.environment, settings.database_url
            ),
            processes=n,
            limits=IsolationLimits(
                memory_bytes=cfg.memory_limit_mb << 20,
                cpu_seconds=math.ceil(cfg.item_timeout_seconds),
                wall_seconds=cfg.item_timeout_seconds,
            ),
            inline=services.screener,  # text: this process's engine, on the same newest lists
        )
    return ScreeningWorker(
        services.vault.content,
        services.vault.orders,
        screener,
        settings=WorkerSettings(
            threads=n,
            lease_seconds=cfg.job_lease_seconds,
            poll_seconds=cfg.job_poll_seconds,
            retry_seconds=cfg.job_retry_seconds,
        ),
        clock=services.clock,
        notifier=services.notifier,
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
    # Screening lists stored in the catalog, and this process's reload of them (None: screening off).
    reloader: ListReloader | None = None
    # Retention: built here, started only by `serve` (worker) or driven by the API (purger).
    signer: ReceiptSigner | None = None
    purger: Purger | None = None
    worker: PurgeWorker | None = None
    purge_metrics: PurgeMetrics = field(default_factory=PurgeMetrics)
    review: ReviewDesk | None = None
    # Seller notifications: the notifier queues (the review desk calls it in a decision's unit), the
    # deliverer sends (started by `serve` and `worker`), the book sets and removes webhooks.
    notifier: Notifier = field(default_factory=Notifier)
    webhooks: WebhookBook | None = None
    deliverer: WebhookDeliverer | None = None
    webhook_metrics: DeliveryMetrics = field(default_factory=DeliveryMetrics)
    # The reviewer workbench: browser sessions and the dashboard's numbers.
    sessions: ReviewerSessions | None = None
    stats: ReviewStats | None = None
    anchor: AuditAnchor | None = None

    def close(self) -> None:
        self.catalog.engine.dispose()

    def verify_audit(self, public_keys_pem: list[str] | None = None) -> ChainReport:
        """The chain checked against its signed checkpoints whenever this process can read them: the
        CLI and the workbench must give one verdict, and a check without the anchor misses a
        consistent rewrite by someone who can write the database."""
        if self.anchor is None:
            return self.audit.verify()
        return self.anchor.verify(public_keys_pem)

    @property
    def lists(self) -> ListBook:
        cfg = self.settings.screening
        return ListBook(self.catalog, self.audit, clock=self.clock, max_bytes=cfg.max_list_bytes)

    def rescreener(self) -> Rescreener:
        """A re-screen runner over this process's current screener (one per caller: runners hold
        leases under their own name)."""
        cfg = self.settings.screening
        return Rescreener(
            self.vault,
            self.screener,
            refresh=None if self.reloader is None else self.reloader.reload,
            batch_size=cfg.rescreen_batch_size,
            lease_seconds=cfg.rescreen_lease_seconds,
            clock=self.clock,
            notifier=self.notifier,
        )


def build_services(settings: Settings, *, clock: Clock = system_clock, migrate_db: bool = True) -> Services:
    private_dir(settings.data_dir)  # 0700: the catalog, keys, blobs and receipt key live under it
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
    anchor = AuditAnchor(audit, build_anchor_store(settings, blobs), signer, clock=clock)
    worker = PurgeWorker(purger, config=settings.retention, clock=clock, metrics=purge_metrics, anchor=anchor)
    notifier = Notifier()
    webhook_metrics = DeliveryMetrics()
    deliverer = WebhookDeliverer(catalog, config=settings.webhooks, clock=clock, metrics=webhook_metrics)
    lists = ListBook(catalog, audit, clock=clock, max_bytes=settings.screening.max_list_bytes)
    reloader = build_list_reloader(settings, lists, clock)
    api_keys = ApiKeys(catalog, audit, clock)
    sessions = ReviewerSessions(
        catalog,
        api_keys,
        audit,
        idle=timedelta(minutes=settings.workbench.idle_minutes),
        absolute=timedelta(hours=settings.workbench.absolute_hours),
        clock=clock,
    )
    return Services(
        settings,
        catalog,
        audit,
        keys,
        blobs,
        vault,
        api_keys,
        clock,
        screener=null_composite() if reloader is None else reloader.screener,
        reloader=reloader,
        signer=signer,
        purger=purger,
        worker=worker,
        purge_metrics=purge_metrics,
        review=ReviewDesk(vault.content, audit, notifier=notifier, clock=clock),
        notifier=notifier,
        webhooks=WebhookBook(catalog, audit, clock=clock),
        deliverer=deliverer,
        webhook_metrics=webhook_metrics,
        sessions=sessions,
        stats=ReviewStats(catalog, clock),
        anchor=anchor,
    )
