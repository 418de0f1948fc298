"""The catalog database: schema, engines, migrations, and the repositories that are the only way in.

Services open `Catalog.unit()` and call the repositories' named methods; only this package imports
the ORM models or builds SQL (an import-linter contract holds everyone else to it).
"""

from customization_vault.catalog.db import (
    create_db_engine,
    current_revision,
    downgrade,
    head_revision,
    is_sqlite,
    make_sessionmaker,
    migrate,
    session_scope,
)
from customization_vault.catalog.errors import DatabaseUnavailable, DuplicateRow
from customization_vault.catalog.lists import ListLoadView, ListVersionView, RescreenJobView, WalkItem
from customization_vault.catalog.unit import Catalog, Unit
from customization_vault.catalog.views import (
    ApiKeyRecord,
    AuditRecord,
    CaseTimes,
    DecisionFact,
    FindingView,
    HoldView,
    ItemView,
    JobView,
    MatchCount,
    OrderView,
    QueueFacets,
    ReviewView,
    SessionRecord,
)

__all__ = [
    "ApiKeyRecord",
    "AuditRecord",
    "CaseTimes",
    "Catalog",
    "DatabaseUnavailable",
    "DecisionFact",
    "DuplicateRow",
    "FindingView",
    "HoldView",
    "ItemView",
    "JobView",
    "ListLoadView",
    "ListVersionView",
    "MatchCount",
    "OrderView",
    "QueueFacets",
    "RescreenJobView",
    "ReviewView",
    "SessionRecord",
    "Unit",
    "WalkItem",
    "create_db_engine",
    "current_revision",
    "downgrade",
    "head_revision",
    "is_sqlite",
    "make_sessionmaker",
    "migrate",
    "session_scope",
]
