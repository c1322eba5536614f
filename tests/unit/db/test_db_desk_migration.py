"""Migration e1a0c0de0031 (the desk's working tables) goes up and down on SQLite and
PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade

TABLES = {"ticket_event", "ticket_time", "ticket_template", "ticket_view", "ticket_rule",
          "ticket_rule_usage", "ticket_rule_fired"}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_desk_migration_up_and_down(db_url: str) -> None:
    upgrade(db_url, "e1a0c0de0031")
    assert _tables(db_url) >= TABLES
    command.downgrade(alembic_config(db_url), "e1a0c0de0030")
    tables = _tables(db_url)
    assert not TABLES & tables
    assert {"ticket", "ticket_message", "chat"} <= tables  # nothing else dropped
    upgrade(db_url, "e1a0c0de0031")
    assert _tables(db_url) >= TABLES
