"""Retention settings: how long content may live, how often the safety net sweeps."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RetentionConfig(BaseModel):
    max_retention_days: float = Field(
        default=90, gt=0, description="Purge an unfulfilled order this long after its first upload"
    )
    rejected_retention_days: float = Field(
        default=30, gt=0, description="Purge an order with a rejected item after this (appeal window)"
    )
    backup_retention_days: float = Field(
        default=35, ge=0, description="How long database backups are kept; bounds epoch destruction"
    )
    sweep_interval_seconds: float = Field(default=30, gt=0)
    worker_in_process: bool = Field(default=True, description="Run one purge worker inside `serve`")
    sqs_queue_url: str | None = None
    sqs_endpoint_url: str | None = None
    max_attempts_before_alert: int = Field(default=5, ge=1)
