"""Migration e1a0c0de0023 (the SLA's tables) goes up and down on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade

TABLES = {"sla_settings", "sla_maintenance", "sla_downtime", "sla_probe_result",
          "sla_incident", "sla_incident_event", "sla_claim"}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_sla_migration_up_and_down(db_url: str) -> None:
    upgrade(db_url, "e1a0c0de0023")
    assert _tables(db_url) >= TABLES
    command.downgrade(alembic_config(db_url), "e1a0c0de0022")
    tables = _tables(db_url)
    assert not TABLES & tables
    assert {"tenant", "outbound_route"} <= tables  # nothing else dropped
    upgrade(db_url, "e1a0c0de0023")
    assert _tables(db_url) >= TABLES
