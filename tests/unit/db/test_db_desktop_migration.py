"""Migration e1a0c0de0028 (agent desktop: call dispositions, wrap-ups, screen-pop settings) goes up and down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade

TABLES = {"call_disposition", "call_wrapup", "desktop_settings"}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_desktop_migration_up_and_down(db_url: str) -> None:
    upgrade(db_url, "e1a0c0de0028")
    assert _tables(db_url) >= TABLES
    command.downgrade(alembic_config(db_url), "e1a0c0de0027")
    assert not TABLES & _tables(db_url)
    assert "call_record" in _tables(db_url)
    upgrade(db_url, "e1a0c0de0028")
    assert _tables(db_url) >= TABLES
