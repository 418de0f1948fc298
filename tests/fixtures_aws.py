"""AWS test doubles for the vault suites: fake credentials, moto in-process, a real moto_server process.

Import the fixtures you use explicitly (`from tests.fixtures_aws import moto_server_url, ...`).
`enforce_kms_key_states` makes a moto KMS client behave like real KMS for disabled and
pending-deletion keys, which moto (5.x) does not enforce on Decrypt/GenerateDataKey/ReEncrypt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.config import Config
from moto import mock_aws

from tests.processes import free_port, stop

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
REGION = "us-east-1"

ClientFactory = Callable[[str], Any]


def make_client(service: str, endpoint_url: str | None = None) -> Any:
    """A boto3 client with fake credentials and no retries (a failure should show, not stall)."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id=FAKE_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_ENV["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_ENV["AWS_SESSION_TOKEN"],
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=60),
    )


@pytest.fixture(scope="session")
def aws_fake_credentials() -> Iterator[dict[str, str]]:
    """Session-wide fake credentials, so no code path can ever reach a real AWS account."""
    saved = {k: os.environ.get(k) for k in FAKE_ENV}
    os.environ.update(FAKE_ENV)
    yield dict(FAKE_ENV)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def moto_in_process(aws_fake_credentials: dict[str, str]) -> Iterator[ClientFactory]:
    """moto's in-process mock (fresh state per test); yields a client factory."""
    with mock_aws():
        yield lambda service: make_client(service)


@pytest.fixture(scope="session")
def moto_server_url(
    aws_fake_credentials: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real `moto_server` subprocess on 127.0.0.1 (HTTP through boto3's endpoint_url)."""
    port = free_port()
    log_path: Path = tmp_path_factory.mktemp("moto") / "moto_server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.1)
        yield url
    finally:
        stop(proc, grace=10)


@pytest.fixture
def moto_server(moto_server_url: str) -> ClientFactory:
    """A client factory pointed at the shared moto_server; tests isolate by unique names."""
    return lambda service: make_client(service, endpoint_url=moto_server_url)


def count_calls(client: Any) -> Counter[str]:
    """Count API calls by operation name (e.g. "DeleteObjects") through botocore's event hooks."""
    calls: Counter[str] = Counter()
    lock = threading.Lock()  # the store lists concurrently from a thread pool

    def hook(model: Any, **_: Any) -> None:
        with lock:
            calls[model.name] += 1

    # Event names are hierarchical: "before-call.s3" also receives "before-call.s3.DeleteObjects".
    client.meta.events.register(f"before-call.{client.meta.service_model.service_id.hyphenize()}", hook)
    return calls


def record_params(client: Any, operation: str) -> list[dict[str, Any]]:
    """The API parameters of every call to one operation (before serialisation)."""
    seen: list[dict[str, Any]] = []
    service = client.meta.service_model.service_id.hyphenize()

    def hook(params: dict[str, Any], **_: Any) -> None:
        seen.append(params)

    client.meta.events.register(f"provide-client-params.{service}.{operation}", hook)
    return seen


def _kms_error(code: str, message: str) -> tuple[AWSResponse, dict[str, Any]]:
    http = AWSResponse("https://kms.test", 400, HTTPHeaders(), None)
    return http, {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}


def enforce_kms_key_states(client: Any) -> None:
    """Refuse cryptographic operations on disabled / pending-deletion keys, as real KMS does.

    Real KMS answers DisabledException or KMSInvalidStateException; moto answers as if the key were
    enabled. The check asks moto itself (DescribeKey) for the key's state, so the double stays honest.
    """
    key_fields = {
        "Decrypt": ("KeyId",),
        "GenerateDataKey": ("KeyId",),
        "Encrypt": ("KeyId",),
        "ReEncrypt": ("SourceKeyId", "DestinationKeyId"),
    }

    def hook(model: Any, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        fields = key_fields.get(model.name)
        if not fields:
            return None
        body = params.get("body") or b"{}"
        request = json.loads(body.decode() if isinstance(body, bytes) else body)
        for field in fields:
            key_id = request.get(field)
            if not key_id:
                continue
            try:
                meta = client.describe_key(KeyId=key_id)["KeyMetadata"]
            except client.exceptions.NotFoundException:
                return None  # let moto give its own answer
            state = meta.get("KeyState")
            if state == "PendingDeletion":
                return _kms_error("KMSInvalidStateException", f"{key_id} is pending deletion.")
            if state == "Disabled" or not meta.get("Enabled", True):
                return _kms_error("DisabledException", f"{key_id} is disabled.")
        return None

    client.meta.events.register("before-call.kms.*", hook)
