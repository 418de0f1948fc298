"""Configuration sub-models the vault owns; `api.settings.Settings` composes them with the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class DatabaseConfig(BaseModel):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Default: SQLite at <data_dir>/catalog.db. PostgreSQL: "
        "postgresql+psycopg://user:pass@host/db",
    )
    echo: bool = False


class StorageConfig(BaseModel):
    backend: Literal["local", "s3"] = "local"
    local_dir: Path | None = Field(default=None, description="Default: <data_dir>/blobs")
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_endpoint_url: str | None = Field(default=None, description="For S3-compatible stores / moto_server")
    s3_region: str = "us-east-1"
    segment_size: int = Field(
        default=1 << 20, ge=4096, le=64 << 20, description="Plaintext bytes per segment"
    )


class KeysConfig(BaseModel):
    backend: Literal["local", "kms"] = "local"
    local_dir: Path | None = Field(default=None, description="Default: <data_dir>/keys")
    kms_alias_prefix: str = "alias/customization-vault"
    kms_endpoint_url: str | None = None
    kms_region: str = "us-east-1"
    allow_local_in_production: bool = False


class LimitsConfig(BaseModel):
    max_upload_bytes: int = Field(default=25 << 20, ge=1)
    max_pixels: int = Field(default=40_000_000, ge=1)
    max_text_chars: int = Field(default=5_000, ge=1)
    max_items_per_order: int = Field(default=50, ge=1)
    max_font_bytes: int = Field(default=10 << 20, ge=1)


class ScreeningConfig(BaseModel):
    enabled: bool = True
    marks_path: Path | None = Field(default=None, description="Marks CSV; default: the shipped list")
    terms_path: Path | None = Field(default=None, description="Offensive terms; default: the shipped list")
    allow_path: Path | None = None
    registry_path: Path | None = Field(default=None, description="Image registry CSV; default: shipped")
    restricted_fonts_path: Path | None = None
    ocr: bool = True


class SigningConfig(BaseModel):
    receipt_key_path: Path | None = Field(
        default=None, description="Ed25519 PEM; default: <data_dir>/receipt-key.pem"
    )
    receipt_key_pem: SecretStr | None = None
