"""`customization-vault doctor`: checks a deployment's settings and backends and says what is wrong.

Read-only: it never creates a bucket, a key or a table (the services do that at start, which would
hide the very misconfiguration an operator runs this to find). Each line is `ok`, `warn` or `FAIL`
with what to change; the exit code is 1 when anything failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from api.commands._common import DataDirOption, load_settings
from api.settings import Settings, production_refusals
from api.wiring import build_key_provider, kms_client, s3_client
from customization_vault.catalog import Catalog, create_db_engine, current_revision, head_revision
from customization_vault.clock import system_clock
from customization_vault.errors import KeyUnavailable
from customization_vault.keys.base import KeyContext
from customization_vault.screening_jobs import queue_depth

# Screening jobs older than this with nobody taking them mean no worker is running.
_STALE_QUEUE = timedelta(seconds=60)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


@dataclass
class Report:
    lines: list[tuple[str, str, str]] = field(default_factory=list)

    def ok(self, part: str, what: str) -> None:
        self.lines.append(("ok", part, what))

    def warn(self, part: str, what: str) -> None:
        self.lines.append(("warn", part, what))

    def fail(self, part: str, what: str) -> None:
        self.lines.append(("FAIL", part, what))

    @property
    def failed(self) -> bool:
        return any(level == "FAIL" for level, _, _ in self.lines)


def check_settings(s: Settings, r: Report) -> None:
    prod = s.environment == "production"
    (r.ok if prod else r.warn)("settings", f"environment is {s.environment}")
    sqlite = s.database_url.startswith("sqlite")
    if sqlite:
        (r.fail if prod else r.warn)(
            "settings",
            "the catalog is SQLite: one process only; replicas need CV_DATABASE__URL=postgresql+psycopg://…",
        )
    if s.storage.backend != "s3":
        (r.fail if prod else r.warn)(
            "settings", "blobs are in a local directory: replicas need CV_STORAGE__BACKEND=s3"
        )
    if s.keys.backend != "kms":
        (r.fail if prod else r.warn)("settings", "keys are local files: replicas need CV_KEYS__BACKEND=kms")
    if s.signing.receipt_key_pem is None and not sqlite:
        r.fail(
            "settings",
            "no CV_SIGNING__RECEIPT_KEY_PEM: each replica would sign receipts with its own key file; "
            "give every process the same key",
        )
    cfg = s.screening
    if not cfg.enabled:
        (r.fail if prod else r.warn)("screening", "screening is switched off: every item clears")
    elif cfg.isolation != "process":
        (r.fail if prod else r.warn)(
            "screening", "items are screened in-process (CV_SCREENING__ISOLATION=thread)"
        )
    else:
        r.ok(
            "screening",
            f"isolated processes ({cfg.memory_limit_mb} MiB, {cfg.item_timeout_seconds:g} s per item), "
            f"upload deadline {cfg.upload_deadline_seconds:g} s, "
            + ("jobs also run inside serve" if s.screening_in_process else "jobs run in `worker` processes"),
        )


def check_database(s: Settings, r: Report) -> Catalog | None:
    try:
        engine = create_db_engine(s.database_url)
        catalog = Catalog.of(engine)
        catalog.ping()
    except Exception as exc:
        r.fail("database", f"unreachable ({type(exc).__name__})")
        return None
    have, want = current_revision(engine), head_revision(engine)
    if have != want:
        r.fail(
            "database",
            f"schema at {have or 'nothing'}, this release needs {want}: start one `serve` to migrate",
        )
        engine.dispose()
        return None
    r.ok("database", f"reachable, schema at {have}")
    return catalog


def check_queue(catalog: Catalog, s: Settings, r: Report) -> None:
    depth = queue_depth(catalog)
    age = timedelta(0) if depth.oldest_created_at is None else system_clock() - depth.oldest_created_at
    line = f"{depth.waiting} waiting, {depth.running} running, oldest {age.total_seconds():.0f} s"
    if depth.waiting and age > _STALE_QUEUE:
        r.fail("screening jobs", f"{line}: is a `customization-vault worker` running?")
    else:
        r.ok("screening jobs", line)


def check_bucket(s: Settings, r: Report) -> None:
    if s.storage.backend != "s3" or not s.storage.s3_bucket:
        return
    bucket = s.storage.s3_bucket
    s3 = s3_client(s.storage.s3_region, s.storage.s3_endpoint_url)
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception as exc:
        r.fail("bucket", f"{bucket} unreachable ({type(exc).__name__})")
        return
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    if versioning != "Enabled":
        r.fail(
            "bucket",
            f"versioning is {versioning or 'off'}: enable it (purge verification lists every version)",
        )
    else:
        r.ok("bucket", f"{bucket} reachable, versioning enabled")
    block = _get(s3.get_public_access_block, Bucket=bucket).get("PublicAccessBlockConfiguration", {})
    flags = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    missing = [f for f in flags if not block.get(f)]
    if missing:
        r.fail("bucket", f"public access block incomplete ({', '.join(missing)} off): turn all four on")
    else:
        r.ok("bucket", "public access blocked")
    rules = _get(s3.get_bucket_lifecycle_configuration, Bucket=bucket).get("Rules", [])
    if not any("AbortIncompleteMultipartUpload" in rule for rule in rules):
        r.warn(
            "bucket", "no lifecycle rule aborts incomplete multipart uploads (a crashed upload's parts stay)"
        )


def _get(call: Any, **kwargs: Any) -> dict[str, Any]:
    """A bucket setting, or {} when it is not configured (S3 answers an error for "none")."""
    try:
        out: dict[str, Any] = call(**kwargs)
        return out
    except Exception:
        return {}


def check_keys(s: Settings, r: Report) -> None:
    if s.keys.backend != "kms":
        return
    try:
        kms_client(s.keys.kms_region, s.keys.kms_endpoint_url).list_aliases(Limit=1)
        provider = build_key_provider(s)
        epochs = {e.epoch: e for e in provider.epochs() if not e.destroyed}
    except Exception as exc:
        r.fail("kms", f"unreachable or not permitted ({type(exc).__name__})")
        return
    current = provider.current_epoch()
    if current not in epochs:
        r.warn("kms", f"no key for the current epoch {current} yet (the first order of the epoch creates it)")
        return
    ctx = KeyContext("doctor", "doctor-check")
    try:
        _, wrapped = provider.generate(ctx)
        provider.unwrap(wrapped, ctx)
    except Exception as exc:
        r.fail("kms", f"GenerateDataKey/Decrypt refused ({type(exc).__name__}): check the IAM policy")
        return
    try:
        provider.unwrap(wrapped, KeyContext("doctor", "another-order"))
    except KeyUnavailable:
        r.ok(
            "kms", f"epoch {current}: data keys generate and unwrap, and only under their own order's context"
        )
        return
    r.fail("kms", "a data key unwrapped under another order's encryption context")


def check_queue_url(s: Settings, r: Report) -> None:
    cfg = s.retention
    if not cfg.sqs_queue_url:
        return
    import boto3

    try:
        sqs = boto3.client("sqs", region_name=cfg.sqs_region, endpoint_url=cfg.sqs_endpoint_url)
        attrs = sqs.get_queue_attributes(QueueUrl=cfg.sqs_queue_url, AttributeNames=["RedrivePolicy"])
    except Exception as exc:
        r.fail("sqs", f"order-event queue unreachable ({type(exc).__name__})")
        return
    if "RedrivePolicy" not in attrs.get("Attributes", {}):
        r.warn("sqs", "the order-event queue has no dead-letter queue (malformed events stay forever)")
    else:
        r.ok("sqs", "order-event queue reachable, with a dead-letter queue")


def _settings(data_dir: Path | None) -> tuple[Settings, list[str]]:
    """The settings, and what production refuses in them. Production's refusals stop every other
    command at once; the doctor lists them among its findings and goes on checking the rest."""
    values: dict[str, Any] = {} if data_dir is None else {"data_dir": data_dir}
    try:
        return Settings(**values), []
    except ValueError:
        pass
    try:
        lenient = Settings(**values, environment="test").model_copy(update={"environment": "production"})
    except ValueError:
        return load_settings(data_dir), []  # invalid for another reason: say so and exit 2
    refused = production_refusals(lenient)
    return (lenient, refused) if refused else (load_settings(data_dir), [])


def doctor(data_dir: DataDirOption = None, quiet: Annotated[bool, typer.Option("--quiet")] = False) -> None:
    """Check this deployment's settings and backends (database, bucket, KMS key, queue, screening
    jobs) and say what is wrong; exit 1 if anything must be fixed. Changes nothing."""
    logging.basicConfig(level=logging.ERROR)
    settings, refused = _settings(data_dir)
    report = Report()
    for why in refused:
        report.fail("settings", why)
    check_settings(settings, report)
    catalog = check_database(settings, report)
    if catalog is not None:
        check_queue(catalog, settings, report)
        catalog.engine.dispose()
    check_bucket(settings, report)
    check_keys(settings, report)
    check_queue_url(settings, report)
    for level, part, what in report.lines:
        if not quiet or level != "ok":
            typer.echo(f"{level:<5}{part}: {what}")
    raise typer.Exit(code=1 if report.failed else 0)
