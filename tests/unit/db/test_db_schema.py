"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL.

A model changed without a migration (or a migration that drifted from its model) shows up
here as a difference, instead of as a failing query in production.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from controlplane.db import make_engine
from controlplane.migrate import upgrade
from controlplane.models import Base


def test_migrations_match_the_models(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    assert diffs == [], "\n".join(map(str, diffs))
