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
    spared: dict[str, int] = field(default_factory=dict)

    def arm(self, operation: str, fault: str, times: int = 1_000_000, *, skip: int = 0) -> None:
        """`skip` lets that many calls through first: a request commits more than once, and each
        commit is a different place for the answer to be lost."""
        assert fault in ("error", "timeout", "after")
        self.armed[operation] = (fault, times)
        self.spared[operation] = skip

    def clear(self) -> None:
        self.armed.clear()
        self.spared.clear()

    def take(self, operation: str) -> str | None:
        fault, times = self.armed.get(operation, (None, 0))
        if fault is None or times <= 0:
            return None
        if self.spared.get(operation, 0) > 0:
            self.spared[operation] -= 1
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
def faulty_database(engine: Engine, faults: Faults) -> Iterator[None]:
    """Statements whose SQL starts with an armed verb (`INSERT`, `UPDATE`, `DELETE`, `SELECT`) fail
    before they run; an armed `COMMIT` with `after` fails once the server has committed."""

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        verb = statement.lstrip().split(" ", 1)[0].upper()
        if faults.take(verb) in ("error", "timeout"):
            raise OperationalError(verb, {}, Exception("injected: connection refused"))

    # A lost answer to COMMIT happens in the driver: the server committed, the socket dropped before
    # the reply. So the fault sits where SQLAlchemy hands COMMIT to the DBAPI connection, and raises the
    # driver's own OperationalError, which SQLAlchemy wraps and handles as it would a real one.
    dialect = engine.dialect
    real_commit = dialect.do_commit

    def do_commit(dbapi_connection: Any) -> None:
        real_commit(dbapi_connection)
        if faults.take("COMMIT") == "after":
            raise dialect.loaded_dbapi.OperationalError("injected: server closed the connection after COMMIT")

    event.listen(engine, "before_cursor_execute", before)
    dialect.do_commit = do_commit  # type: ignore[method-assign]
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)
        dialect.do_commit = real_commit  # type: ignore[method-assign]
