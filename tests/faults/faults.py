"""Fault injection for the production backends: a proxy around a boto3 client (S3 or KMS) and a hook on
the catalog's SQLAlchemy engine, each armed per operation with one of three faults:

- `error`: the call fails before it reaches the backend (an AWS error, a refused connection);
- `timeout`: the call fails as a read timeout would (botocore's ReadTimeoutError);
- `after`: the call reaches the backend and takes effect, then the answer is lost — the case where
  a write happened and the caller believes it did not.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError


@dataclass
class Faults:
    """What to break: (operation, fault, how many more times). `fired` counts what did break."""

    armed: dict[str, tuple[str, int]] = field(default_factory=dict)
    fired: list[str] = field(default_factory=list)

    def arm(self, operation: str, fault: str, times: int = 1_000_000) -> None:
        assert fault in ("error", "timeout", "after")
        self.armed[operation] = (fault, times)

    def clear(self) -> None:
        self.armed.clear()

    def take(self, operation: str) -> str | None:
        fault, times = self.armed.get(operation, (None, 0))
        if fault is None or times <= 0:
            return None
        self.armed[operation] = (fault, times - 1)
        self.fired.append(f"{operation}:{fault}")
        return fault


def _aws_error(operation: str, fault: str) -> Exception:
    if fault == "timeout":
        return ReadTimeoutError(endpoint_url="https://injected.invalid")
    return ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected"}}, operation)


class FaultyClient:
    """Wraps a boto3 client: methods named in `faults` fail as armed, the rest pass through."""

    def __init__(self, inner: Any, faults: Faults) -> None:
        self._inner = inner
        self._faults = faults

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target) or name.startswith("_") or name == "meta":
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            fault = self._faults.take(name)
            if fault in ("error", "timeout"):
                raise _aws_error(name, fault)
            result = target(*args, **kwargs)
            if fault == "after":
                raise _aws_error(name, "timeout")
            return result

        return call


@contextmanager
def faulty_database(engine: Engine, sessions: Any, faults: Faults) -> Iterator[None]:
    """Statements whose SQL starts with an armed verb (`INSERT`, `UPDATE`, `DELETE`, `SELECT`) fail
    before they run; an armed `COMMIT` with `after` fails once a session's commit went through."""

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        verb = statement.lstrip().split(" ", 1)[0].upper()
        if faults.take(verb) in ("error", "timeout"):
            raise OperationalError(verb, {}, Exception("injected: connection refused"))

    def after_commit(session: Any) -> None:
        if faults.take("COMMIT") == "after":
            raise OperationalError("COMMIT", {}, Exception("injected: answer lost"))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(sessions, "after_commit", after_commit)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(sessions, "after_commit", after_commit)
