"""Retention settings: how long content may live, how often the safety net sweeps, how it retries."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RetentionConfig(BaseModel):
    max_retention_days: float = Field(
        default=90,
        gt=0,
        description="Expire (and purge) an order never fulfilled this long after its first upload "
        "(after its creation if nothing was ever uploaded)",
    )
    rejected_retention_days: float = Field(
        default=30,
        gt=0,
        description="Delete an item rejected in review this long after the rejection (the appeal window)",
    )
    backup_retention_days: float = Field(
        default=35, ge=0, description="How long database backups are kept; bounds epoch destruction"
    )
    sweep_interval_seconds: float = Field(default=30, gt=0)
    maintenance_interval_seconds: float = Field(
        default=3600,
        gt=0,
        description="How often a worker lists the whole store for orphans and checks KEK epochs",
    )
    audit_checkpoint_interval_seconds: float = Field(
        default=600,
        gt=0,
        description="How often a worker signs the audit chain's head into the blob store (a rewrite of "
        "the chain after the latest checkpoint is what `audit verify` can not see)",
    )
    sweep_batch_size: int = Field(default=200, ge=1, le=10_000, description="Orders claimed per query")
    claim_lease_seconds: float = Field(
        default=300,
        gt=0,
        description="A claimed order is left alone by other workers this long (a crashed worker's "
        "orders come back after it)",
    )
    handoff_grace_seconds: float = Field(
        default=5,
        ge=0,
        description="After a fulfilment call marks an order, the sweep leaves its purge to the caller "
        "this long (the caller runs it at once; the sweep is the safety net)",
    )
    retry_base_seconds: float = Field(default=5, gt=0, description="First retry delay; doubles per attempt")
    retry_max_seconds: float = Field(default=900, gt=0, description="Longest delay between two attempts")
    worker_in_process: bool = Field(default=True, description="Run one purge worker inside `serve`")
    sqs_queue_url: str | None = Field(
        default=None,
        description="Queue of OrderFulfilled/OrderCancelled events; `serve` and `worker` consume it when set",
    )
    sqs_endpoint_url: str | None = Field(default=None, description="SQS endpoint (moto, LocalStack)")
    sqs_region: str = Field(default="us-east-1", description="Region of the event queue")
    max_attempts_before_alert: int = Field(default=5, ge=1)
