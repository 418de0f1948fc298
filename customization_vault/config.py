"""Configuration sub-models the vault owns; `api.settings.Settings` composes them with the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator

from customization_vault._crypto import DEFAULT_SEGMENT_SIZE, MAX_SEGMENT_SIZE


class DatabaseConfig(BaseModel):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Default: SQLite at <data_dir>/catalog.db. PostgreSQL: "
        "postgresql+psycopg://user:pass@host/db",
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only)")


class StorageConfig(BaseModel):
    backend: Literal["local", "s3"] = Field(default="local", description="`local` directory or `s3`")
    local_dir: Path | None = Field(default=None, description="Default: <data_dir>/blobs")
    s3_bucket: str | None = Field(default=None, description="Versioned bucket (created if missing)")
    s3_prefix: str = Field(default="", description="Key prefix inside the bucket")
    s3_endpoint_url: str | None = Field(default=None, description="For S3-compatible stores / moto_server")
    s3_region: str = Field(default="us-east-1", description="S3 region")
    # Bounded by what the object format accepts (a larger one would fail every upload, not the start).
    segment_size: int = Field(
        default=DEFAULT_SEGMENT_SIZE, ge=4096, le=MAX_SEGMENT_SIZE, description="Plaintext bytes per segment"
    )


class KeysConfig(BaseModel):
    backend: Literal["local", "kms"] = Field(
        default="local", description="`local` keyring files or AWS `kms`"
    )
    local_dir: Path | None = Field(default=None, description="Default: <data_dir>/keys")
    kms_alias_prefix: str = Field(
        default="alias/customization-vault", description="One KMS key per epoch under <prefix>-<epoch>"
    )
    kms_endpoint_url: str | None = Field(default=None, description="For moto_server or a VPC endpoint")
    kms_region: str = Field(default="us-east-1", description="KMS region")
    allow_local_in_production: bool = Field(
        default=False, description="Production refuses the local keyring unless this is set"
    )


class LimitsConfig(BaseModel):
    max_upload_bytes: int = Field(default=25 << 20, ge=1, description="Largest upload body (413 above)")
    max_pixels: int = Field(default=40_000_000, ge=1, description="Largest image (width x height x frames)")
    max_text_chars: int = Field(default=5_000, ge=1, description="Longest text item")
    max_items_per_order: int = Field(default=50, ge=1, description="Items one order may hold")
    max_font_bytes: int = Field(default=10 << 20, ge=1, description="Largest font upload")
    max_frames: int = Field(default=1000, ge=1, description="Most frames an animated image may have")
    max_concurrent_uploads: int | None = Field(
        default=None, ge=1, description="File uploads held in memory at once (default: 2 x cores, at least 4)"
    )


class ScreeningConfig(BaseModel):
    enabled: bool = Field(
        default=True,
        description="Screen uploads (false: everything is clear; benchmarks only, refused in production)",
    )
    marks_path: Path | None = Field(
        default=None,
        description="Marks CSV; default: the shipped list (a version imported by `lists import` wins)",
    )
    terms_path: Path | None = Field(
        default=None, description="Offensive terms; default: the shipped list (an imported version wins)"
    )
    allow_path: Path | None = Field(
        default=None, description="Allow-list of terms that are never offensive (an imported version wins)"
    )
    registry_path: Path | None = Field(
        default=None, description="Image registry CSV; default: shipped (an imported version wins)"
    )
    restricted_fonts_path: Path | None = Field(
        default=None, description="Restricted fonts CSV; default: shipped (an imported version wins)"
    )
    ocr: bool = Field(default=True, description="Read text inside images and screen it")
    reload_seconds: float = Field(
        default=10,
        gt=0,
        description="How often a process checks for a newer stored list version (then rebuilds that "
        "engine in the background and swaps it in)",
    )
    max_list_bytes: int = Field(
        default=64 << 20, ge=1, description="Largest list file (or image registry archive) an import takes"
    )
    rescreen_batch_size: int = Field(
        default=100, ge=1, le=10_000, description="Items a re-screen walks between two cursor commits"
    )
    rescreen_lease_seconds: float = Field(
        default=300,
        gt=0,
        description="A re-screen job is left to its runner this long after its last commit (a crashed "
        "runner's job is then resumed by another)",
    )
    upload_deadline_seconds: float = Field(
        default=5.0,
        ge=0,
        description="An upload waits this long for its verdict (201); past it, or with `Prefer: "
        "respond-async`, it answers 202 with verdict pending",
    )
    worker_in_process: bool | None = Field(
        default=None,
        description="Run screening jobs inside `serve` (default: yes on SQLite, the embedded default; "
        "no on PostgreSQL, where `worker` processes screen)",
    )
    isolation: Literal["process", "thread"] = Field(
        default="process",
        description="`process`: items are decoded and screened in child processes with limits "
        "(production); `thread`: in the worker's own process (tests; refused in production)",
    )
    processes: int | None = Field(
        default=None, ge=1, le=256, description="Screening child processes per worker (default: cores)"
    )
    item_timeout_seconds: float = Field(
        default=30, gt=0, description="Wall and CPU time one item may take before its process is killed"
    )
    memory_limit_mb: int = Field(
        default=3072, ge=256, description="Address-space limit (RLIMIT_AS) of each screening process"
    )
    job_lease_seconds: float = Field(
        default=30,
        ge=1,
        description="A claimed screening job returns to the queue this long after its worker stopped "
        "renewing it (a live worker renews every third of it)",
    )
    job_poll_seconds: float = Field(
        default=0.25, gt=0, description="How often an idle worker looks for screening jobs"
    )
    job_retry_seconds: float = Field(
        default=5, gt=0, description="First retry delay of a job a backend failed (doubles, capped)"
    )


class SigningConfig(BaseModel):
    receipt_key_path: Path | None = Field(
        default=None, description="Ed25519 PEM; default: <data_dir>/receipt-key.pem"
    )
    receipt_key_pem: SecretStr | None = Field(
        default=None, description="Ed25519 private key PEM (instead of the file)"
    )


class WebhooksConfig(BaseModel):
    """Delivery of seller notifications from the outbox (`customization_vault.delivery`)."""

    deliver_in_process: bool = Field(default=True, description="Run one webhook deliverer inside `serve`")
    interval_seconds: float = Field(
        default=2, gt=0, description="How often a deliverer looks for due notifications"
    )
    batch_size: int = Field(default=10, ge=1, le=1000, description="Notifications claimed per query")
    timeout_seconds: float = Field(
        default=10, gt=0, le=60, description="Per connect and per read of one delivery; slower is a failure"
    )
    max_attempts: int = Field(
        default=40,
        ge=1,
        le=1000,
        description="Attempts before a notification is given up (kept, not deleted); the defaults "
        "keep trying for about a day and a half",
    )
    retry_base_seconds: float = Field(
        default=5,
        gt=0,
        description="Delay after the first failed attempt; doubles per attempt (a receiver's brief "
        "outage costs seconds, not minutes)",
    )
    retry_max_seconds: float = Field(default=3600, gt=0, description="Longest delay between two attempts")
    claim_lease_seconds: float = Field(
        default=300,
        gt=0,
        description="A claimed notification is left alone by other deliverers this long (a killed "
        "deliverer's notifications are sent again after it); at least 2 x batch x timeout",
    )
    keep_delivered_days: float = Field(
        default=30, gt=0, description="Delivered notifications are deleted this long after delivery"
    )

    @model_validator(mode="after")
    def _batch_fits_its_lease(self) -> WebhooksConfig:
        # A batch still being sent when its lease ends is claimed again by another deliverer: a duplicate
        # delivery (never a loss, but avoidable). Each send may wait `timeout` to connect and to read.
        if self.claim_lease_seconds < 2 * self.batch_size * self.timeout_seconds:
            raise ValueError(
                "webhooks: claim_lease_seconds must be at least 2 x batch_size x timeout_seconds "
                f"({2 * self.batch_size * self.timeout_seconds:g})"
            )
        return self


class WorkbenchConfig(BaseModel):
    idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="A workbench session ends after this long without a request"
    )
    absolute_hours: int = Field(
        default=12,
        ge=1,
        le=7 * 24,
        description="A workbench session ends this long after sign-in, used or not",
    )
    sla_hours: int = Field(
        default=24,
        ge=1,
        description="A case waiting this long is overdue (the queue's red); half of it is amber",
    )
