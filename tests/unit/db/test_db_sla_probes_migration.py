"""Migration e1a0c0de0025 (sla_probe_run) goes up and down on SQLite and PostgreSQL."""

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


def test_sla_probes_migration_up_and_down(db_url: str) -> None:
    upgrade(db_url, "e1a0c0de0025")
    assert "sla_probe_run" in _tables(db_url)
    command.downgrade(alembic_config(db_url), "e1a0c0de0024")
    tables = _tables(db_url)
    assert "sla_probe_run" not in tables
    assert {"tenant", "sla_incident", "sla_probe_result"} <= tables  # nothing else dropped
    upgrade(db_url, "e1a0c0de0025")
    assert "sla_probe_run" in _tables(db_url)
