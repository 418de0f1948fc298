"""The one way into the catalog: `Catalog.unit()` opens a transaction and hands out its repositories.

Every repository of a unit shares its session, so what a service writes through several of them
(an item, its findings, its review case and the audit event) commits or rolls back together.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from customization_vault.catalog.apikeys import ApiKeyRows
from customization_vault.catalog.audit import AuditEvents
from customization_vault.catalog.db import is_sqlite, make_sessionmaker, session_scope
from customization_vault.catalog.findings import Findings
from customization_vault.catalog.holds import Holds
from customization_vault.catalog.items import Items
from customization_vault.catalog.jobs import ScreeningJobs
from customization_vault.catalog.keys import WrappedKeys
from customization_vault.catalog.lists import RescreenJobs, ScreeningLists
from customization_vault.catalog.orders import Orders
from customization_vault.catalog.outbox import Outbox
from customization_vault.catalog.receipts import Receipts
from customization_vault.catalog.reviews import ReviewCases
from customization_vault.catalog.sellers import Sellers
from customization_vault.catalog.sessions import ReviewerSessionRows
from customization_vault.catalog.webhooks import SellerWebhooks


class Unit:
    """One transaction's repositories."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sellers = Sellers(session)
        self.orders = Orders(session)
        self.findings = Findings(session)
        self.items = Items(session, self.findings)
        self.reviews = ReviewCases(session)
        self.keys = WrappedKeys(session)
        self.receipts = Receipts(session)
        self.holds = Holds(session)
        self.audit = AuditEvents(session)
        self.apikeys = ApiKeyRows(session)
        self.outbox = Outbox(session)
        self.webhooks = SellerWebhooks(session)
        self.lists = ScreeningLists(session)
        self.rescreens = RescreenJobs(session)
        self.sessions = ReviewerSessionRows(session, self.apikeys)
        self.jobs = ScreeningJobs(session)


class Catalog:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    @classmethod
    def of(cls, engine: Engine) -> Catalog:
        return cls(make_sessionmaker(engine))

    @property
    def engine(self) -> Engine:
        bind = self.sessions.kw["bind"]
        assert isinstance(bind, Engine)
        return bind

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)

    @contextmanager
    def unit(self) -> Iterator[Unit]:
        """A unit of work: commit on success, roll back on any error."""
        with session_scope(self.sessions) as s:
            yield Unit(s)

    def ping(self) -> None:
        """Raise `DatabaseUnavailable` unless the database answers."""
        with self.sessions() as s:
            s.execute(text("SELECT 1"))
