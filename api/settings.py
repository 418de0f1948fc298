"""The one Settings class: environment (prefix CV_, nested delimiter __) composed of domain sub-models."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from customization_vault.config import (
    DatabaseConfig,
    KeysConfig,
    LimitsConfig,
    ScreeningConfig,
    SigningConfig,
    StorageConfig,
    WebhooksConfig,
    WorkbenchConfig,
)
from retention.config import RetentionConfig

Environment = Literal["development", "test", "production"]


class ServerConfig(BaseModel):
    """How long and how much the HTTP edge waits for and accepts from one client (see docs/reliability.md)."""

    header_timeout_seconds: float = Field(
        default=10,
        gt=0,
        description="A request's line and headers must all arrive within this many seconds of the "
        "connection opening (or of the next request's first byte); the connection closes otherwise",
    )
    max_header_bytes: int = Field(
        default=32 * 1024,
        ge=4096,
        le=1 << 20,
        description="Most bytes of one request line and its headers (400, and the connection closes)",
    )
    keep_alive_seconds: int = Field(
        default=5, ge=1, description="An idle kept-alive connection closes after this"
    )
    body_timeout_seconds: float = Field(
        default=30,
        gt=0,
        description="A request body must arrive within this many seconds of its first read (408 otherwise); "
        "a 25 MiB upload needs about 7 Mbit/s",
    )


class MetricsConfig(BaseModel):
    """Who may read `/metrics`: counts across every seller (uploads, verdicts, purges by route and
    status) are business data even without ids."""

    public: bool | None = Field(
        default=None,
        description="Serve /metrics without authentication (default: yes, except in production, where "
        "it takes the token or an admin API key)",
    )
    token: SecretStr | None = Field(
        default=None, description="A bearer token a scraper may read /metrics with (admin API keys may too)"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CV_", env_nested_delimiter="__", extra="ignore")

    environment: Environment = Field(
        default="development",
        description="production refuses demo keys, the local keyring, SQLite, SQL echo and screening "
        "switched off",
    )
    data_dir: Path = Field(default=Path("var"), description="Where the embedded default keeps everything")
    host: str = Field(default="127.0.0.1", description="Address `serve` binds")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `serve` listens on")
    log_level: str = Field(default="info", description="debug, info, warning or error")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text, or json: one object per line (time, level, logger, request_id, route, status, "
        "duration_ms, seller_id; never content or keys)",
    )
    database: DatabaseConfig = DatabaseConfig()
    storage: StorageConfig = StorageConfig()
    keys: KeysConfig = KeysConfig()
    limits: LimitsConfig = LimitsConfig()
    screening: ScreeningConfig = ScreeningConfig()
    retention: RetentionConfig = RetentionConfig()
    signing: SigningConfig = SigningConfig()
    webhooks: WebhooksConfig = WebhooksConfig()
    workbench: WorkbenchConfig = WorkbenchConfig()
    server: ServerConfig = ServerConfig()
    metrics: MetricsConfig = MetricsConfig()
    bootstrap_demo: bool = Field(
        default=True, description="On first start in development, create an admin and a demo seller key"
    )

    @model_validator(mode="after")
    def _refuse_development_defaults_in_production(self) -> Settings:
        refused = production_refusals(self) if self.environment == "production" else []
        if refused:  # every one at once: an operator fixes them in one go
            raise ValueError("; ".join(refused))
        return self

    @property
    def metrics_public(self) -> bool:
        return self.metrics.public if self.metrics.public is not None else self.environment != "production"

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.data_dir / 'catalog.db').resolve()}"

    @property
    def screening_in_process(self) -> bool:
        """Whether `serve` runs screening jobs itself: as set, else only on SQLite (one process)."""
        wanted = self.screening.worker_in_process
        return self.database_url.startswith("sqlite") if wanted is None else wanted

    @property
    def blob_dir(self) -> Path:
        return self.storage.local_dir or self.data_dir / "blobs"

    @property
    def key_dir(self) -> Path:
        return self.keys.local_dir or self.data_dir / "keys"

    @property
    def receipt_key_path(self) -> Path:
        return self.signing.receipt_key_path or self.data_dir / "receipt-key.pem"


def production_refusals(s: Settings) -> list[str]:
    """What production refuses in these settings, one sentence each (naming the setting to change):
    the development defaults that would leave it open."""
    refused = []
    if s.keys.backend == "local" and not s.keys.allow_local_in_production:
        refused.append(
            "production refuses the local keyring: set CV_KEYS__BACKEND=kms "
            "(or CV_KEYS__ALLOW_LOCAL_IN_PRODUCTION=true deliberately)"
        )
    if s.bootstrap_demo:
        refused.append("production refuses demo keys: set CV_BOOTSTRAP_DEMO=false")
    if s.screening.isolation != "process":
        refused.append(
            "production screens customer files in isolated processes only: unset CV_SCREENING__ISOLATION"
        )
    if not s.screening.enabled:
        refused.append(
            "production refuses to run with screening disabled (every upload would clear): "
            "unset CV_SCREENING__ENABLED"
        )
    if s.database_url.startswith("sqlite"):
        refused.append(
            "production refuses the SQLite catalog (one host, one writer, a file on local disk): "
            "set CV_DATABASE__URL to a PostgreSQL URL"
        )
    if s.database.echo:
        refused.append(
            "production refuses CV_DATABASE__ECHO (every SQL statement and its parameters would reach "
            "the logs): unset it"
        )
    return refused
