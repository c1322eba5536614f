"""Migration e1a0c0de0027 (wallboard_alert_rule) goes up and down on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_wallboard_alerts_migration_up_and_down(db_url: str) -> None:
    upgrade(db_url, "e1a0c0de0027")
    assert "wallboard_alert_rule" in _tables(db_url)
    command.downgrade(alembic_config(db_url), "e1a0c0de0026")
    tables = _tables(db_url)
    assert "wallboard_alert_rule" not in tables
    assert {"tenant", "acd_queue", "sla_probe_run"} <= tables  # nothing else dropped
    upgrade(db_url, "e1a0c0de0027")
    assert "wallboard_alert_rule" in _tables(db_url)
